// Chen, Toueg & Aguilera (2002): the next heartbeat's expected arrival from the last n arrivals, plus a safety margin.
import type { ArrivalEstimator } from './arrival-estimator.js';
import { SlidingWindow } from './sliding-window.js';

/** Chen settings. */
export interface ChenConfig {
  /** Arrivals kept. */
  readonly window: number;
  /** Safety margin added to the expected arrival. */
  readonly alphaMs: number;
}

/** EA(l+1) = (1/n) sum(A_i - delta x i) + delta x (l + 1) over the last n arrivals A_i with consecutive sequence
 * numbers i, suspected at EA + alpha. Keepalives here are paced by the answers, so delta, the sending interval the
 * paper assumes known, is the mean inter-arrival over the window (the nominal interval until two arrivals). With
 * consecutive sequence numbers the sum reduces to EA = mean(A) + delta x (n + 1) / 2. */
export class ChenEstimator implements ArrivalEstimator {
  private readonly arrivals: SlidingWindow;
  private lastArrivalMs = Number.NaN;

  constructor(
    private readonly config: ChenConfig,
    private readonly keepaliveMs: number,
  ) {
    this.arrivals = new SlidingWindow(config.window);
  }

  arrive(atMs: number): void {
    this.arrivals.push(atMs);
    this.lastArrivalMs = atMs;
  }

  /** The expected arrival of the next keepalive. */
  expectedArrivalMs(): number {
    const n = this.arrivals.count;
    if (n < 2) return this.lastArrivalMs + this.keepaliveMs;
    const deltaMs = (this.lastArrivalMs - this.arrivals.oldest()!) / (n - 1);
    return this.arrivals.mean() + (deltaMs * (n + 1)) / 2;
  }

  suspectAtMs(): number {
    return this.expectedArrivalMs() + this.config.alphaMs;
  }
}
