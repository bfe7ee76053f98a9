// The cluster a scale benchmark measures: one or three real `forelock serve` processes on this machine, with what the
// benchmark reads from outside them (the leader and its process, leader changes, readiness), through the nodes' own
// HTTP endpoints (/v1/status, /metrics), as an operator would.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterLayout, LocalCluster, type LocalNode } from '../src/server/local-cluster.js';
import {
  type LeadershipChanges,
  type LeadershipMark,
  leaderChangesSince,
  markLeadership,
  statusOf,
} from './leadership-watch.js';

/** How the benchmark's nodes run. */
export interface ScaleClusterOptions {
  /** 1 or 3. */
  readonly nodes: number;
  /** The first port of this cluster (gRPC ports from it, HTTP ports from it + 80). */
  readonly basePort: number;
  /** `forelock serve` flags every node gets (--preemption, --log-level, ...). */
  readonly serveArgs: readonly string[];
  /** Called with each line a node writes (when the benchmark shows the nodes' output). */
  readonly onOutput?: (node: LocalNode, line: string) => void;
}

const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
const LEADER_DEADLINE_MS = 60_000;

/** Polls `condition` every `pollMs` until it holds (true) or `timeoutMs` passed (false). */
export async function until(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  pollMs = 100,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return false;
}

export class ScaleCluster {
  readonly nodes: readonly LocalNode[];
  private readonly cluster: LocalCluster;

  private constructor(
    options: ScaleClusterOptions,
    private readonly dataDir: string,
  ) {
    this.nodes =
      options.nodes === 1
        ? [{ id: 'node1', listen: `127.0.0.1:${options.basePort}`, http: `127.0.0.1:${options.basePort + 80}` }]
        : clusterLayout(options.nodes, options.basePort);
    this.cluster = new LocalCluster(
      this.nodes,
      dataDir,
      { executable: process.execPath, args: [CLI] },
      options.serveArgs,
      {
        onOutput: options.onOutput,
      },
    );
  }

  /** Starts the nodes in a fresh data folder and waits until they agree on a leader. */
  static async start(options: ScaleClusterOptions): Promise<ScaleCluster> {
    if (options.nodes !== 1 && options.nodes !== 3) throw new Error(`--nodes must be 1 or 3, got ${options.nodes}`);
    const cluster = new ScaleCluster(options, await mkdtemp(join(tmpdir(), 'forelock-scale-')));
    cluster.cluster.startAll();
    try {
      await cluster.leader();
      // Every node has counted the first leader before any phase marks the counters (or that count would look new).
      await until(async () => {
        const mark = await cluster.markLeadership();
        return cluster.nodes.every((node) => (mark.changes.get(node.id) ?? 0) >= 1);
      }, LEADER_DEADLINE_MS);
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** Every node's gRPC address: the SDK finds the leader among them and follows it. */
  get endpoints(): string[] {
    return this.nodes.map((node) => node.listen);
  }

  /** The leader every running node names, once they agree and it has applied what it committed. */
  async leader(): Promise<LocalNode> {
    let agreed: LocalNode | undefined;
    const found = await until(async () => {
      const running = this.nodes.filter((node) => this.cluster.running(node));
      const statuses = await Promise.all(running.map(statusOf));
      const named = new Set(statuses.map((status) => status?.leader ?? null));
      agreed = this.nodes.find((node) => node.id === statuses[0]?.leader);
      const leaderStatus = statuses[running.findIndex((node) => node.id === agreed?.id)];
      return named.size === 1 && agreed !== undefined && leaderStatus !== undefined && this.cluster.running(agreed)
        ? leaderStatus.appliedIndex >= leaderStatus.commitIndex
        : false;
    }, LEADER_DEADLINE_MS);
    if (!found || agreed === undefined)
      throw new Error(`the nodes did not agree on a leader in ${LEADER_DEADLINE_MS / 1000} s`);
    return agreed;
  }

  /** A follower (any node but the leader); the leader itself on a single node. */
  async follower(): Promise<LocalNode> {
    const leader = await this.leader();
    return this.nodes.find((node) => node.id !== leader.id) ?? leader;
  }

  /** The process id of a running node. */
  pidOf(node: LocalNode): number {
    const pid = this.cluster.pid(node);
    if (pid === undefined) throw new Error(`${node.id} is not running`);
    return pid;
  }

  async leaderPid(): Promise<number> {
    return this.pidOf(await this.leader());
  }

  /** The nodes' leader-change counters and the highest term, now. */
  markLeadership(): Promise<LeadershipMark> {
    return markLeadership(this.nodes);
  }

  /** Leader changes and terms since `mark`. */
  leaderChangesSince(mark: LeadershipMark): Promise<LeadershipChanges> {
    return leaderChangesSince(this.nodes, mark);
  }

  /** Whether `node` knows a leader and has applied at least `index` (what the cluster had committed). */
  async caughtUp(node: LocalNode, index: number): Promise<boolean> {
    const status = await statusOf(node);
    return status !== undefined && status.leader !== null && status.appliedIndex >= index;
  }

  /** The highest commit index a running node reports. */
  async commitIndex(): Promise<number> {
    const statuses = await Promise.all(this.nodes.map(statusOf));
    return Math.max(0, ...statuses.map((status) => status?.commitIndex ?? 0));
  }

  stop(node: LocalNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return this.cluster.stop(node, signal);
  }

  /** Starts a stopped node again on its data folder. */
  startAgain(node: LocalNode): void {
    this.cluster.start(node);
  }

  /** Kills every node and deletes the data folder. */
  async close(): Promise<void> {
    await this.cluster.stopAll(0);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
