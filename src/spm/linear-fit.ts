// Ordinary least squares over a sliding window of (x, y) points: the trend and drift fits of the SPM.
import { RingBuffer } from './ring-buffer.js';

/** A least-squares line with its uncertainty. */
export interface LineFit {
  readonly slope: number;
  /** The line's value at the newest x, and its standard error (Infinity below three points). */
  readonly valueAtLast: number;
  readonly valueAtLastStdErr: number;
  /** Standard error of the slope (Infinity below three points). */
  readonly slopeStdErr: number;
  /** Standard deviation of the residuals (0 below three points). */
  readonly residualStdDev: number;
  readonly points: number;
}

/**
 * Keeps the last `window` points; `fit()` centres them (so large x such as epoch milliseconds lose no precision)
 * and solves the least-squares line in O(window). Pushing is O(1); the fit is computed only when asked for.
 */
export class SlidingLinearFit {
  private readonly xs: RingBuffer;
  private readonly ys: RingBuffer;

  constructor(window: number) {
    this.xs = new RingBuffer(window);
    this.ys = new RingBuffer(window);
  }

  push(x: number, y: number): void {
    this.xs.push(x);
    this.ys.push(y);
  }

  get points(): number {
    return this.xs.length;
  }

  /** The newest x (NaN when empty). */
  lastX(): number {
    return this.xs.last();
  }

  clear(): void {
    this.xs.clear();
    this.ys.clear();
  }

  /** The least-squares line, or null below two points or when every x is equal. */
  fit(): LineFit | null {
    const n = this.xs.length;
    if (n < 2) return null;
    let meanX = 0;
    let meanY = 0;
    for (let i = 0; i < n; i++) {
      meanX += this.xs.at(i);
      meanY += this.ys.at(i);
    }
    meanX /= n;
    meanY /= n;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      const dx = this.xs.at(i) - meanX;
      sxx += dx * dx;
      sxy += dx * (this.ys.at(i) - meanY);
    }
    if (sxx === 0) return null;
    const slope = sxy / sxx;
    let rss = 0;
    for (let i = 0; i < n; i++) {
      const r = this.ys.at(i) - meanY - slope * (this.xs.at(i) - meanX);
      rss += r * r;
    }
    const residualVariance = n > 2 ? rss / (n - 2) : 0;
    const lastDx = this.xs.last() - meanX;
    return {
      slope,
      valueAtLast: meanY + slope * lastDx,
      valueAtLastStdErr:
        n > 2 ? Math.sqrt(residualVariance * (1 / n + (lastDx * lastDx) / sxx)) : Number.POSITIVE_INFINITY,
      slopeStdErr: n > 2 ? Math.sqrt(residualVariance / sxx) : Number.POSITIVE_INFINITY,
      residualStdDev: Math.sqrt(residualVariance),
      points: n,
    };
  }
}
