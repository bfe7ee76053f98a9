// A bounded window of samples with O(1) running sum and sum of squares (the history of phi-accrual and Chen).

/** The last `capacity` samples, their count, mean and variance, each update O(1). */
export class SlidingWindow {
  private readonly samples: number[] = [];
  private head = 0;
  private sum = 0;
  private sumSquares = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`window capacity must be >= 1, got ${capacity}`);
  }

  /** Adds a sample, evicting the oldest when full. */
  push(value: number): void {
    if (this.samples.length < this.capacity) {
      this.samples.push(value);
    } else {
      const evicted = this.samples[this.head]!;
      this.sum -= evicted;
      this.sumSquares -= evicted * evicted;
      this.samples[this.head] = value;
      this.head = (this.head + 1) % this.capacity;
    }
    this.sum += value;
    this.sumSquares += value * value;
  }

  /** The oldest sample still in the window (undefined when empty). */
  oldest(): number | undefined {
    return this.samples.length < this.capacity ? this.samples[0] : this.samples[this.head];
  }

  get count(): number {
    return this.samples.length;
  }

  /** Mean of the samples (NaN when empty). */
  mean(): number {
    return this.sum / this.samples.length;
  }

  /** Population variance of the samples (never negative). */
  variance(): number {
    const mean = this.mean();
    return Math.max(0, this.sumSquares / this.samples.length - mean * mean);
  }
}
