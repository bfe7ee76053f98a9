// Fixtures for the SDK and CLI integration tests: a single in-process node and SDK clients, all closed after each test,
// and the `forelock` CLI run from source as a child process.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach } from 'vitest';
import { type Client, connect } from '../../src/index.js';
import type { NodeServer } from '../../src/server/node-server.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, startTestNode, tempDir } from './server-harness.js';

/** Registers an afterEach that undoes everything the returned helpers started, newest first. */
export function useClientFixtures(): {
  /** One node on an ephemeral port that leads and has taken office. */
  singleNode(): Promise<{ node: NodeServer; endpoint: string }>;
  /** A connected client, closed after the test. */
  client(endpoints: string[], name: string, ttlMs?: number): Promise<Client>;
  /** Runs `cleanup` after the test. */
  defer(cleanup: () => Promise<void> | void): void;
} {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    async singleNode() {
      const dir = await tempDir('forelock-client-');
      const node = await startTestNode(dir.path, { id: 'node1' });
      cleanups.push(async () => {
        await node.close();
        await dir.remove();
      });
      await waitFor('node1 to lead', () => node.raft.status().role === 'leader' && node.services.duties.active);
      return { node, endpoint: addressOf(node) };
    },
    async client(endpoints, name, ttlMs = 10_000) {
      const c = await connect({ endpoints, name, ttlMs, connectTimeoutMs: 20_000 });
      cleanups.push(() => c.close());
      return c;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

/** The outcome of one `forelock` run. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Starts the CLI from source (as `npx tsx src/cli/main.ts` would) with `args` and, when given, `stdin` as its whole
 * input; `done` settles when it exits.
 */
export function startCli(
  args: readonly string[],
  env: Record<string, string> = {},
  stdin?: string,
): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  child.stdin?.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, done };
}

/** Runs the CLI to completion, killing it if it outlives `timeoutMs`. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  stdin?: string,
): Promise<CliRun> {
  const { child, done } = startCli(args, env, stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}
