// The largest value seen within a sliding span of time, in O(1) amortized per observation (a monotonic queue).

/** The maximum of the values observed within the last `spanMs`. */
export class RecentMax {
  /** Candidates for the maximum, oldest first, values decreasing. */
  private readonly times: number[] = [];
  private readonly values: number[] = [];
  private head = 0;

  constructor(private readonly spanMs: number) {
    if (!(spanMs > 0)) throw new RangeError(`spanMs must be positive, got ${spanMs}`);
  }

  /** Observes `value` at `atMs` (times never go backwards). */
  observe(atMs: number, value: number): void {
    while (this.values.length > this.head && (this.values[this.values.length - 1] as number) <= value) {
      this.values.pop();
      this.times.pop();
    }
    this.values.push(value);
    this.times.push(atMs);
    this.forget(atMs);
  }

  /** The largest value observed within `spanMs` before `nowMs`, or null when none was. */
  max(nowMs: number): number | null {
    this.forget(nowMs);
    return this.values.length > this.head ? (this.values[this.head] as number) : null;
  }

  private forget(nowMs: number): void {
    while (this.values.length > this.head && (this.times[this.head] as number) <= nowMs - this.spanMs) this.head++;
    // Drop the consumed prefix now and then, so the arrays stay as long as the candidates.
    if (this.head > 64 && this.head * 2 > this.values.length) {
      this.values.splice(0, this.head);
      this.times.splice(0, this.head);
      this.head = 0;
    }
  }
}
