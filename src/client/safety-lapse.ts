// When the SDK stops trusting what it holds (docs/design.md, principle 2; Chubby's jeopardy): a held lock whose safe
// deadline has passed is lost (and handed back, in case the session still lives), and a session whose own deadline
// passed with no renewal is treated as expired. Pure (deadlines and the time are ms on the client's clock): the SDK's
// Client and the lock simulator's clients both decide with it (docs/design.md, "Simulation").

/** A held lock and its safe deadline (SafePeriodTracker.lockSafeUntilMs). */
export interface LockDeadline {
  readonly name: string;
  readonly safeUntilMs: number;
}

/** What has lapsed at a moment. */
export interface Lapse {
  /** The held locks past their safe deadline, in the order given. */
  readonly locks: string[];
  /** The session's own safe deadline has passed. */
  readonly session: boolean;
}

/** What has lapsed at `nowMs`, given the session's safe deadline and each held lock's. */
export function lapsedAt(nowMs: number, sessionSafeUntilMs: number, locks: Iterable<LockDeadline>): Lapse {
  const lapsed: string[] = [];
  for (const { name, safeUntilMs } of locks) if (nowMs >= safeUntilMs) lapsed.push(name);
  return { locks: lapsed, session: nowMs >= sessionSafeUntilMs };
}

/**
 * When to look next: the earliest of the session's and the locks' safe deadlines. Not finite (no guarantee yet, or
 * none to watch): nothing to look for.
 */
export function nextLapseAtMs(sessionSafeUntilMs: number, locks: Iterable<LockDeadline>): number {
  let earliestMs = sessionSafeUntilMs;
  for (const { safeUntilMs } of locks) earliestMs = Math.min(earliestMs, safeUntilMs);
  return earliestMs;
}
