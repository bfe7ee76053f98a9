// A session's clock offset and rate error, estimated from the time the client reports in its keepalives.
import { RingBuffer } from './ring-buffer.js';

/** The client clock relative to the server's. */
export interface DriftEstimate {
  /** Client clock minus the estimated send time (server clock) at the newest sample. */
  readonly offsetMs: number;
  /** Rate of the client clock relative to the server's now, as a fraction: -0.02 = 2% slow. */
  readonly drift: number;
  /** Standard error of `drift`, from the scatter of the session's own samples around the fit. */
  readonly driftStdErr: number;
  /** Samples the fit rests on (outliers set aside). */
  readonly points: number;
  /** True when the rate is changing significantly, and `drift` is the rate at the newest sample of a quadratic fit. */
  readonly changing: boolean;
  /** How fast the rate changes, per ms (0 unless `changing`): a clock that keeps slowing is forecast ahead. */
  readonly driftChangePerMs: number;
}

/** Samples needed before an estimate is given: with fewer, the residuals cannot say how noisy the session is. */
const MIN_POINTS = 6;
/** Residuals beyond this many robust standard deviations (1.4826 x MAD) are outliers: a spike of one-way delay or a
 * receive held up by a stall, not the clock. A statistical constant, not a property of any network. */
const OUTLIER_Z = 4;
/** Clock readings arrive in whole milliseconds: a residual within this is not an outlier, whatever the MAD says. */
const READING_RESOLUTION_MS = 1;
/** The rate's change (curvature of the offsets) is used only when its t statistic exceeds this. The test is repeated at
 * every keepalive of every session, so its level is corrected for that (about 3e-7 two-sided per test: well under one
 * false alarm per million keepalives); a real ramp of the rate passes it within a few samples. */
const CURVATURE_Z = 5;
/** The newest samples all outliers on the same side: the clock was stepped or the path changed; start again. */
const OUTLIERS_BEFORE_RESET = 3;

/**
 * Offsets `clientTime - sendTime` against send time, where the send time is the receive time less half the session's
 * *smoothed* round trip (a per-sample correction with the previous exchange's RTT would add that exchange's jitter; the
 * smoothed one still follows a latency that grows). The slope of a least-squares line through the last `window`
 * offsets is the rate error; its standard error comes from the residuals, so a noisy wide-area session is judged with
 * its own noise and a quiet LAN session with its own. Outliers (one-way delay spikes) are set aside by a robust scale,
 * and a changing rate (a drift that ramps) is followed by a quadratic term only when the data show it significantly.
 */
export class ClockDriftEstimator {
  private readonly sendTimes: RingBuffer;
  private readonly offsets: RingBuffer;
  private lastOffsetMs = Number.NaN;
  private lastSendMs = Number.NaN;
  /** The estimate is computed once per new sample (assessments ask far more often than keepalives arrive). */
  private cached: DriftEstimate | null = null;
  private stale = true;
  /** Scratch space for the fit: residuals, their absolute deviations, and which samples are kept. */
  private readonly residuals: Float64Array;
  private readonly deviations: Float64Array;
  private readonly kept: Uint8Array;

  /** @param window samples kept for the fit (at the default interval of 3.3 s, 16 samples span about 53 s) */
  constructor(window: number) {
    this.sendTimes = new RingBuffer(window);
    this.offsets = new RingBuffer(window);
    this.residuals = new Float64Array(window);
    this.deviations = new Float64Array(window);
    this.kept = new Uint8Array(window);
  }

  /**
   * One keepalive: server receive time, the client's clock at sending, and the one-way delay to take off (half the
   * smoothed RTT), or null when the receive time is not to be trusted (the node's own stall): then the sample is not
   * used at all.
   */
  observe(receiveMs: number, clientTimeMs: number, oneWayMs: number | null): void {
    if (oneWayMs === null) return;
    const sendMs = receiveMs - oneWayMs;
    if (sendMs <= this.lastSendMs) return;
    this.sendTimes.push(sendMs);
    this.offsets.push(clientTimeMs - sendMs);
    this.lastSendMs = sendMs;
    this.lastOffsetMs = clientTimeMs - sendMs;
    this.stale = true;
  }

  /** The current estimate, or null below `MIN_POINTS` samples. */
  estimate(): DriftEstimate | null {
    if (!this.stale) return this.cached;
    this.stale = false;
    this.cached = this.fit();
    return this.cached;
  }

  private fit(): DriftEstimate | null {
    const n = this.sendTimes.length;
    if (n < MIN_POINTS) return null;
    this.kept.fill(1, 0, n);
    let line = this.line(n);
    if (line === null) return null;
    // Robust scale of the residuals (MAD), then set the outliers aside and fit again.
    for (let i = 0; i < n; i++) {
      this.residuals[i] = this.offsetAt(i) - (line.intercept + line.slope * this.timeAt(i));
      this.deviations[i] = Math.abs(this.residuals[i] as number);
    }
    const sorted = this.deviations.subarray(0, n).slice().sort();
    const robustStdDev = 1.4826 * (sorted[Math.floor(n / 2)] as number);
    const limit = Math.max(OUTLIER_Z * robustStdDev, READING_RESOLUTION_MS);
    let outliers = 0;
    for (let i = 0; i < n; i++) {
      if ((this.deviations[i] as number) > limit) {
        this.kept[i] = 0;
        outliers++;
      }
    }
    if (this.newestAreOneSidedOutliers(n)) {
      this.restartFromNewest(n);
      return this.fit();
    }
    if (outliers > 0) {
      line = this.line(n);
      if (line === null) return null;
    }
    const quadratic = line.points >= MIN_POINTS + 2 ? this.quadratic(n) : null;
    const changing = quadratic !== null && Math.abs(quadratic.curvature) > CURVATURE_Z * quadratic.curvatureStdErr;
    return {
      offsetMs: this.lastOffsetMs,
      drift: changing ? quadratic.rateAtNewest : line.slope,
      driftStdErr: changing ? quadratic.rateAtNewestStdErr : line.slopeStdErr,
      points: line.points,
      changing,
      driftChangePerMs: changing ? (2 * quadratic.curvature) / 1e6 : 0,
    };
  }

  private timeAt(i: number): number {
    return this.sendTimes.at(i) - this.lastSendMs;
  }

  private offsetAt(i: number): number {
    return this.offsets.at(i) - this.lastOffsetMs;
  }

  /** Least squares over the kept samples (times relative to the newest, which keeps the sums small). */
  private line(n: number): { intercept: number; slope: number; slopeStdErr: number; points: number } | null {
    let count = 0;
    let meanX = 0;
    let meanY = 0;
    for (let i = 0; i < n; i++) {
      if (this.kept[i] === 0) continue;
      count++;
      meanX += this.timeAt(i);
      meanY += this.offsetAt(i);
    }
    if (count < MIN_POINTS) return null;
    meanX /= count;
    meanY /= count;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      if (this.kept[i] === 0) continue;
      const dx = this.timeAt(i) - meanX;
      sxx += dx * dx;
      sxy += dx * (this.offsetAt(i) - meanY);
    }
    if (sxx === 0) return null;
    const slope = sxy / sxx;
    let rss = 0;
    for (let i = 0; i < n; i++) {
      if (this.kept[i] === 0) continue;
      const r = this.offsetAt(i) - meanY - slope * (this.timeAt(i) - meanX);
      rss += r * r;
    }
    // Whole-millisecond readings: the residual variance is never taken below that of a uniform rounding error.
    const variance = Math.max(rss / (count - 2), READING_RESOLUTION_MS ** 2 / 12);
    return { intercept: meanY - slope * meanX, slope, slopeStdErr: Math.sqrt(variance / sxx), points: count };
  }

  /** y = a + b x + c x^2 over the kept samples: the rate at the newest sample (x = 0) is b, with its standard error. */
  private quadratic(
    n: number,
  ): { curvature: number; curvatureStdErr: number; rateAtNewest: number; rateAtNewestStdErr: number } | null {
    // Normal equations on x in seconds (keeps x^4 small).
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    for (let i = 0; i < n; i++) {
      if (this.kept[i] === 0) continue;
      const x = this.timeAt(i) / 1000;
      const y = this.offsetAt(i);
      const x2 = x * x;
      s0 += 1;
      s1 += x;
      s2 += x2;
      s3 += x2 * x;
      s4 += x2 * x2;
      t0 += y;
      t1 += x * y;
      t2 += x2 * y;
    }
    const inverse = invertSymmetric3(s0, s1, s2, s3, s4);
    if (inverse === null) return null;
    const [i00, i01, i02, i11, i12, i22] = inverse;
    const a = i00 * t0 + i01 * t1 + i02 * t2;
    const b = i01 * t0 + i11 * t1 + i12 * t2;
    const c = i02 * t0 + i12 * t1 + i22 * t2;
    let rss = 0;
    for (let i = 0; i < n; i++) {
      if (this.kept[i] === 0) continue;
      const x = this.timeAt(i) / 1000;
      const r = this.offsetAt(i) - (a + b * x + c * x * x);
      rss += r * r;
    }
    const variance = Math.max(rss / (s0 - 3), READING_RESOLUTION_MS ** 2 / 12);
    // b is in ms of offset per second: divide by 1000 for a rate.
    return {
      curvature: c,
      curvatureStdErr: Math.sqrt(variance * i22),
      rateAtNewest: b / 1000,
      rateAtNewestStdErr: Math.sqrt(variance * i11) / 1000,
    };
  }

  private newestAreOneSidedOutliers(n: number): boolean {
    if (n < OUTLIERS_BEFORE_RESET * 2) return false;
    let side = 0;
    for (let i = n - OUTLIERS_BEFORE_RESET; i < n; i++) {
      if (this.kept[i] === 1) return false;
      const sign = Math.sign(this.residuals[i] as number);
      if (side !== 0 && sign !== side) return false;
      side = sign;
    }
    return true;
  }

  private restartFromNewest(n: number): void {
    const times: number[] = [];
    const offsets: number[] = [];
    for (let i = n - OUTLIERS_BEFORE_RESET; i < n; i++) {
      times.push(this.sendTimes.at(i));
      offsets.push(this.offsets.at(i));
    }
    this.sendTimes.clear();
    this.offsets.clear();
    for (let i = 0; i < times.length; i++) {
      this.sendTimes.push(times[i] as number);
      this.offsets.push(offsets[i] as number);
    }
  }
}

/** The inverse of the symmetric matrix [[s0 s1 s2] [s1 s2 s3] [s2 s3 s4]] as its upper triangle, or null if singular. */
function invertSymmetric3(
  s0: number,
  s1: number,
  s2: number,
  s3: number,
  s4: number,
): [number, number, number, number, number, number] | null {
  const c00 = s2 * s4 - s3 * s3;
  const c01 = s2 * s3 - s1 * s4;
  const c02 = s1 * s3 - s2 * s2;
  const determinant = s0 * c00 + s1 * c01 + s2 * c02;
  if (!(Math.abs(determinant) > 1e-12)) return null;
  const c11 = s0 * s4 - s2 * s2;
  const c12 = s1 * s2 - s0 * s3;
  const c22 = s0 * s2 - s1 * s1;
  return [
    c00 / determinant,
    c01 / determinant,
    c02 / determinant,
    c11 / determinant,
    c12 / determinant,
    c22 / determinant,
  ];
}
