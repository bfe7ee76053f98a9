// When the SDK (and the lock simulator's clients) stop trusting a held lock or the session: at their safe deadlines.
import { describe, expect, it } from 'vitest';
import { lapsedAt, nextLapseAtMs } from '../../src/client/safety-lapse.js';

const locks = [
  { name: 'a', safeUntilMs: 1_000 },
  { name: 'b', safeUntilMs: 1_500 },
];

describe('lapsedAt', () => {
  it.each([
    { nowMs: 999, lost: [], session: false },
    { nowMs: 1_000, lost: ['a'], session: false },
    { nowMs: 1_500, lost: ['a', 'b'], session: false },
    { nowMs: 2_000, lost: ['a', 'b'], session: true },
  ])(
    'at $nowMs ms (session safe until 2,000): locks $lost lost, session lapsed $session',
    ({ nowMs, lost, session }) => {
      expect(lapsedAt(nowMs, 2_000, locks)).toEqual({ locks: lost, session });
    },
  );

  it('holds nothing lapsed with no locks and a session safe until later', () => {
    expect(lapsedAt(5, 10, [])).toEqual({ locks: [], session: false });
  });
});

describe('nextLapseAtMs', () => {
  it.each([
    { case: 'the earliest lock deadline', sessionMs: 2_000, held: locks, next: 1_000 },
    { case: "the session's deadline when it comes first", sessionMs: 800, held: locks, next: 800 },
    { case: "the session's deadline with no locks", sessionMs: 2_000, held: [], next: 2_000 },
    {
      case: 'nothing before any guarantee',
      sessionMs: Number.NEGATIVE_INFINITY,
      held: [],
      next: Number.NEGATIVE_INFINITY,
    },
  ])('is $case', ({ sessionMs, held, next }) => {
    expect(nextLapseAtMs(sessionMs, held)).toBe(next);
  });
});
