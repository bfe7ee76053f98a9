// Holt's linear exponential smoothing: level and trend of a series in O(1) per sample, with its forecast error.
import { Ewma } from './ewma.js';

/**
 * Holt's method (double exponential smoothing): `level = a*x + (1-a)*(level + trend)`,
 * `trend = b*(level - previousLevel) + (1-b)*trend`. The one-step forecast errors feed an EWMA whose variance
 * is the forecast's uncertainty. The first sample sets the level; the second starts the trend.
 */
export class HoltTrend {
  private levelValue = 0;
  private trendValue = 0;
  private samples = 0;
  private readonly errors: Ewma;

  constructor(
    private readonly levelAlpha: number,
    private readonly trendAlpha: number,
    errorAlpha: number,
  ) {
    this.errors = new Ewma(errorAlpha);
  }

  /** Adds one sample. */
  update(x: number): void {
    if (this.samples === 0) {
      this.levelValue = x;
    } else {
      const forecast = this.levelValue + this.trendValue;
      this.errors.update(x - forecast);
      const previousLevel = this.levelValue;
      this.levelValue = this.levelAlpha * x + (1 - this.levelAlpha) * forecast;
      const observedTrend = this.levelValue - previousLevel;
      this.trendValue =
        this.samples === 1 ? observedTrend : this.trendAlpha * observedTrend + (1 - this.trendAlpha) * this.trendValue;
    }
    this.samples++;
  }

  /** The forecast `steps` samples ahead. */
  forecast(steps: number): number {
    return this.levelValue + steps * this.trendValue;
  }

  get level(): number {
    return this.levelValue;
  }

  get trend(): number {
    return this.trendValue;
  }

  /** Root mean square of the one-step forecast errors (0 until two samples). */
  get errorStdDev(): number {
    return Math.sqrt(this.errors.variance + this.errors.mean * this.errors.mean);
  }

  get count(): number {
    return this.samples;
  }
}
