// A Forelock cluster in containers, started from the deployment configs in cluster/config/<n>-node/ (addresses moved
// onto the test's own subnet), with status polling and leader discovery from the host over HTTP. With `secure`, the
// nodes serve TLS with certificates issued for the run and auth is enabled (security.ts); the harness then reads
// them over HTTPS as a root user and hands the load clients their own certificate and login.

import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from '../../support/wait-for.js';
import type { ChaosEnv, EnvContainer } from './env.js';
import { type HarnessTls, httpGet } from './node-http.js';
import { ChaosSecurity, type ClientAccess } from './security.js';
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

/** How a cluster is run. */
export interface ClusterOptions {
  /**
   * TLS on every connection (no --insecure) and auth enabled before the cluster is handed over. Default false. The
   * holder containers (holder-client.ts) and setTransportFault (faults.ts) still speak plaintext: only scenarios
   * without them run secure so far.
   */
  readonly secure?: boolean;
}

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
  /** Base URL of the HTTP port (https: on a secure cluster). */
  readonly httpUrl: string;
  /** What the harness presents to the HTTP port of a secure cluster: the CA and its root user's certificate. */
  readonly httpTls?: HarnessTls;
}

const configDir = (size: ClusterSize): URL => new URL(`../../../cluster/config/${size}-node/`, import.meta.url);

/** The number of every node the deployment configs of `size` describe (the founders and the replacement). */
function configuredNodeNumbers(size: ClusterSize): number[] {
  return readdirSync(configDir(size))
    .map((file) => /^node(\d+)\.json$/.exec(file)?.[1])
    .filter((number): number is string => number !== undefined)
    .map(Number);
}

/**
 * A node's deployment config with its addresses moved from the config's subnet to `prefix`, and `extra` keys (the
 * TLS files of a secure node) added.
 */
function nodeConfig(size: ClusterSize, nodeNumber: number, prefix: string, extra: object = {}): string {
  const text = readFileSync(new URL(`node${nodeNumber}.json`, configDir(size)), 'utf8');
  const config = JSON.parse(text.replaceAll(`${CONFIG_PREFIX[size]}.`, `${prefix}.`)) as object;
  return JSON.stringify({ ...config, ...extra }, null, 2);
}

/** GETs `path` from a node's HTTP port (over HTTPS as the harness's root user on a secure cluster). */
export function nodeGet(node: ClusterNode, path: string, timeoutMs: number): ReturnType<typeof httpGet> {
  return httpGet(`${node.httpUrl}${path}`, timeoutMs, node.httpTls);
}

/** Reads one node's status; rejects when it does not answer within `timeoutMs`. */
export async function fetchStatus(node: ClusterNode, timeoutMs = 1_000): Promise<NodeStatus> {
  const answer = await nodeGet(node, '/v1/status', timeoutMs);
  if (answer.status !== 200) throw new Error(`${node.id} /v1/status: ${answer.status} ${answer.body}`);
  return JSON.parse(answer.body) as NodeStatus;
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
    private readonly security: ChaosSecurity | undefined,
  ) {}

  /**
   * Starts `size` nodes from cluster/config/<size>-node, with the test-only transport fault hook enabled. A secure
   * cluster is returned once it has a leader and auth is in force on every node.
   */
  static async start(env: ChaosEnv, size: ClusterSize, options: ClusterOptions = {}): Promise<ChaosCluster> {
    const numbers = configuredNodeNumbers(size);
    const security = options.secure
      ? await ChaosSecurity.create(
          numbers.map((number) => `node${number}`),
          numbers.map((number) => env.ip(HOST_NUMBER_BASE + number)),
        )
      : undefined;
    const cluster = new ChaosCluster(env, size, security);
    await Promise.all(Array.from({ length: size }, (_, i) => cluster.startNode(i + 1)));
    if (security !== undefined) {
      await cluster.waitForLeader();
      await security.enableAuth(
        cluster.endpoints(),
        cluster.nodes.map((node) => `${node.httpUrl}/v1/status`),
      );
    }
    return cluster;
  }

  /** How the scenario's SDK clients connect: with their certificate and login on a secure cluster, else plainly. */
  get clientAccess(): ClientAccess {
    return this.security?.workloadAccess ?? {};
  }

  /** Starts node `nodeNumber` from its deployment config (also a replacement node, from its join config). */
  async startNode(nodeNumber: number): Promise<ClusterNode> {
    const id = `node${nodeNumber}`;
    const tls = this.security?.nodeSetup(id);
    const container = await this.env.start({
      name: id,
      hostNumber: HOST_NUMBER_BASE + nodeNumber,
      command: [
        'serve',
        '--config',
        '/etc/forelock/node.json',
        ...(tls === undefined ? ['--insecure'] : []),
        '--test-fault-injection',
      ],
      files: {
        '/etc/forelock/node.json': nodeConfig(this.size, nodeNumber, this.env.subnetPrefix, tls?.config),
        ...tls?.files,
      },
    });
    const node: ClusterNode = {
      id,
      container,
      address: `${container.ip}:${GRPC_PORT}`,
      httpUrl: `${tls === undefined ? 'http' : 'https'}://${container.ip}:${HTTP_PORT}`,
      ...(this.security === undefined ? {} : { httpTls: this.security.harnessTls }),
    };
    this.byId.set(id, node);
    // Any answer will do (503 while it knows no leader, e.g. a node waiting to be added).
    await waitFor(
      `${id} answers HTTP`,
      async () => {
        await nodeGet(node, '/healthz', 1_000);
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
