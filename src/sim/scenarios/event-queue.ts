// A discrete-event queue for the scenario generators: actions run in time order, ties in scheduling order.

interface Scheduled {
  readonly atMs: number;
  readonly order: number;
  readonly action: () => void;
}

/** A binary min-heap of timed actions; equal times run in the order they were scheduled, so runs are reproducible. */
export class EventQueue {
  private readonly heap: Scheduled[] = [];
  private scheduled = 0;
  private nowMs = 0;

  /** The time of the action running now. */
  get now(): number {
    return this.nowMs;
  }

  /** Runs `action` at `atMs` (never before now). */
  at(atMs: number, action: () => void): void {
    const item = { atMs: Math.max(atMs, this.nowMs), order: this.scheduled++, action };
    const heap = this.heap;
    heap.push(item);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(item, heap[parent]!)) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = item;
  }

  /** Runs every action due up to `untilMs`, including those they schedule. */
  runUntil(untilMs: number): void {
    while (this.heap.length > 0 && this.heap[0]!.atMs <= untilMs) {
      const next = this.pop();
      this.nowMs = next.atMs;
      next.action();
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  /**
   * runUntil for actions that start asynchronous work (promises): after each action, `settle()` is awaited (a
   * macrotask turn, so every promise job the action queued has run) before the next action, as Node finishes a
   * callback's promise jobs before its next callback. Deterministic as long as the actions only await one another.
   */
  async runUntilSettled(untilMs: number, settle: () => Promise<void>): Promise<void> {
    while (this.heap.length > 0 && this.heap[0]!.atMs <= untilMs) {
      const next = this.pop();
      this.nowMs = next.atMs;
      next.action();
      await settle();
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  private pop(): Scheduled {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
        if (!before(heap[child]!, last)) break;
        heap[index] = heap[child]!;
        index = child;
      }
      heap[index] = last;
    }
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
}
