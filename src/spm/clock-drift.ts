// A session's clock offset and drift, estimated from the time the client reports in its keepalives.
import { SlidingLinearFit } from './linear-fit.js';

/** The client clock relative to the server's. */
export interface DriftEstimate {
  /** Client time minus server receive time at the newest sample (includes the one-way delay). */
  readonly offsetMs: number;
  /** Rate of the client clock relative to the server's, as a fraction: -0.02 = 2% slow. */
  readonly drift: number;
  /** Standard error of `drift`. */
  readonly driftStdErr: number;
  readonly points: number;
}

/** Linear fit of `clientTime - receiveTime` against `receiveTime` over the last `window` keepalives. */
export class ClockDriftEstimator {
  private readonly fit: SlidingLinearFit;

  constructor(window: number) {
    this.fit = new SlidingLinearFit(window);
  }

  observe(receiveMs: number, clientTimeMs: number): void {
    this.fit.push(receiveMs, clientTimeMs - receiveMs);
  }

  /** The current estimate, or null below three samples (no uncertainty can be given with fewer). */
  estimate(): DriftEstimate | null {
    const line = this.fit.fit();
    if (line === null || line.points < 3) return null;
    return { offsetMs: line.valueAtLast, drift: line.slope, driftStdErr: line.slopeStdErr, points: line.points };
  }
}
