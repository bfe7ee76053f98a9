// Real `forelock` processes for operations tests: one-shot commands run to their exit, long-running `serve`
// processes stopped at cleanup, free addresses on 127.0.0.1, and a node's view over GET /v1/status.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ForelockCommand } from '../../src/server/local-cluster.js';
import type { StatusJson } from '../../src/server/wire.js';
import { freePort } from './server-harness.js';

/** Runs the CLI from source, as `npx tsx src/cli/main.ts` would. */
export const FORELOCK: ForelockCommand = { executable: process.execPath, args: ['--import', 'tsx', 'src/cli/main.ts'] };

/** Process start-up under tsx on a loaded 2-core machine takes seconds: deadlines are generous, never sleeps. */
export const START_TIMEOUT_MS = 60_000;

/** How a one-shot command ended. */
export interface CommandRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `forelock <args>` to its exit. */
export async function runForelock(args: readonly string[]): Promise<CommandRun> {
  const child = spawn(FORELOCK.executable, [...FORELOCK.args, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** A node's addresses. */
export interface NodeAddresses {
  readonly id: string;
  readonly listen: string;
  readonly http: string;
}

/** `count` nodes named `${prefix}1`.. on free ports. */
export async function nodeAddresses(count: number, prefix = 'node'): Promise<NodeAddresses[]> {
  const nodes: NodeAddresses[] = [];
  for (let i = 1; i <= count; i++) {
    nodes.push({ id: `${prefix}${i}`, listen: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` });
  }
  return nodes;
}

/** `--peers` for `nodes`. */
export function peersOf(nodes: readonly NodeAddresses[]): string {
  return nodes.map((node) => `${node.id}=${node.listen}`).join(',');
}

/** A running `forelock serve` process. */
export interface ServeProcess {
  readonly node: NodeAddresses;
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` and waits for the exit; resolves at once when it has exited already. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `forelock serve` for `node` with `args` (data, peers, ...); the caller stops it. */
export function startServe(node: NodeAddresses, args: readonly string[]): ServeProcess {
  const child = spawn(
    FORELOCK.executable,
    [
      ...FORELOCK.args,
      'serve',
      '--id',
      node.id,
      '--listen',
      node.listen,
      '--http',
      node.http,
      '--log-level',
      'warn',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  return {
    node,
    child,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** GET /v1/status of `node`, or undefined while it does not answer. */
export async function statusOf(node: NodeAddresses): Promise<StatusJson | undefined> {
  try {
    const response = await fetch(`http://${node.http}/v1/status`, { signal: AbortSignal.timeout(1_000) });
    return (await response.json()) as StatusJson;
  } catch {
    return undefined;
  }
}
