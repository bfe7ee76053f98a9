// The etcd/Consul baseline: a session is dead when its lease (last keepalive + TTL) expires.
import type { ArrivalEstimator } from './arrival-estimator.js';

/** Declares the session dead `ttlMs` after its last keepalive. */
export class FixedTtlEstimator implements ArrivalEstimator {
  private lastArrivalMs = Number.NaN;

  constructor(private readonly ttlMs: number) {}

  arrive(atMs: number): void {
    this.lastArrivalMs = atMs;
  }

  suspectAtMs(): number {
    return this.lastArrivalMs + this.ttlMs;
  }
}
