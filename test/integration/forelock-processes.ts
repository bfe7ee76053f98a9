// Real `forelock serve` processes for operations tests (one-shot commands are client-harness's runCli): nodes on
// free addresses of 127.0.0.1, servers stopped at cleanup, and a node's view over GET /v1/status.
import type { ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import type { ForelockCommand } from '../../src/server/local-cluster.js';
import type { StatusJson } from '../../src/server/wire.js';
import { type CliRun, startCli } from './client-harness.js';
import { freePort } from './server-harness.js';

/** Runs the CLI from source, as `npx tsx src/cli/main.ts` would. */
export const FORELOCK: ForelockCommand = { executable: process.execPath, args: ['--import', 'tsx', 'src/cli/main.ts'] };

/** Process start-up under tsx on a loaded 2-core machine takes seconds: deadlines are generous, never sleeps. */
export const START_TIMEOUT_MS = 60_000;

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
  /** Settles when it exits, with its exit code and output. */
  readonly done: Promise<CliRun>;
  /** Sends `signal` and waits for the exit; resolves at once when it has exited already. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `forelock serve` for `node` with `args` (data, peers, ...); the caller stops it. */
export function startServe(node: NodeAddresses, args: readonly string[]): ServeProcess {
  const serveArgs = ['serve', '--id', node.id, '--listen', node.listen, '--http', node.http, '--log-level', 'warn'];
  const { child, done } = startCli([...serveArgs, ...args]);
  return {
    node,
    child,
    done,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await done;
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

/**
 * Undoes what a test started, newest first, after each test of the file that calls it (once, at its top): `defer`
 * takes any cleanup, `serve` starts a node that is stopped so.
 */
export function cleanupAfterEach(): {
  defer: (cleanup: () => Promise<unknown> | unknown) => void;
  serve: (node: NodeAddresses, args: readonly string[]) => ServeProcess;
} {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const defer = (cleanup: () => Promise<unknown> | unknown): void => {
    cleanups.push(cleanup);
  };
  return {
    defer,
    serve: (node, args) => {
      const process = startServe(node, args);
      defer(() => process.stop());
      return process;
    },
  };
}
