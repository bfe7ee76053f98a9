// Per-resource usage statistics: hold durations (p99, the horizon) and the demand series, with its forecast.
import { forecastArima } from './arima-forecaster.js';
import { RingBuffer } from './ring-buffer.js';
import type { ArimaOrder } from './types.js';

const HOLD_HISTORY = 256;
const DEMAND_HISTORY = 64;
/** Bounds of the hold-duration tail index: capped at 6 (a log-normal's tail near its p99) so that a noisy estimate
 * from a short history never makes a long hold look impossible. */
const MIN_TAIL_INDEX = 0.5;
const MAX_TAIL_INDEX = 6;
/** One-sided normal quantile of the tail index's lower confidence bound. */
const TAIL_CONFIDENCE_Z = 1.645;

/** Index of the first element of the ascending `sorted` greater than `value` (upper bound). */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Hold durations and requests per time bucket of one resource, bounded. */
export class ResourceStats {
  /** Recent holds in arrival order (for eviction) and the same values kept sorted (for quantiles and the tail). */
  private readonly holds = new RingBuffer(HOLD_HISTORY);
  private readonly sortedHolds: number[] = [];
  private tailIndexValue: number | null = null;
  private readonly demand = new RingBuffer(DEMAND_HISTORY);
  private demandSum = 0;
  private currentBucket = Number.NaN;
  private currentCount = 0;
  private demandForecastValue: number | null = null;
  /** When the demand forecast was last refitted (NaN: never). */
  lastFitMs = Number.NaN;

  constructor(private readonly bucketMs: number) {}

  /** Records one finished hold: O(history) at worst (one insertion and one removal in the sorted copy). */
  addHold(heldMs: number): void {
    if (this.holds.length === this.holds.capacity) {
      const evicted = this.holds.at(0);
      this.sortedHolds.splice(upperBound(this.sortedHolds, evicted) - 1, 1);
    }
    this.holds.push(heldMs);
    this.sortedHolds.splice(upperBound(this.sortedHolds, heldMs), 0, heldMs);
    this.tailIndexValue = null;
  }

  /** Records one request at `atMs`. */
  addRequest(atMs: number): void {
    this.rollTo(atMs);
    this.currentCount++;
  }

  /** Replaces the history with a replicated one (a new leader warming up). */
  load(holdDurationsMs: readonly number[], requestsPerBucket: readonly number[], endMs: number): void {
    this.holds.clear();
    this.sortedHolds.length = 0;
    for (const h of holdDurationsMs) this.addHold(h);
    this.demand.clear();
    this.demandSum = 0;
    for (let i = 0; i < requestsPerBucket.length - 1; i++) this.pushDemand(requestsPerBucket[i] as number);
    this.currentCount = requestsPerBucket.at(-1) ?? 0;
    this.currentBucket = Math.floor((endMs - 1) / this.bucketMs);
    this.demandForecastValue = null;
  }

  /** Forgets every hold and request: the same as a new ResourceStats of the same bucket, without allocating. */
  reset(): void {
    this.holds.clear();
    this.sortedHolds.length = 0;
    this.tailIndexValue = null;
    this.demand.clear();
    this.demandSum = 0;
    this.currentBucket = Number.NaN;
    this.currentCount = 0;
    this.demandForecastValue = null;
    this.lastFitMs = Number.NaN;
  }

  get holdSamples(): number {
    return this.holds.length;
  }

  /** Numbers its windows have room for now: storage follows the samples it has (docs/design.md, "Memory"). */
  get allocatedSlots(): number {
    return this.holds.allocatedSlots + this.demand.allocatedSlots + this.sortedHolds.length;
  }

  /** The q-quantile (0-1) of recent hold durations (nearest rank), or null without history. */
  holdQuantileMs(q: number): number | null {
    const n = this.sortedHolds.length;
    if (n === 0) return null;
    const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
    return this.sortedHolds[rank] as number;
  }

  /**
   * Probability that a normal hold of this resource lasts longer than `ageMs`: the empirical survival up to the
   * p99, and beyond it a power-law tail `0.01 * (p99 / age)^k` whose index k is Hill's estimate from the longest
   * tenth of the history (heavy-tailed resources get a slow decay, log-normal ones a fast one).
   */
  holdSurvival(ageMs: number): number {
    const n = this.sortedHolds.length;
    if (n === 0) return 1;
    const p99 = this.holdQuantileMs(0.99) as number;
    if (ageMs >= p99 && p99 > 0) return 0.01 * (p99 / ageMs) ** this.tailIndex();
    return Math.max(0.01, (n - upperBound(this.sortedHolds, ageMs)) / n);
  }

  /** Expected requests in the next bucket: the last ARIMA forecast, else the mean of the closed buckets. */
  demandPerBucket(nowMs: number): number {
    this.rollTo(nowMs);
    if (this.demandForecastValue !== null) return this.demandForecastValue;
    const n = this.demand.length;
    return n === 0 ? this.currentCount : this.demandSum / n;
  }

  /** Refits the demand forecast with ARIMA; keeps the moving average when the fit fails. */
  refitDemand(nowMs: number, order: ArimaOrder, window: number): void {
    this.rollTo(nowMs);
    this.lastFitMs = nowMs;
    const series = this.demand.toArray().slice(-window);
    const forecast = forecastArima(series, 1, order);
    this.demandForecastValue = forecast === null ? null : Math.max(0, forecast.means[0] as number);
  }

  /** Hill's tail index over the longest tenth of the holds (at least 5), bounded; cached until the next hold. */
  private tailIndex(): number {
    if (this.tailIndexValue !== null) return this.tailIndexValue;
    const sorted = this.sortedHolds;
    const n = sorted.length;
    const top = Math.min(n - 1, Math.max(5, Math.floor(n / 10)));
    const threshold = sorted[n - 1 - top] as number;
    let sumLogs = 0;
    for (let i = n - top; i < n; i++) sumLogs += Math.log((sorted[i] as number) / threshold);
    const hill = top > 0 && threshold > 0 && sumLogs > 0 ? top / sumLogs : MAX_TAIL_INDEX;
    // Hill's estimate has a relative standard error of 1/sqrt(top): only its lower confidence bound is trusted, so
    // that a tail seen in a few holds never makes a long hold look impossible.
    const index = Math.min(MAX_TAIL_INDEX, hill) * Math.max(0, 1 - TAIL_CONFIDENCE_Z / Math.sqrt(top));
    this.tailIndexValue = Math.max(MIN_TAIL_INDEX, index);
    return this.tailIndexValue;
  }

  private pushDemand(count: number): void {
    if (this.demand.length === this.demand.capacity) this.demandSum -= this.demand.at(0);
    this.demand.push(count);
    this.demandSum += count;
  }

  private rollTo(atMs: number): void {
    const bucket = Math.floor(atMs / this.bucketMs);
    if (Number.isNaN(this.currentBucket)) {
      this.currentBucket = bucket;
      return;
    }
    if (bucket <= this.currentBucket) return;
    const closed = Math.min(bucket - this.currentBucket, DEMAND_HISTORY);
    this.pushDemand(this.currentCount);
    for (let i = 1; i < closed; i++) this.pushDemand(0);
    this.currentBucket = bucket;
    this.currentCount = 0;
  }
}
