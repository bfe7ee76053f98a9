// The phi accrual failure detector (Hayashibara et al. 2004, as Akka runs it) with the normal model of inter-arrivals.
import { normalUpperTail } from '../../spm/normal.js';
import { normalUpperQuantile } from '../stats.js';
import type { ArrivalEstimator } from './arrival-estimator.js';
import { SlidingWindow } from './sliding-window.js';

/** Phi-accrual settings (Akka's names). */
export interface PhiAccrualConfig {
  /** Suspect when phi reaches this value. */
  readonly threshold: number;
  /** Floor of the inter-arrival standard deviation. */
  readonly minStdDevMs: number;
  /** Added to the mean inter-arrival: pauses shorter than this are not suspicious. */
  readonly acceptablePauseMs: number;
  /** Inter-arrival samples kept. */
  readonly window: number;
}

/** The defaults of docs/design.md: threshold 8, min std-dev 100 ms, acceptable pause 3 s, window 1000. */
export const defaultPhiAccrualConfig: PhiAccrualConfig = {
  threshold: 8,
  minStdDevMs: 100,
  acceptablePauseMs: 3000,
  window: 1000,
};

/** phi(t) = -log10(1 - CDF(t - last)) for inter-arrivals ~ Normal(mean + acceptable pause, max(std, min std)). Until the
 * first inter-arrival is seen, the history holds Akka's bootstrap: the nominal interval +- a quarter of it. */
export class PhiAccrualEstimator implements ArrivalEstimator {
  private readonly intervals: SlidingWindow;
  private lastArrivalMs = Number.NaN;
  private readonly thresholdZ: number;

  constructor(
    private readonly config: PhiAccrualConfig,
    keepaliveMs: number,
  ) {
    this.intervals = new SlidingWindow(config.window);
    this.intervals.push(keepaliveMs - keepaliveMs / 4);
    this.intervals.push(keepaliveMs + keepaliveMs / 4);
    this.thresholdZ = normalUpperQuantile(10 ** -config.threshold);
  }

  arrive(atMs: number): void {
    if (!Number.isNaN(this.lastArrivalMs)) this.intervals.push(atMs - this.lastArrivalMs);
    this.lastArrivalMs = atMs;
  }

  /** Suspicion level at `atMs`. */
  phi(atMs: number): number {
    const z = (atMs - this.lastArrivalMs - this.meanMs()) / this.stdDevMs();
    return -Math.log10(normalUpperTail(z));
  }

  /** The moment phi reaches the threshold: mean + z(threshold) x std after the last arrival. */
  suspectAtMs(): number {
    return this.lastArrivalMs + this.meanMs() + this.thresholdZ * this.stdDevMs();
  }

  private meanMs(): number {
    return this.intervals.mean() + this.config.acceptablePauseMs;
  }

  private stdDevMs(): number {
    return Math.max(Math.sqrt(this.intervals.variance()), this.config.minStdDevMs);
  }
}
