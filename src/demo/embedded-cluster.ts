// A throw-away local cluster of real `forelock serve` processes: free loopback ports, a temp data folder, the wait
// for a leader, and a teardown that stops every process and removes the folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  currentForelockCommand,
  type ForelockCommand,
  LocalCluster,
  type LocalClusterEvents,
  type LocalNode,
} from '../server/local-cluster.js';
import { freePort } from '../util/free-port.js';

/** How an embedded cluster is started. */
export interface EmbeddedClusterOptions {
  /** 3 or 5 members. Default 3. */
  readonly size?: number;
  /** How to run `forelock` (default: the running CLI itself). */
  readonly command?: ForelockCommand;
  /** More `serve` flags, e.g. `['--log-level', 'warn']`. */
  readonly serveArgs?: readonly string[];
  readonly events?: LocalClusterEvents;
}

/** A running embedded cluster. */
export interface EmbeddedCluster {
  readonly cluster: LocalCluster;
  readonly nodes: readonly LocalNode[];
  /** gRPC addresses of every member, for `connect({ endpoints })`. */
  readonly endpoints: readonly string[];
  readonly dataDir: string;
  /** The leader reported by the running nodes, waiting up to `timeoutMs`. */
  waitForLeader(timeoutMs: number): Promise<LocalNode>;
  /** Stops every process (SIGTERM, SIGKILL after `graceMs`) and removes the data folder. Idempotent. */
  destroy(graceMs?: number): Promise<void>;
}

/** How often the leader is polled while waiting for one, in ms. */
const LEADER_POLL_MS = 100;

/** Starts `size` nodes on free loopback ports with their data in a new temp folder. */
export async function startEmbeddedCluster(options: EmbeddedClusterOptions = {}): Promise<EmbeddedCluster> {
  const size = options.size ?? 3;
  const nodes: LocalNode[] = [];
  for (let i = 1; i <= size; i++) {
    nodes.push({
      id: `node${i}`,
      listen: `127.0.0.1:${await freePort()}`,
      http: `127.0.0.1:${await freePort()}`,
    });
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'forelock-demo-'));
  const cluster = new LocalCluster(
    nodes,
    dataDir,
    options.command ?? currentForelockCommand(),
    options.serveArgs ?? [],
    options.events ?? {},
  );
  cluster.startAll();
  let destroying: Promise<void> | null = null;
  return {
    cluster,
    nodes,
    endpoints: nodes.map((node) => node.listen),
    dataDir,
    async waitForLeader(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const leader = await cluster.leader();
        if (leader !== null) return leader;
        if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_MS));
      }
    },
    destroy(graceMs = 5_000) {
      destroying ??= (async () => {
        await cluster.stopAll(graceMs);
        await rm(dataDir, { recursive: true, force: true });
      })();
      return destroying;
    },
  };
}
