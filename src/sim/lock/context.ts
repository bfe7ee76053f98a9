// What every part of one lock-simulation run shares: the cluster, the seeded chance, the options, the phase of the
// run, and the history and counters it produces.
import type { NodeId } from '../../raft/types.js';
import type { SeededRng } from '../../util/rng.js';
import type { HistoryEvent } from '../lock-history-checker.js';
import type { SimCluster } from '../raft-cluster.js';

/** How one simulated history runs. */
export interface LockSimOptions {
  /** Virtual time with faults and new requests, ms. */
  readonly faultyMs: number;
  /** Virtual time after every fault is healed, for pending requests to finish and replicas to converge, ms. */
  readonly healMs: number;
  readonly clients: number;
  readonly lockNames: readonly string[];
  readonly ttlMs: number;
}

/** One run's shared state. Parts schedule their own work on `cluster`; chance comes only from `rng`. */
export class LockSimContext {
  readonly history: HistoryEvent[] = [];
  readonly stats: Record<string, number> = {};
  /** Clients start new work and faults are injected (the faulty phase). */
  accepting = true;
  /** Quiescing: no more requests, keepalives or duties. */
  stopped = false;

  constructor(
    readonly cluster: SimCluster,
    readonly rng: SeededRng,
    readonly options: LockSimOptions,
    /** The lock-delay every replica's state machine is configured with. */
    readonly lockDelayMs: number,
  ) {}

  /** Virtual time, ms. */
  get now(): number {
    return this.cluster.now;
  }

  count(key: string, by = 1): void {
    this.stats[key] = (this.stats[key] ?? 0) + by;
  }

  /** A message's trip between a client and a node, ms. */
  delay(): number {
    return this.rng.uniform(1, 20);
  }

  /** Whether `id` runs and leads. */
  leading(id: NodeId): boolean {
    return this.cluster.isUp(id) && this.cluster.core(id).role === 'leader';
  }

  /** Records a promise the leader made: `session` lives at least until `untilMs`. */
  promise(session: string, untilMs: number): void {
    this.history.push({ kind: 'promise', session, untilMs, atMs: this.cluster.now });
  }
}
