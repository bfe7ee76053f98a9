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
  /** The rate over the whole window (the line's slope) and its standard error: what the clock has done, not what a
   * quadratic says it does at the newest sample (an extrapolation that heavy-tailed delays can throw far). */
  readonly windowDrift: number;
  readonly windowDriftStdErr: number;
  /** How far the rate could be from `drift` if the path is not symmetric: a one-way delay that is a fixed share of the
   * round trip, other than half, moves the offsets by that share of the round trip's own trend, at most half of it
   * either way. Judging a clock to be out of bound needs more than this. */
  readonly pathDoubt: number;
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
 * Offsets `clientTime - sendTime` against send time, where the send time is the receive time less half *that
 * exchange's own* round trip, as NTP does: a keepalive reports the round trip of the exchange before it, so a sample
 * enters the fit once the next keepalive has told its round trip (the previous exchange's RTT would add that
 * exchange's jitter, and lag a latency that grows). Without any round trip known, the delay is taken as steady. The
 * slope of a least-squares line through the last `window` offsets is the rate error; its standard error comes from
 * the residuals, so a noisy wide-area session is judged with its own noise and a quiet LAN session with its own.
 * Outliers (one-way delay spikes) are set aside by a robust scale, and a changing rate (a drift that ramps) is followed
 * by a quadratic term only when the data show it significantly.
 */
export class ClockDriftEstimator {
  private readonly receiveTimes: RingBuffer;
  /** `clientTime - receiveTime` of each sample. */
  private readonly rawOffsets: RingBuffer;
  /** Each sample's own round trip, NaN until the next keepalive reports it. */
  private readonly ownRtts: RingBuffer;
  private lastReceiveMs = Number.NaN;
  /** The newest sample the fit used: its offset, which the others are taken relative to. */
  private newestOffsetMs = Number.NaN;
  /** The estimate is computed once per new sample (assessments ask far more often than keepalives arrive). */
  private cached: DriftEstimate | null = null;
  /** The estimate's one object, refilled at each fit: estimates are made at every keepalive of every session. */
  private readonly current: { -readonly [K in keyof DriftEstimate]: DriftEstimate[K] } = {
    offsetMs: 0,
    drift: 0,
    driftStdErr: 0,
    points: 0,
    windowDrift: 0,
    windowDriftStdErr: 0,
    pathDoubt: 0,
    changing: false,
    driftChangePerMs: 0,
  };
  private stale = true;
  /** Scratch space for the fit: residuals, their absolute deviations, and which samples are kept. */
  private readonly residuals: Float64Array;
  private readonly deviations: Float64Array;
  private readonly kept: Uint8Array;
  /** Samples whose send can be placed (their round trip is known, or none is). */
  private readonly placed: Uint8Array;
  /** Each sample's send time and offset relative to the newest used, and its one-way delay, as the fit places them. */
  private readonly times: Float64Array;
  private readonly offsets: Float64Array;
  private readonly oneWays: Float64Array;
  /** The last `keptSlope`'s sums and slope, and the last `line` and `quadratic` fits: kept in place, not allocated,
   * since a fit runs at every keepalive of every session. */
  private readonly slopeFit = { count: 0, meanX: 0, meanY: 0, sxx: 0, slope: 0 };
  private readonly lineFit = { intercept: 0, slope: 0, slopeStdErr: 0, points: 0 };
  private readonly quadraticFit = { curvature: 0, curvatureStdErr: 0, rateAtNewest: 0, rateAtNewestStdErr: 0 };

  /** @param window samples kept for the fit (at the default interval of 3.3 s, 16 samples span about 53 s) */
  constructor(window: number) {
    this.receiveTimes = new RingBuffer(window);
    this.rawOffsets = new RingBuffer(window);
    this.ownRtts = new RingBuffer(window);
    this.times = new Float64Array(window);
    this.offsets = new Float64Array(window);
    this.oneWays = new Float64Array(window);
    this.residuals = new Float64Array(window);
    this.deviations = new Float64Array(window);
    this.kept = new Uint8Array(window);
    this.placed = new Uint8Array(window);
  }

  /**
   * One keepalive: server receive time, the client's clock at sending, and the round trip it reports, which is that
   * of the exchange before it (undefined when unknown). A receive the node's own stall may have held up is not to be
   * given at all.
   */
  observe(receiveMs: number, clientTimeMs: number, rttMs: number | undefined): void {
    if (receiveMs <= this.lastReceiveMs) return;
    if (rttMs !== undefined && Number.isFinite(rttMs) && rttMs >= 0 && Number.isNaN(this.ownRtts.last())) {
      this.ownRtts.setLast(rttMs);
    }
    this.receiveTimes.push(receiveMs);
    this.rawOffsets.push(clientTimeMs - receiveMs);
    this.ownRtts.push(Number.NaN);
    this.lastReceiveMs = receiveMs;
    this.stale = true;
  }

  /** The current estimate, or null below `MIN_POINTS` samples. The object is the estimator's own and is refilled by the
   * next fit: read it now, do not keep it. */
  estimate(): DriftEstimate | null {
    if (!this.stale) return this.cached;
    this.stale = false;
    this.cached = this.fit();
    return this.cached;
  }

  private fit(): DriftEstimate | null {
    const n = this.receiveTimes.length;
    const placed = this.placeSends(n);
    if (placed < MIN_POINTS) return null;
    if (!this.line(n)) return null;
    const line = this.lineFit;
    // Robust scale of the placed samples' residuals (MAD), then set the outliers aside and fit again.
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (this.placed[i] === 0) continue;
      this.residuals[i] = this.offsetAt(i) - (line.intercept + line.slope * this.timeAt(i));
      this.deviations[count++] = Math.abs(this.residuals[i] as number);
    }
    const robustStdDev = 1.4826 * medianInPlace(this.deviations, count);
    const limit = Math.max(OUTLIER_Z * robustStdDev, READING_RESOLUTION_MS);
    let outliers = 0;
    for (let i = 0; i < n; i++) {
      if (this.placed[i] === 1 && Math.abs(this.residuals[i] as number) > limit) {
        this.kept[i] = 0;
        outliers++;
      }
    }
    if (this.newestAreOneSidedOutliers(n)) {
      this.restartFromNewest(n);
      return this.fit();
    }
    if (outliers > 0 && !this.line(n)) return null;
    const quadratic = this.quadraticFit;
    const changing =
      line.points >= MIN_POINTS + 2 &&
      this.quadratic(n) &&
      Math.abs(quadratic.curvature) > CURVATURE_Z * quadratic.curvatureStdErr;
    const estimate = this.current;
    estimate.offsetMs = this.newestOffsetMs;
    estimate.pathDoubt = this.pathDoubt(n);
    estimate.windowDrift = line.slope;
    estimate.windowDriftStdErr = line.slopeStdErr;
    estimate.drift = changing ? quadratic.rateAtNewest : line.slope;
    estimate.driftStdErr = changing ? quadratic.rateAtNewestStdErr : line.slopeStdErr;
    estimate.points = line.points;
    estimate.changing = changing;
    estimate.driftChangePerMs = changing ? (2 * quadratic.curvature) / 1e6 : 0;
    return estimate;
  }

  private timeAt(i: number): number {
    return this.times[i] as number;
  }

  private offsetAt(i: number): number {
    return this.offsets[i] as number;
  }

  /**
   * Places each sample's send at its receive less half its own round trip, relative to the newest sample that has one,
   * and marks as kept the samples that can be placed: those with a round trip, or all when none is known. Returns how
   * many are kept.
   */
  private placeSends(n: number): number {
    let anyRtt = false;
    for (let i = 0; i < n && !anyRtt; i++) anyRtt = !Number.isNaN(this.ownRtts.at(i));
    let kept = 0;
    let newest = -1;
    for (let i = 0; i < n; i++) {
      const rtt = this.ownRtts.at(i);
      const usable = !anyRtt || !Number.isNaN(rtt);
      this.placed[i] = usable ? 1 : 0;
      this.kept[i] = usable ? 1 : 0;
      this.oneWays[i] = usable && anyRtt ? rtt / 2 : 0;
      if (usable) {
        kept++;
        newest = i;
      }
    }
    if (newest < 0) return 0;
    const newestSendMs = this.receiveTimes.at(newest) - (this.oneWays[newest] as number);
    this.newestOffsetMs = this.rawOffsets.at(newest) + (this.oneWays[newest] as number);
    for (let i = 0; i < n; i++) {
      const oneWayMs = this.oneWays[i] as number;
      this.times[i] = this.receiveTimes.at(i) - oneWayMs - newestSendMs;
      this.offsets[i] = this.rawOffsets.at(i) + oneWayMs - this.newestOffsetMs;
    }
    return kept;
  }

  /**
   * Half the slope of the kept samples' round trips over the window (the line's design): the most a one-way share of
   * the round trip other than half, held over the window, could move the window's rate. 0 when no round trip is known.
   */
  private pathDoubt(n: number): number {
    // The slope of half the round trip, per ms of time: a rate.
    return this.keptSlope(n, this.oneWays) ? Math.abs(this.slopeFit.slope) : 0;
  }

  /** The least-squares slope of `ys` against the send times over the kept samples, with the sums `line` goes on
   * with, into `slopeFit`; false below two samples or when every time is equal. */
  private keptSlope(n: number, ys: Float64Array): boolean {
    let count = 0;
    let meanX = 0;
    let meanY = 0;
    for (let i = 0; i < n; i++) {
      if (this.kept[i] === 0) continue;
      count++;
      meanX += this.timeAt(i);
      meanY += ys[i] as number;
    }
    if (count < 2) return false;
    meanX /= count;
    meanY /= count;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      if (this.kept[i] === 0) continue;
      const dx = this.timeAt(i) - meanX;
      sxx += dx * dx;
      sxy += dx * ((ys[i] as number) - meanY);
    }
    if (!(sxx > 0)) return false;
    const fit = this.slopeFit;
    fit.count = count;
    fit.meanX = meanX;
    fit.meanY = meanY;
    fit.sxx = sxx;
    fit.slope = sxy / sxx;
    return true;
  }

  /** Least squares over the kept samples (times relative to the newest, which keeps the sums small), into `lineFit`;
   * false below MIN_POINTS. */
  private line(n: number): boolean {
    if (!this.keptSlope(n, this.offsets) || this.slopeFit.count < MIN_POINTS) return false;
    const { count, meanX, meanY, sxx, slope } = this.slopeFit;
    let rss = 0;
    for (let i = 0; i < n; i++) {
      if (this.kept[i] === 0) continue;
      const r = this.offsetAt(i) - meanY - slope * (this.timeAt(i) - meanX);
      rss += r * r;
    }
    // Whole-millisecond readings: the residual variance is never taken below that of a uniform rounding error.
    const variance = Math.max(rss / (count - 2), READING_RESOLUTION_MS ** 2 / 12);
    const fit = this.lineFit;
    fit.intercept = meanY - slope * meanX;
    fit.slope = slope;
    fit.slopeStdErr = Math.sqrt(variance / sxx);
    fit.points = count;
    return true;
  }

  /** y = a + b x + c x^2 over the kept samples, into `quadraticFit`: the rate at the newest sample (x = 0) is b, with
   * its standard error; false when the sums are singular. */
  private quadratic(n: number): boolean {
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
    const inverse = INVERSE;
    if (!invertSymmetric3(s0, s1, s2, s3, s4, inverse)) return false;
    const i00 = inverse[0] as number;
    const i01 = inverse[1] as number;
    const i02 = inverse[2] as number;
    const i11 = inverse[3] as number;
    const i12 = inverse[4] as number;
    const i22 = inverse[5] as number;
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
    const fit = this.quadraticFit;
    fit.curvature = c;
    fit.curvatureStdErr = Math.sqrt(variance * i22);
    fit.rateAtNewest = b / 1000;
    fit.rateAtNewestStdErr = Math.sqrt(variance * i11) / 1000;
    return true;
  }

  /** The newest `OUTLIERS_BEFORE_RESET` placed samples are all outliers, on the same side. */
  private newestAreOneSidedOutliers(n: number): boolean {
    let side = 0;
    let seen = 0;
    for (let i = n - 1; i >= 0 && seen < OUTLIERS_BEFORE_RESET; i--) {
      if (this.placed[i] === 0) continue;
      if (this.kept[i] === 1) return false;
      const sign = Math.sign(this.residuals[i] as number);
      if (side !== 0 && sign !== side) return false;
      side = sign;
      seen++;
    }
    return seen === OUTLIERS_BEFORE_RESET && n >= OUTLIERS_BEFORE_RESET * 2;
  }

  /** Starts again from the newest samples, from the first of the outliers on: what came before is another path or
   * another clock. */
  private restartFromNewest(n: number): void {
    let from = n;
    for (let seen = 0; from > 0 && seen < OUTLIERS_BEFORE_RESET; ) {
      from--;
      if (this.placed[from] === 1) seen++;
    }
    const kept: [number, number, number][] = [];
    for (let i = from; i < n; i++) kept.push([this.receiveTimes.at(i), this.rawOffsets.at(i), this.ownRtts.at(i)]);
    this.receiveTimes.clear();
    this.rawOffsets.clear();
    this.ownRtts.clear();
    for (const [receiveMs, rawOffsetMs, rttMs] of kept) {
      this.receiveTimes.push(receiveMs);
      this.rawOffsets.push(rawOffsetMs);
      this.ownRtts.push(rttMs);
    }
  }
}

/** The upper median of the first `count` values (their order is lost): an insertion sort, with no allocation, which is
 * the fastest for the few samples of a window. */
function medianInPlace(values: Float64Array, count: number): number {
  for (let i = 1; i < count; i++) {
    const value = values[i] as number;
    let j = i - 1;
    while (j >= 0 && (values[j] as number) > value) {
      values[j + 1] = values[j] as number;
      j--;
    }
    values[j + 1] = value;
  }
  return values[Math.floor(count / 2)] as number;
}

/** Scratch space of `invertSymmetric3` (fits run one at a time). */
const INVERSE = new Float64Array(6);

/** The inverse of the symmetric matrix [[s0 s1 s2] [s1 s2 s3] [s2 s3 s4]] as its upper triangle, into `out`; false if
 * singular. */
function invertSymmetric3(s0: number, s1: number, s2: number, s3: number, s4: number, out: Float64Array): boolean {
  const c00 = s2 * s4 - s3 * s3;
  const c01 = s2 * s3 - s1 * s4;
  const c02 = s1 * s3 - s2 * s2;
  const determinant = s0 * c00 + s1 * c01 + s2 * c02;
  if (!(Math.abs(determinant) > 1e-12)) return false;
  out[0] = c00 / determinant;
  out[1] = c01 / determinant;
  out[2] = c02 / determinant;
  out[3] = (s0 * s4 - s2 * s2) / determinant;
  out[4] = (s1 * s2 - s0 * s3) / determinant;
  out[5] = (s0 * s2 - s1 * s1) / determinant;
  return true;
}
