// Per-session memory of recent request results, so a retried (session, requestSeq) is applied once (Raft thesis §6.3).
import type { LockResult } from './commands.js';

/** The serialized form of a DedupWindow (part of the lock snapshot). */
export interface DedupWindowData {
  readonly results: readonly (readonly [number, LockResult])[];
  /** The highest sequence number forgotten so far (-1 when none). */
  readonly forgottenUpToSeq: number;
}

/** The results of a session's last `capacity` requests, oldest forgotten first. */
export class DedupWindow {
  private readonly results = new Map<number, LockResult>();
  private forgottenUpToSeq = -1;

  constructor(private readonly capacity: number) {}

  /** The remembered result of `requestSeq`, or undefined. */
  get(requestSeq: number): LockResult | undefined {
    return this.results.get(requestSeq);
  }

  /** Whether `requestSeq` is too old to be remembered and unknown: a retry that can no longer be answered. */
  isForgotten(requestSeq: number): boolean {
    return !this.results.has(requestSeq) && requestSeq <= this.forgottenUpToSeq;
  }

  /** Remembers the first result of `requestSeq`, forgetting the oldest beyond capacity. */
  remember(requestSeq: number, result: LockResult): void {
    this.results.set(requestSeq, result);
    while (this.results.size > this.capacity) {
      const oldest = this.results.keys().next().value as number;
      this.results.delete(oldest);
      this.forgottenUpToSeq = Math.max(this.forgottenUpToSeq, oldest);
    }
  }

  /** Replaces a remembered result in place (a queued acquire later granted or cancelled); no-op if forgotten. */
  update(requestSeq: number, result: LockResult): void {
    if (this.results.has(requestSeq)) this.results.set(requestSeq, result);
  }

  /** A copy for a snapshot. */
  toData(): DedupWindowData {
    return { results: [...this.results], forgottenUpToSeq: this.forgottenUpToSeq };
  }

  /** A window with a snapshot's contents. */
  static fromData(capacity: number, data: DedupWindowData): DedupWindow {
    const window = new DedupWindow(capacity);
    for (const [requestSeq, result] of data.results) window.results.set(requestSeq, result);
    window.forgottenUpToSeq = data.forgottenUpToSeq;
    return window;
  }
}
