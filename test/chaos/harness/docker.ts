// The docker CLI as the chaos harness calls it: one function that runs a command and returns its output.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A docker (or other host) command that exited non-zero; carries its stderr so a failing test says why. */
export class HostCommandError extends Error {
  constructor(
    readonly command: readonly string[],
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`\`${command.join(' ')}\` failed: ${stderr.trim() || 'no stderr'}`, options);
    this.name = 'HostCommandError';
  }
}

/** Runs `file args...` on the host with a deadline; resolves to trimmed stdout, rejects with HostCommandError. */
export async function runHost(file: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new HostCommandError([file, ...args], stderr, { cause: error });
  }
}

/** Runs `docker args...`. */
export function docker(args: readonly string[], timeoutMs?: number): Promise<string> {
  return runHost('docker', args, timeoutMs);
}
