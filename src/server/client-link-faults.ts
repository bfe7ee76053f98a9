// Test-only latency on client links (`--test-fault-injection`): frames from a named client are held back before the
// node handles them, as a slow network would deliver them, in order.

/** Added latency for one client's frames. */
export interface ClientLinkFault {
  /** Delay before each frame is handled, in ms. */
  readonly delayMs: number;
  /** Uniform extra delay in [0, jitterMs) per frame (order is kept: a frame never overtakes an earlier one). */
  readonly jitterMs: number;
}

/** The client links' faults, by client name (the `client_name` of the session's open or resume frame). */
export class ClientLinkFaults {
  private readonly faults = new Map<string, ClientLinkFault>();

  /** @param random uniform in [0, 1): the jitter's source (a driver's, never a core's) */
  constructor(private readonly random: () => number = Math.random) {}

  /** Sets (or, with null, clears) the fault of `clientName`'s link. */
  set(clientName: string, fault: ClientLinkFault | null): void {
    if (fault === null) this.faults.delete(clientName);
    else this.faults.set(clientName, fault);
  }

  /** How long the next frame from `clientName` is held back (0 when its link has no fault). */
  delayMs(clientName: string): number {
    const fault = this.faults.get(clientName);
    if (fault === undefined) return 0;
    return fault.delayMs + fault.jitterMs * this.random();
  }
}

/**
 * Delivers items in arrival order, each no sooner than its own delay after it arrived: a FIFO link with latency.
 * With no delay and nothing waiting, an item is delivered at once.
 */
export class DelayedDelivery<T> {
  private readonly waiting: { item: T; dueMs: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastDueMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deliver: (item: T) => void,
    private readonly now: () => number,
  ) {}

  /** Takes an item that arrived now and should be delivered `delayMs` later (never before earlier items). */
  push(item: T, delayMs: number): void {
    if (delayMs <= 0 && this.waiting.length === 0) {
      this.deliver(item);
      return;
    }
    const dueMs = Math.max(this.now() + delayMs, this.lastDueMs);
    this.lastDueMs = dueMs;
    this.waiting.push({ item, dueMs });
    this.schedule();
  }

  /** Drops everything still waiting (the stream ended). */
  clear(): void {
    this.waiting.length = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer !== null || this.waiting.length === 0) return;
    const first = this.waiting[0] as { dueMs: number };
    this.timer = setTimeout(() => this.flush(), Math.max(0, first.dueMs - this.now()));
  }

  private flush(): void {
    this.timer = null;
    const nowMs = this.now();
    while (this.waiting.length > 0 && (this.waiting[0] as { dueMs: number }).dueMs <= nowMs) {
      this.deliver((this.waiting.shift() as { item: T }).item);
    }
    this.schedule();
  }
}
