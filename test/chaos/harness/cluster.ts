// A Forelock cluster in containers, started from the deployment configs in cluster/config/<n>-node/ (addresses moved
// onto the test's own subnet), with status polling and leader discovery from the host over HTTP.

import { readFileSync } from 'node:fs';
import { waitFor } from '../../support/wait-for.js';
import type { ChaosEnv, EnvContainer } from './env.js';
import { CHAOS_POLL } from './wait.js';

/** Ports every node uses, as in cluster/config. */
const GRPC_PORT = 7400;
const HTTP_PORT = 7480;
/** The subnet the deployment configs are written for, per cluster size. */
const CONFIG_PREFIX: Record<ClusterSize, string> = { 3: '172.30.3', 5: '172.30.5' };
/** Node k (1-based) sits at host number 10 + k, as in cluster/config. */
const HOST_NUMBER_BASE = 10;

/** The cluster sizes the deployment files exist for. */
export type ClusterSize = 3 | 5;

/** GET /v1/status of one node. */
export interface NodeStatus {
  readonly leader: string | null;
  readonly term: number;
  readonly commitIndex: number;
  readonly members: readonly { id: string; address: string; role: string }[];
}

/** One node: its id, its container and its addresses. */
export interface ClusterNode {
  readonly id: string;
  readonly container: EnvContainer;
  /** host:port of the gRPC port (clients and peers). */
  readonly address: string;
  /** Base URL of the HTTP port. */
  readonly httpUrl: string;
}

/** A node's deployment config with its addresses moved from the config's subnet to `prefix`. */
function nodeConfig(size: ClusterSize, nodeNumber: number, prefix: string): string {
  const file = new URL(`../../../cluster/config/${size}-node/node${nodeNumber}.json`, import.meta.url);
  return readFileSync(file, 'utf8').replaceAll(`${CONFIG_PREFIX[size]}.`, `${prefix}.`);
}

/** Reads one node's status; rejects when it does not answer within `timeoutMs`. */
export async function fetchStatus(node: ClusterNode, timeoutMs = 1_000): Promise<NodeStatus> {
  const response = await fetch(`${node.httpUrl}/v1/status`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${node.id} /v1/status: ${response.status}`);
  return (await response.json()) as NodeStatus;
}

/** A leader as the cluster agrees on it. */
export interface LeaderView {
  readonly id: string;
  readonly term: number;
}

/** The containers of one cluster and the operations the scenarios need. */
export class ChaosCluster {
  private readonly byId = new Map<string, ClusterNode>();

  private constructor(
    readonly env: ChaosEnv,
    readonly size: ClusterSize,
  ) {}

  /** Starts `size` nodes from cluster/config/<size>-node, with the test-only transport fault hook enabled. */
  static async start(env: ChaosEnv, size: ClusterSize): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(env, size);
    await Promise.all(Array.from({ length: size }, (_, i) => cluster.startNode(i + 1)));
    return cluster;
  }

  /** Starts node `nodeNumber` from its deployment config (also a replacement node, from its join config). */
  async startNode(nodeNumber: number): Promise<ClusterNode> {
    const id = `node${nodeNumber}`;
    const container = await this.env.start({
      name: id,
      hostNumber: HOST_NUMBER_BASE + nodeNumber,
      command: ['serve', '--config', '/etc/forelock/node.json', '--insecure', '--test-fault-injection'],
      files: { '/etc/forelock/node.json': nodeConfig(this.size, nodeNumber, this.env.subnetPrefix) },
    });
    const node: ClusterNode = {
      id,
      container,
      address: `${container.ip}:${GRPC_PORT}`,
      httpUrl: `http://${container.ip}:${HTTP_PORT}`,
    };
    this.byId.set(id, node);
    // Any answer will do (503 while it knows no leader, e.g. a node waiting to be added).
    await waitFor(
      `${id} answers HTTP`,
      async () => {
        await fetch(`${node.httpUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
        return true;
      },
      60_000,
      CHAOS_POLL,
    );
    return node;
  }

  /** Every node started, in id order. */
  get nodes(): ClusterNode[] {
    return [...this.byId.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  }

  /** The node with id `id`. */
  node(id: string): ClusterNode {
    const node = this.byId.get(id);
    if (node === undefined) throw new Error(`no node ${id} in this cluster`);
    return node;
  }

  /** Forgets a node (after removing its container). */
  forget(id: string): void {
    this.byId.delete(id);
  }

  /** Every node's gRPC address: the endpoint list clients are given. */
  endpoints(nodes: readonly ClusterNode[] = this.nodes): string[] {
    return nodes.map((node) => node.address);
  }

  /** Statuses of the nodes that answer right now. */
  async statuses(nodes: readonly ClusterNode[] = this.nodes): Promise<Map<string, NodeStatus>> {
    const answers = await Promise.all(
      nodes.map(async (node) => [node.id, await fetchStatus(node).catch(() => undefined)] as const),
    );
    return new Map(answers.filter((answer): answer is [string, NodeStatus] => answer[1] !== undefined));
  }

  /**
   * The leader a majority of `among` (default: all nodes) agrees on, where the leader itself is among them and
   * reports itself leader of that term; undefined when there is none right now.
   */
  async agreedLeader(among: readonly ClusterNode[] = this.nodes): Promise<LeaderView | undefined> {
    const statuses = await this.statuses(among);
    const votes = new Map<string, number>();
    for (const status of statuses.values()) {
      if (status.leader !== null)
        votes.set(`${status.leader}@${status.term}`, (votes.get(`${status.leader}@${status.term}`) ?? 0) + 1);
    }
    for (const [key, count] of votes) {
      const [id, term] = key.split('@') as [string, string];
      const own = statuses.get(id);
      const selfRole = own?.members.find((member) => member.id === id)?.role;
      const voters = own?.members.filter((member) => member.role !== 'learner').length ?? this.size;
      if (count > voters / 2 && own !== undefined && own.term === Number(term) && selfRole === 'leader') {
        return { id, term: Number(term) };
      }
    }
    return undefined;
  }

  /** Waits until `node` answers and names the leader the rest of the cluster agrees on (it has rejoined). */
  async waitForFollowerOf(node: ClusterNode, timeoutMs = 60_000): Promise<LeaderView> {
    return waitFor(
      `${node.id} rejoins the cluster`,
      async () => {
        const leader = await this.agreedLeader();
        if (leader === undefined) return undefined;
        const status = await fetchStatus(node);
        return status.leader === leader.id && status.term === leader.term ? leader : undefined;
      },
      timeoutMs,
      CHAOS_POLL,
    );
  }

  /** Waits (up to `timeoutMs`) for a leader agreed by a majority that satisfies `accept` (e.g. a new term). */
  async waitForLeader(
    accept: (leader: LeaderView) => boolean = () => true,
    among: readonly ClusterNode[] = this.nodes,
    timeoutMs = 60_000,
  ): Promise<LeaderView> {
    return waitFor(
      'a leader agreed by a majority',
      async () => {
        const leader = await this.agreedLeader(among);
        return leader !== undefined && accept(leader) ? leader : undefined;
      },
      timeoutMs,
      CHAOS_POLL,
    );
  }
}
