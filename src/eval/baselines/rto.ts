// RFC 6298's retransmission timeout applied to keepalive inter-arrivals: SRTT + K x RTTVAR, alpha 1/8, beta 1/4.
import type { ArrivalEstimator } from './arrival-estimator.js';

/** RFC 6298 smoothing gains. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;

/** Suspects the session RTO = SRTT + K x RTTVAR after its last keepalive, with RFC 6298 section 2's updates over the
 * inter-arrival times (no 1 s floor). Until the first inter-arrival, the nominal interval stands as the first sample. */
export class RtoEstimator implements ArrivalEstimator {
  private srttMs: number;
  private rttvarMs: number;
  private measured = false;
  private lastArrivalMs = Number.NaN;

  constructor(
    private readonly k: number,
    keepaliveMs: number,
  ) {
    this.srttMs = keepaliveMs;
    this.rttvarMs = keepaliveMs / 2;
  }

  arrive(atMs: number): void {
    if (!Number.isNaN(this.lastArrivalMs)) this.sample(atMs - this.lastArrivalMs);
    this.lastArrivalMs = atMs;
  }

  /** RFC 6298 (2.2) for the first measurement, (2.3) after. */
  sample(intervalMs: number): void {
    if (!this.measured) {
      this.srttMs = intervalMs;
      this.rttvarMs = intervalMs / 2;
      this.measured = true;
      return;
    }
    this.rttvarMs = (1 - BETA) * this.rttvarMs + BETA * Math.abs(this.srttMs - intervalMs);
    this.srttMs = (1 - ALPHA) * this.srttMs + ALPHA * intervalMs;
  }

  get smoothedMs(): number {
    return this.srttMs;
  }

  get variationMs(): number {
    return this.rttvarMs;
  }

  /** SRTT + K x RTTVAR. */
  timeoutMs(): number {
    return this.srttMs + this.k * this.rttvarMs;
  }

  suspectAtMs(): number {
    return this.lastArrivalMs + this.timeoutMs();
  }
}
