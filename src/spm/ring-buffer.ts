// A fixed-capacity ring of numbers: the bounded windows every SPM series keeps, with no allocation per sample.

/** Slots allocated at the first push; the storage doubles from there as values come, up to the capacity. */
const FIRST_SLOTS = 8;

/** The last `capacity` numbers pushed, oldest first. */
export class RingBuffer {
  /**
   * Allocated at the first push, FIRST_SLOTS of them, and doubled whenever full below the capacity: a window costs
   * storage for the values it has. Most resources of per-entity locks get one hold duration and never a closed demand
   * bucket, and the predictor keeps 10,000 resources; a full-size window each was 2.5 KB for one value (issue 13,
   * docs/design.md "Memory"). It only wraps once it holds `capacity` values, so until then `start` is 0.
   */
  private values: Float64Array | null = null;
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
  }

  /** Appends `value`, dropping the oldest when full. */
  push(value: number): void {
    let values = this.values;
    if (values === null) {
      values = new Float64Array(Math.min(FIRST_SLOTS, this.capacity));
      this.values = values;
    } else if (this.size === values.length && this.size < this.capacity) {
      const grown = new Float64Array(Math.min(2 * values.length, this.capacity));
      grown.set(values);
      values = grown;
      this.values = values;
    }
    if (this.size < this.capacity) {
      values[this.size] = value;
      this.size++;
    } else {
      values[this.start] = value;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** How many numbers the storage has room for now (0 before the first push): what the window costs. */
  get allocatedSlots(): number {
    return this.values?.length ?? 0;
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

  /** Forgets every value; storage grown beyond its first allocation is let go, so a reused window costs no more. */
  clear(): void {
    this.start = 0;
    this.size = 0;
    if (this.values !== null && this.values.length > FIRST_SLOTS) this.values = null;
  }
}
