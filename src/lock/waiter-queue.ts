// One lock's FIFO queue of waiters (docs/design.md: cost follows the work): a doubly linked list in grant order with
// an index by session, so joining, the hand-off at the head and a cancel anywhere are O(1) at any queue length.

interface QueueNode<T> {
  readonly entry: T;
  previous: QueueNode<T> | null;
  next: QueueNode<T> | null;
}

/** A queue of entries in arrival order, each keyed by its session (a session waits at most once per lock). */
export class WaiterQueue<T extends { readonly sessionId: string }> {
  private first: QueueNode<T> | null = null;
  private last: QueueNode<T> | null = null;
  private readonly bySession = new Map<string, QueueNode<T>>();

  /** A queue holding `entries` in the order given; throws a TypeError when a session appears twice. */
  static from<T extends { readonly sessionId: string }>(entries: Iterable<T>): WaiterQueue<T> {
    const queue = new WaiterQueue<T>();
    for (const entry of entries) queue.push(entry);
    return queue;
  }

  get length(): number {
    return this.bySession.size;
  }

  /** The entry at the head (granted next), or undefined when empty: O(1). */
  head(): T | undefined {
    return this.first?.entry;
  }

  /** The entry at the tail (joined last), or undefined when empty: O(1). */
  tail(): T | undefined {
    return this.last?.entry;
  }

  /** Appends `entry` at the tail: O(1). Throws a TypeError when its session already waits here. */
  push(entry: T): void {
    if (this.bySession.has(entry.sessionId)) {
      throw new TypeError(`session ${entry.sessionId} already waits in this queue`);
    }
    const node: QueueNode<T> = { entry, previous: this.last, next: null };
    if (this.last === null) this.first = node;
    else this.last.next = node;
    this.last = node;
    this.bySession.set(entry.sessionId, node);
  }

  /** Removes and returns the head, or undefined when empty: O(1). */
  shift(): T | undefined {
    const node = this.first;
    if (node === null) return undefined;
    this.unlink(node);
    return node.entry;
  }

  /** The entry of `sessionId`, or undefined: O(1). */
  get(sessionId: string): T | undefined {
    return this.bySession.get(sessionId)?.entry;
  }

  /** The entry just ahead of `sessionId`'s (undefined at the head or when it does not wait here): O(1). */
  ahead(sessionId: string): T | undefined {
    return this.bySession.get(sessionId)?.previous?.entry;
  }

  /** Removes and returns the entry of `sessionId`, or undefined when it does not wait here: O(1). */
  remove(sessionId: string): T | undefined {
    const node = this.bySession.get(sessionId);
    if (node === undefined) return undefined;
    this.unlink(node);
    return node.entry;
  }

  /**
   * The 0-based position of the first entry satisfying `matches`, or -1: O(position). Only a retried acquire that is
   * still queued asks (to be told its place again), never the grant or cancel paths.
   */
  findIndex(matches: (entry: T) => boolean): number {
    let index = 0;
    for (let node = this.first; node !== null; node = node.next, index += 1) if (matches(node.entry)) return index;
    return -1;
  }

  /** The entries from head to tail. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let node = this.first; node !== null; node = node.next) yield node.entry;
  }

  /** The entries from head to tail, as a new array. */
  toArray(): T[] {
    return [...this];
  }

  /** `transform` applied to each entry from head to tail. */
  map<U>(transform: (entry: T) => U): U[] {
    const out: U[] = [];
    for (let node = this.first; node !== null; node = node.next) out.push(transform(node.entry));
    return out;
  }

  private unlink(node: QueueNode<T>): void {
    if (node.previous === null) this.first = node.next;
    else node.previous.next = node.next;
    if (node.next === null) this.last = node.previous;
    else node.next.previous = node.previous;
    node.previous = null;
    node.next = null;
    this.bySession.delete(node.entry.sessionId);
  }
}
