// The tracker finds expired sessions through a heap of deadlines: it must answer exactly what a scan of every
// session would, in tracking order, whatever the sequence of opens, renewals, ends and clock steps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionTracker } from '../../src/session/tracker.js';
import { MinHeap } from '../../src/util/min-heap.js';

/** The plain scan the heap replaces. */
class ScanTracker {
  readonly sessions = new Map<string, { promisedUntilMs: number }>();

  opened(sessionId: string, ttlMs: number, nowMs: number): void {
    this.sessions.set(sessionId, { promisedUntilMs: nowMs + ttlMs });
  }

  keepaliveAnswered(sessionId: string, atMs: number, leaseMs: number): number | null {
    const session = this.sessions.get(sessionId);
    if (!session || atMs >= session.promisedUntilMs) return null;
    session.promisedUntilMs = Math.max(session.promisedUntilMs, atMs + leaseMs);
    return session.promisedUntilMs;
  }

  expiredAt(nowMs: number): string[] {
    return [...this.sessions].filter(([, session]) => session.promisedUntilMs <= nowMs).map(([sessionId]) => sessionId);
  }

  nextDeadlineMs(): number | null {
    const all = [...this.sessions.values()].map((session) => session.promisedUntilMs);
    return all.length === 0 ? null : Math.min(...all);
  }
}

type Op =
  | { kind: 'open'; session: number; ttlMs: number }
  | { kind: 'renew'; session: number; leaseMs: number; lateByMs: number }
  | { kind: 'end'; session: number }
  | { kind: 'advance'; byMs: number }
  | { kind: 'expired' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('open' as const),
    session: fc.integer({ min: 0, max: 7 }),
    ttlMs: fc.integer({ min: 1, max: 5_000 }),
  }),
  fc.record({
    kind: fc.constant('renew' as const),
    session: fc.integer({ min: 0, max: 7 }),
    leaseMs: fc.integer({ min: 0, max: 5_000 }),
    lateByMs: fc.integer({ min: 0, max: 5_000 }),
  }),
  fc.record({ kind: fc.constant('end' as const), session: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('advance' as const), byMs: fc.integer({ min: 0, max: 3_000 }) }),
  fc.constant({ kind: 'expired' as const }),
);

describe('SessionTracker expiry', () => {
  it('answers expiredAt and nextDeadlineMs exactly as a scan of every session would', () => {
    const seed = Number(process.env.FC_SEED ?? 20_261_207);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const tracker = new SessionTracker();
        const scan = new ScanTracker();
        let nowMs = 0;
        for (const step of ops) {
          const id = 'session' in step ? `s${step.session}` : '';
          if (step.kind === 'open') {
            tracker.opened(id, step.ttlMs, nowMs);
            scan.opened(id, step.ttlMs, nowMs);
          } else if (step.kind === 'renew') {
            expect(tracker.keepaliveAnswered(id, nowMs, step.leaseMs)).toBe(
              scan.keepaliveAnswered(id, nowMs, step.leaseMs),
            );
          } else if (step.kind === 'end') {
            tracker.ended(id);
            scan.sessions.delete(id);
          } else if (step.kind === 'advance') {
            nowMs += step.byMs;
          } else {
            expect(tracker.expiredAt(nowMs)).toEqual(scan.expiredAt(nowMs));
          }
          expect(tracker.nextDeadlineMs()).toBe(scan.nextDeadlineMs());
        }
        expect(tracker.expiredAt(nowMs)).toEqual(scan.expiredAt(nowMs));
      }),
      { seed, numRuns: 1_000 },
    );
  });

  it('keeps naming an expired session until the log ends it', () => {
    const tracker = new SessionTracker();
    tracker.opened('a', 1_000, 0);
    tracker.opened('b', 2_000, 0);
    expect(tracker.expiredAt(1_500)).toEqual(['a']);
    expect(tracker.expiredAt(1_600)).toEqual(['a']);
    expect(tracker.expiredAt(2_000)).toEqual(['a', 'b']);
    tracker.ended('a');
    expect(tracker.expiredAt(2_000)).toEqual(['b']);
  });
});

describe('SessionTracker expiry, a late renewal', () => {
  it('a renewal received before the promise passed, handled after the scan found it due, clears the expiry', () => {
    const tracker = new SessionTracker();
    tracker.opened('a', 1_000, 0);
    expect(tracker.expiredAt(1_500)).toEqual(['a']);
    expect(tracker.keepaliveAnswered('a', 900, 2_000)).toBe(2_900);
    expect(tracker.expiredAt(1_500)).toEqual([]);
    expect(tracker.nextDeadlineMs()).toBe(2_900);
  });
});

describe('MinHeap', () => {
  it('pops in key order whatever the pushes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000, max: 1_000 }), { maxLength: 300 }), (keys) => {
        const heap = new MinHeap<number>();
        for (const key of keys) heap.push(key, key);
        const popped: number[] = [];
        while (heap.size > 0) popped.push(heap.pop() as number);
        expect(popped).toEqual([...keys].sort((a, b) => a - b));
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});
