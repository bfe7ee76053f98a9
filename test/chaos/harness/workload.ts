// Load for the scenarios: clients in the test process (the SDK, given every node's address and nothing else) that
// acquire, hold, write to the token-checking resource and release in a loop, recording what they observe, including
// every promise the leader makes to their sessions.

import { setTimeout as delay } from 'node:timers/promises';
import { connect } from '../../../src/index.js';
import { waitFor } from '../../support/wait-for.js';
import type { FencedResource } from './fenced-resource.js';
import { type AcquireRecord, ClientHistory } from './history.js';
import type { ClientAccess } from './security.js';
import type { SessionPromises } from './session-promises.js';
import { CHAOS_POLL } from './wait.js';

type Client = Awaited<ReturnType<typeof connect>>;
type HeldLock = Awaited<ReturnType<Client['acquire']>>;

/** Shape of the load. */
export interface WorkloadOptions {
  readonly endpoints: readonly string[];
  /** TLS and credentials of every client (the cluster's `clientAccess`); none for a plaintext cluster. */
  readonly access?: ClientAccess;
  readonly clients: number;
  /** Lock names the clients contend for (client i starts at lock i mod n and moves on each round). */
  readonly locks: readonly string[];
  readonly ttlMs: number;
  /** How long each grant is held before release. */
  readonly holdMs: number;
  /** How long an acquire waits in the queue. */
  readonly waitMs: number;
  /** When given, each holder writes to it with its token while it holds the lock. */
  readonly resource?: FencedResource;
}

/** How often a holder samples `lock.safeUntil` (it reads -Infinity once the lock is lost). */
const SAFE_SAMPLE_MS = 25;

function errorCode(error: unknown): { code: string; retriable: boolean } {
  const typed = error as { code?: unknown; retriable?: unknown };
  return {
    code: typeof typed.code === 'string' ? typed.code : String(error),
    retriable: typed.retriable === true,
  };
}

/** One load client: what it knows of the cluster, the locks it cycles through, and its current connection. */
interface LoadClient {
  readonly name: string;
  readonly endpoints: readonly string[];
  readonly locks: readonly string[];
  /** Where in `locks` it starts (so the clients do not all queue on one lock). */
  readonly offset: number;
  client: Client;
  /** What the leader promised the client's current session. */
  promises: SessionPromises;
}

/** Running clients and their recorded history. */
export class Workload {
  readonly history = new ClientHistory();
  private readonly clients: LoadClient[] = [];
  private readonly loops: Promise<void>[] = [];
  private stopping = false;
  /** Acquire errors by code, for the report. */
  readonly errorCounts = new Map<string, number>();
  /** Sessions that ended under a client (its promise passed during a fault), each replaced by a new connection. */
  sessionsReplaced = 0;
  /** Sessions that ended under a client for any reason but the workload closing it (replaced or not). */
  sessionsLost = 0;

  private constructor(private readonly options: WorkloadOptions) {}

  /** Connects the clients and starts their loops. */
  static async start(options: WorkloadOptions, namePrefix = 'chaos-client'): Promise<Workload> {
    const workload = new Workload(options);
    for (let i = 0; i < options.clients; i++) {
      await workload.addClient(`${namePrefix}-${i}`, options.endpoints, options.locks, i);
    }
    return workload;
  }

  /** Starts one more load client that knows only `endpoints` and cycles through `locks`. */
  async addClient(name: string, endpoints: readonly string[], locks: readonly string[], offset = 0): Promise<void> {
    const loadClient: LoadClient = { name, endpoints, locks, offset, ...(await this.connectClient(name, endpoints)) };
    this.clients.push(loadClient);
    this.loops.push(this.loop(loadClient));
  }

  /** A new session recording its promises, counted as lost if it ends before the workload closes it. */
  private async connectClient(
    name: string,
    endpoints: readonly string[],
  ): Promise<{ client: Client; promises: SessionPromises }> {
    const promises = this.history.recordPromises();
    const connectStartedAtMs = Date.now();
    const client = await connect({
      ...this.options.access,
      endpoints: [...endpoints],
      ttlMs: this.options.ttlMs,
      name,
      onGuarantee: promises.guarantee,
    });
    promises.session = client.session.id;
    promises.opened(connectStartedAtMs, this.options.ttlMs);
    client.session.signal.addEventListener(
      'abort',
      () => {
        if ((client.session.signal.reason as { code?: string } | undefined)?.code !== 'CLIENT_CLOSED') {
          this.sessionsLost++;
        }
      },
      { once: true },
    );
    return { client, promises };
  }

  private async loop(loadClient: LoadClient): Promise<void> {
    for (let round = 0; !this.stopping; round++) {
      const client = await this.usableClient(loadClient);
      if (client === undefined) return;
      const lockName = loadClient.locks[(loadClient.offset + round) % loadClient.locks.length]!;
      await this.acquireOnce(client, loadClient.name, lockName, loadClient.promises);
    }
  }

  /** The client's connection, replaced (as an application would) when its session ended; undefined once stopping. */
  private async usableClient(loadClient: LoadClient): Promise<Client | undefined> {
    while (!this.stopping && loadClient.client.session.signal.aborted) {
      await loadClient.client.close().catch(() => undefined);
      try {
        Object.assign(loadClient, await this.connectClient(loadClient.name, loadClient.endpoints));
        this.sessionsReplaced++;
      } catch {
        await delay(200);
      }
    }
    return this.stopping ? undefined : loadClient.client;
  }

  /**
   * One recorded round on `lockName` by `client` (a load client, or one a scenario made): acquire, write to the
   * resource, hold, release. Pre-emption Requests go to `promises`, the recorder of the client's session. Resolves
   * to its record.
   */
  async acquireOnce(
    client: Client,
    clientName: string,
    lockName: string,
    promises: SessionPromises,
  ): Promise<AcquireRecord> {
    const record = this.history.invokeAcquire(clientName, client.session.id, lockName);
    let lock: HeldLock;
    try {
      lock = await client.acquire(lockName, {
        mode: 'exclusive',
        waitMs: this.options.waitMs,
        onPreemptionRequest: (notice) => promises.preempted(notice.name, notice.token),
      });
    } catch (error) {
      const { code, retriable } = errorCode(error);
      this.errorCounts.set(code, (this.errorCounts.get(code) ?? 0) + 1);
      record.outcome = { kind: retriable ? 'ambiguous' : 'failed', code, atMs: Date.now() };
      // Pace retries after a failure so a leaderless cluster is not hammered.
      if (!this.stopping) await delay(100);
      return record;
    }
    record.outcome = { kind: 'granted', token: lock.token, grantedAtMs: lock.grantedAtMs, ackAtMs: Date.now() };
    this.watchLock(lock, record);
    await this.hold(lock, record);
    return record;
  }

  private watchLock(lock: HeldLock, record: AcquireRecord): void {
    const sample = (): void => {
      if (lock.signal.aborted) return;
      record.lastSafeUntilMs = lock.safeUntil;
      record.lastSafeSampleAtMs = Date.now();
    };
    sample();
    const sampler = setInterval(sample, SAFE_SAMPLE_MS);
    lock.signal.addEventListener(
      'abort',
      () => {
        clearInterval(sampler);
        const reason = lock.signal.reason as { code?: string; lossCause?: string };
        if (reason?.code !== 'LOCK_RELEASED') {
          record.lost = { atMs: Date.now(), cause: reason?.lossCause ?? reason?.code ?? String(reason) };
        }
      },
      { once: true },
    );
  }

  private async hold(lock: HeldLock, record: AcquireRecord): Promise<void> {
    const resource = this.options.resource;
    if (resource !== undefined && lock.held) {
      const safeUntilMs = lock.safeUntil;
      if (safeUntilMs > Date.now()) {
        const accepted = await resource
          .write(lock.name, lock.token, `${record.client}@${lock.token}`)
          .catch(() => undefined);
        if (accepted !== undefined) record.writes.push({ token: lock.token, atMs: Date.now(), safeUntilMs, accepted });
      }
    }
    await delay(this.options.holdMs);
    if (!lock.held) return;
    record.releaseInvokedAtMs = Date.now();
    try {
      await lock.release();
      record.release = { atMs: Date.now(), ok: true };
    } catch (error) {
      record.release = { atMs: Date.now(), ok: false, code: errorCode(error).code };
    }
  }

  /**
   * Waits until some client is acknowledged a grant the cluster made at or after `sinceMs` (by the grant's entry
   * time, so a grant committed before a fault and acknowledged after it does not count); resolves to the earliest
   * such acknowledgement time. With `lock`, only grants of that lock count.
   */
  async nextGrantAfter(sinceMs: number, timeoutMs: number, lock?: string): Promise<number> {
    return waitFor(
      `a grant${lock === undefined ? '' : ` of ${lock}`} made after ${new Date(sinceMs).toISOString()}`,
      async () => {
        const acks = this.history
          .granted()
          .filter((record) => record.outcome.grantedAtMs >= sinceMs && (lock === undefined || record.lock === lock))
          .map((record) => record.outcome.ackAtMs);
        return acks.length > 0 ? Math.min(...acks) : undefined;
      },
      timeoutMs,
      { ...CHAOS_POLL, intervalMs: 20 },
    );
  }

  /** Stops the loops (in-flight operations finish), then closes every client. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
    await Promise.all(this.clients.map((loadClient) => loadClient.client.close().catch(() => undefined)));
  }
}
