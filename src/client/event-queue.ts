// An async iterator fed by pushes (nats.js queued_iterator): buffers what the consumer has not taken yet, ends when
// its producer ends it, and unregisters itself when the consumer stops early (`break` calls `return()`).

/** A push-fed `for await` source: `push()` values, `end()` it; `onClose` runs once when it ends either way. */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly buffered: T[] = [];
  private waiting: ((result: IteratorResult<T, undefined>) => void) | null = null;
  private ended = false;

  constructor(private readonly onClose: () => void) {}

  /** Queues `value` for the consumer (ignored once the queue ended). */
  push(value: T): void {
    if (this.ended) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      waiting({ value, done: false });
    } else this.buffered.push(value);
  }

  /** Ends the queue: the consumer still gets what was buffered, then the iteration finishes. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onClose();
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.buffered.length > 0) return Promise.resolve({ value: this.buffered.shift() as T, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** The consumer stopped (`break`, `return`, a throw in the loop body): drop the buffer and end. */
  return(): Promise<IteratorResult<T, undefined>> {
    this.buffered.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
