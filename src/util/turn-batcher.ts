// Collects what is sent during one event-loop turn and hands it over as one batch when the turn ends: the Sessions
// stream's two ends use it so that the frames of many sessions leave as one gRPC message.

/** A batch this large is handed over at once rather than at the end of the turn. */
export const MAX_TURN_BATCH_BYTES = 256 * 1024;

/** Items queued this turn, handed to `send` together after the turn's callbacks and promise jobs have run. */
export class TurnBatcher<T> {
  private items: T[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(
    private readonly sizeOf: (item: T) => number,
    private readonly send: (items: T[]) => void,
    private readonly maxBytes = MAX_TURN_BATCH_BYTES,
  ) {}

  /** Queues `item`; the batch leaves at the end of the turn, or now if it has grown past `maxBytes`. */
  push(item: T): void {
    this.items.push(item);
    this.bytes += this.sizeOf(item);
    if (this.bytes >= this.maxBytes) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate, not a microtask: it runs after every promise job of the turn, so all their writes join.
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Hands over what is queued now (nothing when empty). */
  flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    this.send(items);
  }

  /** Forgets what is queued (its stream is gone). */
  clear(): void {
    this.items = [];
    this.bytes = 0;
  }
}
