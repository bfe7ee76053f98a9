// Time for deterministic cores: every core takes a Clock; only drivers use the system one.

/** A source of time in milliseconds. Cores never read `Date.now()` directly. */
export interface Clock {
  /** Milliseconds since the epoch (or since the simulation began, in virtual time). */
  now(): number;
}

/** The real wall clock, for drivers only. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock the caller moves by hand: the simulator's virtual time and the unit tests' fixed time. */
export class ManualClock implements Clock {
  constructor(private nowMs = 0) {}

  now(): number {
    return this.nowMs;
  }

  /** Moves time forward by `ms` (never backward). */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError(`a clock only moves forward, got ${ms} ms`);
    this.nowMs += ms;
  }

  /** Sets the time to `ms`, which must not be earlier than now. */
  set(ms: number): void {
    if (ms < this.nowMs) throw new RangeError(`a clock only moves forward: ${ms} < ${this.nowMs}`);
    this.nowMs = ms;
  }
}
