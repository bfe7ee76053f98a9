// What the channels of one Sessions stream are sending, queued per channel and written as batches: a turn's events
// leave together at the end of the turn, the channels take turns in every batch (one event each, round robin), and
// nothing is written while the stream's own write() says its buffer is full until it drains. Each channel's queue is
// bounded: past its high-water mark the channel's write() answers false, past its limit the channel is refused. The
// Sessions stream's two ends use it (server/session-mux.ts, client/session-mux.ts), so that one busy session neither
// starves the others nor grows memory without bound (docs/design.md, flow control on the shared stream).

/** A batch this large is written at once rather than at the end of the turn. */
export const MAX_BATCH_BYTES = 256 * 1024;
/** A channel with this many bytes queued is asked to wait: its write() answers false until it drains. */
export const CHANNEL_HIGH_WATER_BYTES = 64 * 1024;
/** A channel that queues more than this (it ignored write()'s false) is refused: the caller ends it. */
export const CHANNEL_LIMIT_BYTES = 1024 * 1024;

/** Options of a ChannelOutbox. */
export interface ChannelOutboxOptions<T> {
  /** About how many bytes an item adds to its batch. */
  readonly sizeOf: (item: T) => number;
  /** Writes one batch on the stream; false when the stream's buffer is full (then nothing more until `drained()`). */
  readonly writeBatch: (items: T[]) => boolean;
  /** A channel that was over its high-water mark is below it again: its writer may go on. */
  readonly onChannelDrain?: (channel: number) => void;
  readonly maxBatchBytes?: number;
  readonly channelHighWaterBytes?: number;
  readonly channelLimitBytes?: number;
}

/** What became of a pushed item. */
export type PushResult =
  /** Queued; the channel may go on writing. */
  | 'queued'
  /** Queued, and the channel is at its high-water mark: it should wait for its drain. */
  | 'full'
  /** Not queued: the channel is over its limit (its queue is dropped; the caller ends the channel). */
  | 'refused';

/** One channel's queued items. */
class ChannelQueue<T> {
  items: T[] = [];
  head = 0;
  bytes = 0;
  /** Its writer was told to wait (a push answered 'full') and has not been told to go on. */
  waiting = false;
  /** Its last word is queued: the queue is forgotten once it is empty. */
  final = false;

  constructor(readonly channel: number) {}

  get empty(): boolean {
    return this.head >= this.items.length;
  }

  take(): T {
    const item = this.items[this.head++]!;
    if (this.empty) {
      // The array is kept for the channel's next turn (a queue lives as long as its channel).
      this.items.length = 0;
      this.head = 0;
    }
    return item;
  }
}

/** The send side of one Sessions stream: per-channel bounded queues, written fairly as the stream drains. */
export class ChannelOutbox<T> {
  private readonly queues = new Map<number, ChannelQueue<T>>();
  /** Channels with items queued, in the order they take their turns. */
  private ready: ChannelQueue<T>[] = [];
  private totalBytes = 0;
  /** The stream's last write answered false and it has not drained since. */
  private blocked = false;
  private scheduled = false;
  private flushing = false;
  private readonly maxBatchBytes: number;
  private readonly channelHighWaterBytes: number;
  /** Bytes a channel may queue; past them its push is refused. */
  readonly channelLimitBytes: number;

  constructor(private readonly options: ChannelOutboxOptions<T>) {
    this.maxBatchBytes = options.maxBatchBytes ?? MAX_BATCH_BYTES;
    this.channelHighWaterBytes = options.channelHighWaterBytes ?? CHANNEL_HIGH_WATER_BYTES;
    this.channelLimitBytes = options.channelLimitBytes ?? CHANNEL_LIMIT_BYTES;
  }

  /** Bytes queued and not yet written, over every channel. */
  get queuedBytes(): number {
    return this.totalBytes;
  }

  /** Bytes queued for `channel`. */
  queuedBytesOf(channel: number): number {
    return this.queues.get(channel)?.bytes ?? 0;
  }

  /** Whether the stream's buffer is full (written batches wait for its drain). */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Queues `item` of `channel`; it leaves at the end of the turn, or at once when a batch's worth is queued. */
  push(channel: number, item: T): PushResult {
    const size = this.options.sizeOf(item);
    const queued = this.queues.get(channel);
    if (queued !== undefined && queued.bytes + size > this.channelLimitBytes) {
      this.drop(channel);
      return 'refused';
    }
    const queue = this.enqueue(queued ?? this.newQueue(channel), item, size);
    if (queue.bytes < this.channelHighWaterBytes) return 'queued';
    queue.waiting = true;
    return 'full';
  }

  /**
   * Queues `item` of `channel` whatever its queue holds: a channel's last word (its end or its cancel), one small item
   * past the limit at most.
   */
  pushFinal(channel: number, item: T): void {
    const queue = this.queues.get(channel) ?? this.newQueue(channel);
    queue.final = true;
    this.enqueue(queue, item, this.options.sizeOf(item));
  }

  private newQueue(channel: number): ChannelQueue<T> {
    const queue = new ChannelQueue<T>(channel);
    this.queues.set(channel, queue);
    return queue;
  }

  private enqueue(queue: ChannelQueue<T>, item: T, size: number): ChannelQueue<T> {
    if (queue.empty) this.ready.push(queue);
    queue.items.push(item);
    queue.bytes += size;
    this.totalBytes += size;
    if (this.totalBytes >= this.maxBatchBytes) this.flush();
    else this.schedule();
    return queue;
  }

  /** Forgets `channel` and what it has queued (it ended, was cancelled or was refused). */
  drop(channel: number): void {
    const queue = this.queues.get(channel);
    if (queue === undefined) return;
    this.queues.delete(channel);
    this.totalBytes -= queue.bytes;
    if (!queue.empty) this.ready = this.ready.filter((ready) => ready !== queue);
  }

  /** The stream drained ('drain'): writing goes on. */
  drained(): void {
    this.blocked = false;
    this.flush();
  }

  /**
   * Writes batches while the stream takes them. A channel told it may go on hears so after the batch that made room
   * is written; what it writes then joins this flush (re-entrant calls return at once), so batches keep their order.
   */
  flush(): void {
    this.writeBatches(false);
  }

  /** Writes everything queued whatever the stream says (it is about to end): bounded by the channels' limits. */
  flushAll(): void {
    this.writeBatches(true);
  }

  private writeBatches(ignoreBackpressure: boolean): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while ((ignoreBackpressure || !this.blocked) && this.ready.length > 0) {
        const drainedChannels: number[] = [];
        if (!this.options.writeBatch(this.nextBatch(drainedChannels))) this.blocked = true;
        for (const channel of drainedChannels) this.options.onChannelDrain?.(channel);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Forgets everything (the stream is gone; a new one starts unblocked). */
  clear(): void {
    this.queues.clear();
    this.ready = [];
    this.totalBytes = 0;
    this.blocked = false;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: it runs after every promise job of the turn, so all their writes join.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Up to a batch's worth of items, one per ready channel per round; adds the channels now below high water. */
  private nextBatch(drainedChannels: number[]): T[] {
    const batch: T[] = [];
    let bytes = 0;
    const ready = this.ready;
    while (ready.length > 0 && bytes < this.maxBatchBytes) {
      // One round: each ready channel gives one item; the ones left with items keep their places (compacted).
      let kept = 0;
      for (let i = 0; i < ready.length; i++) {
        const queue = ready[i]!;
        if (bytes >= this.maxBatchBytes) {
          ready[kept++] = queue;
          continue;
        }
        const item = queue.take();
        const size = this.options.sizeOf(item);
        batch.push(item);
        bytes += size;
        queue.bytes -= size;
        this.totalBytes -= size;
        if (!queue.empty) ready[kept++] = queue;
        else if (queue.final && this.queues.get(queue.channel) === queue) this.queues.delete(queue.channel);
        if (queue.waiting && queue.bytes < this.channelHighWaterBytes) {
          queue.waiting = false;
          drainedChannels.push(queue.channel);
        }
      }
      ready.length = kept;
    }
    return batch;
  }
}
