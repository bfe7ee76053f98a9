// Exponentially weighted mean and variance: the O(1)-per-sample online estimator of the SPM.

/**
 * Exponentially weighted moving mean and variance (Finch 2009, "Incremental calculation of weighted mean and
 * variance"): `diff = x - mean; mean += alpha * diff; variance = (1 - alpha) * (variance + alpha * diff^2)`.
 * The first sample sets the mean and leaves the variance at 0.
 */
export class Ewma {
  private meanValue = 0;
  private varianceValue = 0;
  private samples = 0;

  constructor(private readonly alpha: number) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
  }

  /** Adds one sample. */
  update(x: number): void {
    if (this.samples === 0) {
      this.meanValue = x;
      this.varianceValue = 0;
    } else {
      const diff = x - this.meanValue;
      this.meanValue += this.alpha * diff;
      this.varianceValue = (1 - this.alpha) * (this.varianceValue + this.alpha * diff * diff);
    }
    this.samples++;
  }

  get mean(): number {
    return this.meanValue;
  }

  get variance(): number {
    return this.varianceValue;
  }

  get stdDev(): number {
    return Math.sqrt(this.varianceValue);
  }

  get count(): number {
    return this.samples;
  }
}
