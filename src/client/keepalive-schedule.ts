// When a session's next keepalive is due: one at once when a stream opens (or resumes), then one every interval the
// leader names (docs/design.md, principle 2: the leader's guarantee sets it), counted from the last one; an answer
// naming a new interval restarts the count from its arrival; none while no stream is open. Pure (time passed in as
// ms): the SDK's SessionConnection arms its timer from it, and the lock simulator's clients poll it.

/** The keepalive timetable of one session connection. */
export class KeepaliveSchedule {
  private intervalMs = 0;
  private dueAtMs: number | null = null;
  private open = false;

  /** A stream opened (or resumed) with the leader's interval: a keepalive is due at once. */
  opened(intervalMs: number, nowMs: number): void {
    this.open = true;
    this.intervalMs = intervalMs;
    this.dueAtMs = nowMs;
  }

  /** A keepalive's turn came at `nowMs` (sent, or deferred by a full stream): the next is due one interval later. */
  turnTaken(nowMs: number): void {
    this.dueAtMs = this.open && this.intervalMs > 0 ? nowMs + this.intervalMs : null;
  }

  /**
   * An answer named `intervalMs` at `nowMs`: a positive interval other than the current one is counted from now.
   * Returns whether the next keepalive's time moved.
   */
  intervalAnswered(intervalMs: number, nowMs: number): boolean {
    if (!(intervalMs > 0) || intervalMs === this.intervalMs) return false;
    this.intervalMs = intervalMs;
    if (!this.open) return false;
    this.dueAtMs = nowMs + intervalMs;
    return true;
  }

  /** The stream closed: nothing is due until one opens again. */
  closed(): void {
    this.open = false;
    this.dueAtMs = null;
  }

  /** When the next keepalive is due (ms, the caller's clock), or null when none is. */
  get nextDueAtMs(): number | null {
    return this.dueAtMs;
  }

  /** Whether a keepalive is due at `nowMs`. */
  isDue(nowMs: number): boolean {
    return this.dueAtMs !== null && nowMs >= this.dueAtMs;
  }
}
