// One session's online model: keepalive inter-arrival and RTT smoothing, clock drift, promise and response record.
import { ClockDriftEstimator } from './clock-drift.js';
import { HoltTrend } from './holt.js';
import { SlidingLinearFit } from './linear-fit.js';
import { MovingAverage } from './moving-average.js';
import { RingBuffer } from './ring-buffer.js';
import { lateToleranceMs } from './risk.js';
import type { KeepaliveSample, SpmConfig } from './types.js';

/** The forecast of the next keepalive inter-arrival gaps. */
export interface GapForecast {
  /** Expected next gap. */
  readonly meanMs: number;
  /** Its standard deviation (at least the configured floor). */
  readonly stdDevMs: number;
  /** Expected growth of the gap per keepalive (0 for the moving average). */
  readonly trendMsPerStep: number;
}

/** Before two gaps are known the spread is a quarter of the announced interval. */
const YOUNG_SPREAD_DIVISOR = 4;
/** A gap longer than this many expected gaps is a missed keepalive, not a sample of the rhythm. */
const MISSED_GAP_RATIO = 1.5;
/** A gap beyond the forecast by more than this many standard deviations is clipped before it is learned. */
const CLIP_STD_DEVS = 4;
/** The gaps' trend is projected only when its t statistic exceeds this (one-sided ~0.1%): a spike is not a trend. */
const TREND_Z = 3;

/** How a gap compared with the rhythm forecast before it: on time, late (beyond the late tolerance, by `excessMs`), or
 * one lost keepalive (about one interval late). */
export interface GapVerdict {
  readonly late: boolean;
  readonly missed: boolean;
  readonly excessMs: number;
}

/** Everything the SPM knows about one session; updated in O(1) per keepalive. */
export class SessionModel {
  lastReceiveMs: number;
  /** Last time the client was heard from in any way (keepalive, request, release). */
  lastHeardMs: number;
  /** When the session's connection ended without a close, until its next keepalive: evidence that its client may be
   * dead (null: connected, or a disconnect shared by many sessions, which is no such evidence). */
  disconnectedAtMs: number | null = null;
  /** Its connection ended and it has not been heard from since: its next keepalive is the one sent on resume. */
  resuming = false;
  samples = 0;
  /** Latest receive time + guarantee over every guarantee recorded (principle 2's promisedUntil). */
  promisedUntilMs: number;
  lastGuaranteeMs: number;
  /** False between a keepalive and the guarantee recorded for it. */
  private answered = true;
  /** Answers to warnings: acknowledged/checkpointed/released versus ignored. */
  answeredWarnings = 0;
  ignoredWarnings = 0;
  /** True when the last assessment found this session at risk: ARIMA then refits its gap series. */
  atRisk = false;
  arimaFitMs = Number.NaN;
  private arimaForecast: GapForecast | null = null;
  /** The forecast is computed once per keepalive (assessments ask far more often), per at-risk state. */
  private cachedForecast: GapForecast | null = null;
  private cachedForAtRisk = false;
  lastRttMs = Number.NaN;
  /** Session conditions told by advisory, with hysteresis (one advisory per episode). */
  clockAdvisory = false;
  /** Consecutive keepalives at which the clock was judged out of bound (the advisory needs a whole window of them). */
  clockOutOfBoundStreak = 0;
  linkAdvisory = false;
  /** The lease this session's answers promise beyond its guarantee, so that a slow clock's belief is covered. */
  leaseStretchMs = 0;
  readonly gapTrend: HoltTrend;
  /** Gaps against their index: the trend projected ahead, only when significant. */
  private readonly gapFit: SlidingLinearFit;
  private gapIndex = 0;
  readonly rttTrend: HoltTrend;
  readonly drift: ClockDriftEstimator;
  private readonly gapAverage: MovingAverage | null;
  /** Recent gaps, for ARIMA (only when that model is configured). */
  readonly gapSeries: RingBuffer | null;

  constructor(
    readonly sessionId: string,
    readonly ttlMs: number,
    readonly keepaliveIntervalMs: number,
    openedAtMs: number,
    private readonly config: SpmConfig,
  ) {
    this.lastReceiveMs = openedAtMs;
    this.lastHeardMs = openedAtMs;
    this.promisedUntilMs = openedAtMs + ttlMs;
    this.lastGuaranteeMs = ttlMs;
    this.gapTrend = new HoltTrend(config.smoothingAlpha, config.trendAlpha, config.varianceBeta);
    this.rttTrend = new HoltTrend(config.smoothingAlpha, config.trendAlpha, config.varianceBeta);
    this.drift = new ClockDriftEstimator(config.driftWindow);
    this.gapFit = new SlidingLinearFit(config.trendWindow);
    this.gapAverage = config.model === 'sma' ? new MovingAverage(config.trendWindow) : null;
    this.gapSeries = config.model === 'arima' ? new RingBuffer(config.arimaWindow) : null;
  }

  /**
   * Learns from one keepalive: O(1), no allocation. `overloaded`: the node's own overload may have delayed this
   * receive, so it anchors the next clock-rate interval but gives no rate itself.
   */
  observe(sample: KeepaliveSample, overloaded: boolean): void {
    const gapMs = sample.receiveMs - this.lastReceiveMs;
    // The first keepalive after a reconnect is sent at once on resume: its gap is no sample of the rhythm.
    const reconnected = this.resuming;
    this.resuming = false;
    this.disconnectedAtMs = null;
    if (this.samples > 0 && gapMs >= 0 && !reconnected) this.learnGap(gapMs);
    this.cachedForecast = null;
    this.lastReceiveMs = Math.max(this.lastReceiveMs, sample.receiveMs);
    this.heardFrom(sample.receiveMs);
    this.answered = false;
    this.samples++;
    if (sample.rttMs !== undefined && Number.isFinite(sample.rttMs)) {
      this.rttTrend.update(sample.rttMs);
      this.lastRttMs = sample.rttMs;
      this.cachedForecast = null;
    }
    if (!overloaded && sample.clientTimeMs !== undefined && Number.isFinite(sample.clientTimeMs)) {
      this.drift.observe(sample.receiveMs, sample.clientTimeMs, sample.rttMs);
    }
  }

  /** The round trip the session's exchanges take lately (its smoothed level; 0 before any is known). */
  get rttLevelMs(): number {
    if (this.rttTrend.count > 0) return Math.max(0, this.rttTrend.level);
    return Number.isFinite(this.lastRttMs) ? this.lastRttMs : 0;
  }

  /** The client proved alive at `atMs` (any message from it). */
  heardFrom(atMs: number): void {
    this.lastHeardMs = Math.max(this.lastHeardMs, atMs);
  }

  /** Records the guarantee sent in the answer to the keepalive received at `atMs`, and the lease it keeps. */
  recordGuarantee(atMs: number, guaranteeMs: number, leaseMs: number = guaranteeMs): void {
    this.lastGuaranteeMs = guaranteeMs;
    this.leaseStretchMs = leaseMs - guaranteeMs;
    this.promisedUntilMs = Math.max(this.promisedUntilMs, atMs + leaseMs);
    this.answered = true;
  }

  /** The lease deadline: the promise, or, for a keepalive not answered through the SPM, the last guarantee again. */
  get leaseDeadlineMs(): number {
    return this.answered
      ? this.promisedUntilMs
      : Math.max(this.promisedUntilMs, this.lastReceiveMs + this.lastGuaranteeMs + this.leaseStretchMs);
  }

  /** Installs the ARIMA forecast of the gaps (refitted in the background for at-risk sessions). */
  setArimaForecast(forecast: GapForecast | null): void {
    this.arimaForecast = forecast;
    this.cachedForecast = null;
  }

  /** The next gaps as the configured model forecasts them (the announced interval until two gaps are known). */
  forecast(): GapForecast {
    if (this.cachedForecast === null || this.cachedForAtRisk !== this.atRisk) {
      this.cachedForecast = this.computeForecast();
      this.cachedForAtRisk = this.atRisk;
    }
    return this.cachedForecast;
  }

  private computeForecast(): GapForecast {
    const floor = this.config.minStdDevFraction * this.keepaliveIntervalMs;
    if (this.config.model === 'arima' && this.atRisk && this.arimaForecast !== null) return this.arimaForecast;
    if (this.gapAverage !== null && this.gapAverage.count >= 2) {
      return { meanMs: this.gapAverage.mean, stdDevMs: Math.max(floor, this.gapAverage.stdDev), trendMsPerStep: 0 };
    }
    if (this.gapAverage === null && this.gapTrend.count >= 2) {
      return {
        meanMs: Math.max(1, this.gapTrend.level),
        stdDevMs: Math.max(floor, this.gapTrend.errorStdDev),
        trendMsPerStep: this.significantGapTrend(),
      };
    }
    // Too young for its own rhythm: the announced interval plus the round trip (the client sends its next keepalive
    // an interval after the answer), with a wide spread.
    const rttMs = Number.isFinite(this.lastRttMs) ? this.lastRttMs : 0;
    return {
      meanMs: this.keepaliveIntervalMs + rttMs,
      stdDevMs: Math.max(floor, this.keepaliveIntervalMs / YOUNG_SPREAD_DIVISOR),
      trendMsPerStep: 0,
    };
  }

  /** The growth of the gaps per keepalive, when the last gaps show it significantly (else 0). */
  private significantGapTrend(): number {
    const line = this.gapFit.fit();
    if (line === null || line.points < 4 || !(line.slope > TREND_Z * line.slopeStdErr)) return 0;
    return line.slope;
  }

  /** True when a gap this long (from the last keepalive) held a missed keepalive rather than a sample of the rhythm. */
  isMissedGap(gapMs: number): boolean {
    return gapMs > this.forecast().meanMs * MISSED_GAP_RATIO;
  }

  /** How a gap this long compares with the current forecast (call before the keepalive is observed). */
  judgeGap(gapMs: number): GapVerdict {
    const forecast = this.forecast();
    const toleranceMs = lateToleranceMs(forecast.stdDevMs);
    const excessMs = gapMs - forecast.meanMs - toleranceMs;
    if (excessMs <= 0) return { late: false, missed: false, excessMs: 0 };
    // One lost keepalive: the next came about one interval later than the rhythm said.
    const lossExcessMs = gapMs - forecast.meanMs - this.keepaliveIntervalMs;
    const missed = Math.abs(lossExcessMs) <= toleranceMs * Math.SQRT2;
    return { late: !missed, missed, excessMs };
  }

  private learnGap(gapMs: number): void {
    const expected = this.forecast();
    let learned = gapMs;
    if (this.isMissedGap(gapMs)) {
      learned = Math.min(gapMs, expected.meanMs + CLIP_STD_DEVS * expected.stdDevMs);
    }
    this.gapTrend.update(learned);
    this.gapFit.push(this.gapIndex++, learned);
    this.gapAverage?.update(learned);
    this.gapSeries?.push(learned);
  }
}
