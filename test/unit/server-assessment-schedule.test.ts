// The leader's assessment schedule (issue 13): a held lock is due an assessment whenever one could act (its session's
// lapse bound or its hold's stuck bound above the quiet level, or the ladder holding it), and otherwise skipped.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssessmentSchedule, type QuietBounds } from '../../src/server/assessment-schedule.js';

interface Hold {
  readonly resource: string;
  readonly sessionId: string;
  readonly grantedAtMs: number;
}

/** Bounds that jump from 0 to 1 at a settable time per session (lapse) and per resource age (stuck). */
class StepBounds implements QuietBounds {
  readonly lapseFromMs = new Map<string, number>();
  readonly stuckFromAgeMs = new Map<string, number>();
  calls = 0;

  sessionLapse(sessionId: string, atMs: number): number {
    this.calls++;
    return atMs >= (this.lapseFromMs.get(sessionId) ?? Number.POSITIVE_INFINITY) ? 1 : 0;
  }

  stuckBound(resource: string, grantedAtMs: number, atMs: number): number {
    this.calls++;
    return atMs - grantedAtMs >= (this.stuckFromAgeMs.get(resource) ?? Number.POSITIVE_INFINITY) ? 1 : 0;
  }
}

/** StepBounds that also say which resources have a history: those given a stuck age (the others are never stuck). */
class HistoryStepBounds extends StepBounds {
  hasTrustedHistory(resource: string): boolean {
    return this.stuckFromAgeMs.has(resource);
  }
}

const hold = (resource: string, sessionId: string, grantedAtMs = 0): Hold => ({ resource, sessionId, grantedAtMs });

describe('AssessmentSchedule', () => {
  it('skips the locks of a quiet session, and has them due from before its lapse bound passes the quiet level', () => {
    const bounds = new StepBounds();
    bounds.lapseFromMs.set('s1', 5_100);
    const schedule = new AssessmentSchedule<Hold>(bounds, { stepMs: 250, horizonMs: 60_000 });
    const a = hold('a', 's1');
    const b = hold('b', 's1');
    schedule.holdStarted(a, 0);
    schedule.holdStarted(b, 0);
    expect(schedule.due(5_050)).toEqual([]);
    expect(schedule.due(5_100)).toEqual([a, b]); // woken within 1/16 of a step before 5,100: never late
    // A keepalive moves the session's lapse later: it sleeps again.
    bounds.lapseFromMs.set('s1', 8_500);
    schedule.sessionHeard('s1', 5_050);
    expect(schedule.due(5_100)).toEqual([]);
    expect(schedule.due(8_400)).toEqual([]);
    expect(schedule.due(8_500)).toEqual([a, b]);
  });

  it("has a hold due once its age passes its resource's history, and searches again when the history changes", () => {
    const bounds = new StepBounds();
    bounds.stuckFromAgeMs.set('r', 2_000);
    const schedule = new AssessmentSchedule<Hold>(bounds, { stepMs: 250, horizonMs: 60_000 });
    const old = hold('r', 's1', 1_000);
    const other = hold('q', 's2', 1_000);
    schedule.holdStarted(old, 1_000);
    schedule.holdStarted(other, 1_000);
    expect(schedule.due(2_700)).toEqual([]);
    expect(schedule.due(3_000)).toEqual([old]);
    bounds.stuckFromAgeMs.set('r', 10_000);
    schedule.historyChanged('r', 3_000);
    expect(schedule.due(3_000)).toEqual([]);
    expect(schedule.due(11_000)).toEqual([old]);
  });

  it('keeps a lock the ladder holds due at every pass until the ladder lets it go, and forgets ended holds', () => {
    const bounds = new StepBounds();
    const schedule = new AssessmentSchedule<Hold>(bounds, { stepMs: 250, horizonMs: 60_000 });
    const a = hold('a', 's1');
    const b = hold('b', 's2');
    schedule.holdStarted(a, 0);
    schedule.holdStarted(b, 0);
    schedule.settled(a, true);
    expect(schedule.due(100)).toEqual([a]);
    expect(schedule.isDue(a, 100)).toBe(true);
    expect(schedule.isDue(b, 100)).toBe(false);
    schedule.settled(a, false);
    expect(schedule.due(200)).toEqual([]);
    schedule.settled(b, true);
    schedule.holdEnded(b);
    expect(schedule.due(300)).toEqual([]);
    bounds.lapseFromMs.set('s1', 0);
    schedule.sessionEnded('s1');
    schedule.allChanged(400);
    expect(schedule.due(400)).toEqual([]);
    expect(schedule.size).toBe(0);
  });

  it('searches again when every input may have moved (a new office, overload beginning or ending)', () => {
    const bounds = new StepBounds();
    const schedule = new AssessmentSchedule<Hold>(bounds, { stepMs: 250, horizonMs: 60_000 });
    const a = hold('a', 's1');
    schedule.holdStarted(a, 0);
    bounds.lapseFromMs.set('s1', 1_000);
    expect(schedule.due(1_000)).toEqual([]); // not told: still asleep
    schedule.allChanged(1_000);
    expect(schedule.due(1_000)).toEqual([a]);
  });

  it('costs a bounded number of bound evaluations per event, not per pass', () => {
    const bounds = new StepBounds();
    const schedule = new AssessmentSchedule<Hold>(bounds, { stepMs: 250, horizonMs: 60_000 });
    for (let i = 0; i < 1_000; i++) schedule.holdStarted(hold(`r${i}`, `s${i % 10}`), 0);
    const afterStart = bounds.calls;
    for (let t = 0; t < 30_000; t += 250) expect(schedule.due(t)).toEqual([]);
    // Quiet all the way: each bound is searched again once, at the horizon's end (60 s), not at the passes.
    expect(bounds.calls).toBe(afterStart);
    expect(afterStart).toBeLessThanOrEqual((1_000 + 10) * 2);
  });

  it('spends no search and no wake on a hold whose resource has no history, until it has one', () => {
    const bounds = new HistoryStepBounds();
    const schedule = new AssessmentSchedule<Hold>(bounds, { stepMs: 250, horizonMs: 60_000 });
    const holds = Array.from({ length: 1_000 }, (_, i) => hold(`r${i}`, `s${i % 10}`));
    for (const h of holds) schedule.holdStarted(h, 0);
    // Only the ten sessions' lapse bounds were searched (twice each: now and at the horizon).
    expect(bounds.calls).toBe(10 * 2);
    for (let t = 0; t < 200_000; t += 250) expect(schedule.due(t)).toEqual([]);
    // The sessions were searched again at each horizon's end; the holds never.
    expect(bounds.calls).toBe(10 * 2 * 4);
    bounds.stuckFromAgeMs.set('r7', 210_000);
    schedule.historyChanged('r7', 200_000);
    expect(schedule.due(209_750)).toEqual([]);
    expect(schedule.due(210_000)).toEqual([holds[7]]);
  });

  it('never leaves out a lock whose bounds exceed the quiet level (random monotone bounds, events and passes)', () => {
    for (const Bounds of [StepBounds, HistoryStepBounds]) neverLeavesOutALoudLock(() => new Bounds());
  });
});

/** The schedule's one promise, checked on random monotone bounds, events and passes. */
function neverLeavesOutALoudLock(makeBounds: () => StepBounds): void {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          session: fc.integer({ min: 0, max: 1 }),
          resource: fc.integer({ min: 0, max: 2 }),
          // On a 50 ms grid over a few seconds, so that passes often fall just before and after a bound's step.
          atMs: fc.integer({ min: 0, max: 100 }).map((n) => n * 50),
          kind: fc.constantFrom('grant', 'heard', 'history', 'end', 'pass', 'ladder'),
          lapseFromMs: fc.integer({ min: 0, max: 60 }).map((n) => n * 50),
          stuckFromAgeMs: fc.integer({ min: 0, max: 60 }).map((n) => n * 50),
        }),
        { minLength: 20, maxLength: 80 },
      ),
      (steps) => {
        const bounds = makeBounds();
        const schedule = new AssessmentSchedule<Hold>(bounds, { stepMs: 250, horizonMs: 10_000 });
        const held = new Map<string, Hold>();
        const laddered = new Set<Hold>();
        let nowMs = 0;
        // Every session starts holding every resource, so that most events touch a held lock.
        for (const sessionId of ['s0', 's1']) {
          for (const resource of ['r0', 'r1', 'r2']) {
            const h = hold(resource, sessionId, 0);
            held.set(`${resource}/${sessionId}`, h);
            schedule.holdStarted(h, 0);
          }
        }
        for (const step of [...steps].sort((x, y) => x.atMs - y.atMs)) {
          nowMs = step.atMs;
          const sessionId = `s${step.session}`;
          const resource = `r${step.resource}`;
          const key = `${resource}/${sessionId}`;
          switch (step.kind) {
            case 'grant': {
              if (held.has(key)) break;
              const h = hold(resource, sessionId, nowMs);
              held.set(key, h);
              schedule.holdStarted(h, nowMs);
              break;
            }
            case 'heard':
              // A session event sets a new lapse bound (never earlier than now: the past is what it is).
              bounds.lapseFromMs.set(sessionId, nowMs + step.lapseFromMs);
              schedule.sessionHeard(sessionId, nowMs);
              break;
            case 'history':
              bounds.stuckFromAgeMs.set(resource, step.stuckFromAgeMs);
              schedule.historyChanged(resource, nowMs);
              break;
            case 'end': {
              const h = held.get(key);
              if (h === undefined) break;
              held.delete(key);
              laddered.delete(h);
              schedule.holdEnded(h);
              break;
            }
            case 'ladder': {
              const h = held.get(key);
              if (h === undefined) break;
              const pending = !laddered.has(h);
              if (pending) laddered.add(h);
              else laddered.delete(h);
              schedule.settled(h, pending);
              break;
            }
            case 'pass': {
              const due = new Set(schedule.due(nowMs));
              for (const h of held.values()) {
                const loud =
                  bounds.sessionLapse(h.sessionId, nowMs) > 0.1 ||
                  bounds.stuckBound(h.resource, h.grantedAtMs, nowMs) > 0.1 ||
                  laddered.has(h);
                if (loud) expect(due.has(h)).toBe(true);
              }
              for (const h of due) expect([...held.values()]).toContain(h);
              break;
            }
          }
        }
      },
    ),
    { seed: Number(process.env.FC_SEED ?? 13), numRuns: 500 },
  );
}
