// A session's clock offset and drift, estimated from the time the client reports in its keepalives.
import { SlidingLinearFit } from './linear-fit.js';

/** The client clock relative to the server's. */
export interface DriftEstimate {
  /** Client send time minus server time at the newest sample (corrected by half the client's last RTT). */
  readonly offsetMs: number;
  /** Rate of the client clock relative to the server's now, as a fraction: -0.02 = 2% slow. */
  readonly drift: number;
  /** Standard error of `drift`. */
  readonly driftStdErr: number;
  /** How fast the rate itself changes (per ms), and its standard error: a drift that grows is forecast ahead. */
  readonly driftChangePerMs: number;
  readonly driftChangeStdErr: number;
  readonly points: number;
}

/** Rate error of one interval beyond which it is an outlier: a 100 ms receive delay over a 3.3 s interval. */
const DEFAULT_OUTLIER_RATE = 0.03;
const REJECTIONS_BEFORE_RESET = 5;
/** Rates needed before the rate's trend is trusted for a forecast. */
const MIN_POINTS_FOR_TREND = 4;

/**
 * Each pair of consecutive keepalives gives the client clock's rate over that interval:
 * `(clientTime delta) / (send time delta) - 1`, where the send time is the receive time less half the RTT the
 * client reported (so a growing latency is not mistaken for a slow clock). A least-squares line over the last
 * `window` rates gives the rate now and its trend. Rates far from the fitted line are set aside: a server stall
 * delays receive times, which distorts the two intervals around the delayed keepalive.
 */
export class ClockDriftEstimator {
  private readonly rates: SlidingLinearFit;
  private lastSendMs = Number.NaN;
  private lastClientMs = Number.NaN;
  private rejectedInARow = 0;
  private lastRttKnown = false;
  /** The estimate is computed once per new rate (assessments ask far more often than keepalives arrive). */
  private cached: DriftEstimate | null = null;
  private stale = true;

  /**
   * @param window rates kept for the fit
   * @param outlierRate a rate further than this from the fitted one is an outlier (a receive delayed by the
   *   server's own stall, not the clock); `REJECTIONS_BEFORE_RESET` outliers in a row mean the rate really moved.
   */
  constructor(
    window: number,
    private readonly outlierRate = DEFAULT_OUTLIER_RATE,
  ) {
    this.rates = new SlidingLinearFit(window);
  }

  /**
   * One keepalive: server receive time, the client's clock at sending, and the client's last RTT (null while the
   * client has not measured one, or when the receive time is not to be trusted: that keepalive only anchors the
   * next interval).
   */
  observe(receiveMs: number, clientTimeMs: number, rttMs: number | null): void {
    const sendMs = receiveMs - (rttMs ?? 0) / 2;
    const elapsedMs = sendMs - this.lastSendMs;
    if (elapsedMs > 0 && rttMs !== null && this.lastRttKnown) {
      const midMs = (sendMs + this.lastSendMs) / 2;
      const rate = (clientTimeMs - this.lastClientMs) / elapsedMs - 1;
      const line = this.rates.points >= 3 ? this.rates.fit() : null;
      const expected = line === null ? rate : line.valueAtLast + line.slope * (midMs - this.rates.lastX());
      if (Math.abs(rate - expected) <= this.outlierRate) {
        this.rejectedInARow = 0;
        this.rates.push(midMs, rate);
      } else if (++this.rejectedInARow >= REJECTIONS_BEFORE_RESET) {
        this.rejectedInARow = 0;
        this.rates.clear();
        this.rates.push(midMs, rate);
      }
    }
    this.lastSendMs = sendMs;
    this.lastClientMs = clientTimeMs;
    this.lastRttKnown = rttMs !== null;
    this.stale = true;
  }

  /** The current estimate, or null below three rates (no uncertainty can be given with fewer). */
  estimate(): DriftEstimate | null {
    if (!this.stale) return this.cached;
    this.stale = false;
    const line = this.rates.fit();
    if (line === null || line.points < 3) {
      this.cached = null;
      return null;
    }
    const trended = line.points >= MIN_POINTS_FOR_TREND;
    this.cached = {
      offsetMs: this.lastClientMs - this.lastSendMs,
      drift: line.valueAtLast,
      driftStdErr: line.valueAtLastStdErr,
      driftChangePerMs: trended ? line.slope : 0,
      driftChangeStdErr: trended ? line.slopeStdErr : 0,
      points: line.points,
    };
    return this.cached;
  }
}
