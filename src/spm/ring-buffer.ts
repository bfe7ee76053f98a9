// A fixed-capacity ring of numbers: the bounded windows every SPM series keeps, with no allocation per sample.

/** The last `capacity` numbers pushed, oldest first. */
export class RingBuffer {
  /**
   * Allocated at the first push: a window that never gets a value costs no storage. Most resources of per-entity
   * locks never get a hold duration or a closed demand bucket, and a new leader loads 10,000 of them (issue 13).
   */
  private values: Float64Array | null = null;
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
  }

  /** Appends `value`, dropping the oldest when full. */
  push(value: number): void {
    this.values ??= new Float64Array(this.capacity);
    if (this.size < this.capacity) {
      this.values[(this.start + this.size) % this.capacity] = value;
      this.size++;
    } else {
      this.values[this.start] = value;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  get length(): number {
    return this.size;
  }

  /** The i-th value, 0 being the oldest kept (`i` below `length`). */
  at(i: number): number {
    return (this.values as Float64Array)[(this.start + i) % this.capacity] as number;
  }

  /** The most recent value (NaN when empty). */
  last(): number {
    return this.size === 0 ? Number.NaN : this.at(this.size - 1);
  }

  /** Replaces the most recent value (no-op when empty). */
  setLast(value: number): void {
    if (this.size === 0) return;
    (this.values as Float64Array)[(this.start + this.size - 1) % this.capacity] = value;
  }

  /** A copy, oldest first. */
  toArray(): number[] {
    const out = new Array<number>(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.at(i);
    return out;
  }

  clear(): void {
    this.start = 0;
    this.size = 0;
  }
}
