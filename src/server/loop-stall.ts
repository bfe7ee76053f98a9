// Test-only overload of the node itself (`--test-fault-injection`, POST /test/faults {stallMs, periodMs}): a busy loop
// of a measured length keeps the event loop from running for `stallMs` out of every `periodMs`, so the load signal
// (the event-loop delay the SPM reads as overload) sees an overload of a known size whatever the machine's speed,
// unlike stopping the process from outside, whose effect depends on how promptly the tester's own timers run.

/** How the node's event loop is stalled. */
export interface LoopStallFault {
  /** How long each stall keeps the event loop busy, in ms. */
  readonly stallMs: number;
  /** How often a stall begins, in ms (more than `stallMs`: the loop runs in between). */
  readonly periodMs: number;
}

/** The longest stall a test may ask for: well under the 1 s minimum election timeout, so a leader keeps its office. */
export const MAX_STALL_MS = 800;

/** Checks a stall's numbers; throws RangeError naming what is wrong. */
export function checkLoopStallFault(fault: LoopStallFault): LoopStallFault {
  const { stallMs, periodMs } = fault;
  if (!Number.isFinite(stallMs) || stallMs <= 0 || stallMs > MAX_STALL_MS) {
    throw new RangeError(`stallMs must be a number of ms from 1 to ${MAX_STALL_MS}, got ${stallMs}`);
  }
  if (!Number.isFinite(periodMs) || periodMs <= stallMs || periodMs > 60_000) {
    throw new RangeError(`periodMs must be more than stallMs (${stallMs}) and at most 60000, got ${periodMs}`);
  }
  return fault;
}

/** Stalls this process's event loop on a schedule (a driver's timer; test-only). */
export class LoopStall {
  private timer: NodeJS.Timeout | null = null;

  /** @param nowMs a monotonic clock in ms, read by the busy loop */
  constructor(private readonly nowMs: () => number = () => performance.now()) {}

  /** Starts stalling as `fault` says (replacing any earlier stall), or stops with null. */
  set(fault: LoopStallFault | null): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (fault === null) return;
    const { stallMs, periodMs } = checkLoopStallFault(fault);
    this.timer = setInterval(() => this.busyFor(stallMs), periodMs);
    this.timer.unref();
  }

  /** Keeps the event loop busy for `ms` by the clock, however fast the machine runs the loop's body. */
  busyFor(ms: number): void {
    const endMs = this.nowMs() + ms;
    while (this.nowMs() < endMs) {
      // Busy: nothing else runs on this event loop meanwhile.
    }
  }
}
