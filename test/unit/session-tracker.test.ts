import { describe, expect, it } from 'vitest';
import { SessionTracker } from '../../src/session/tracker.js';

function trackerWith(sessions: Record<string, { ttlMs: number; atMs: number }>): SessionTracker {
  const tracker = new SessionTracker();
  for (const [sessionId, { ttlMs, atMs }] of Object.entries(sessions)) tracker.opened(sessionId, ttlMs, atMs);
  return tracker;
}

describe('promisedUntil', () => {
  it.each([
    // [answers as [sentAtMs, guaranteeMs], expected promisedUntil]
    [[], 10_000],
    [[[3_000, 10_000]], 13_000],
    [
      [
        [3_000, 10_000],
        [6_000, 10_000],
      ],
      16_000,
    ],
    [
      [
        [6_000, 10_000],
        [7_000, 3_000],
      ],
      16_000,
    ], // a shorter guarantee never takes back a promise
    [[[9_000, 3_000]], 12_000],
    [[[9_999, 10_000]], 19_999],
  ] as [number[][], number][])('after answers %j it is %i', (answers, expected) => {
    const tracker = trackerWith({ s: { ttlMs: 10_000, atMs: 0 } });
    for (const [sentAtMs, guaranteeMs] of answers) tracker.keepaliveAnswered('s', sentAtMs!, guaranteeMs!);
    expect(tracker.promisedUntil('s')).toBe(expected);
  });

  it('does not renew a session whose promise has passed or that it does not know', () => {
    const tracker = trackerWith({ s: { ttlMs: 10_000, atMs: 0 } });
    expect(tracker.keepaliveAnswered('s', 10_000, 10_000)).toBeNull();
    expect(tracker.promisedUntil('s')).toBe(10_000);
    expect(tracker.keepaliveAnswered('ghost', 1, 10_000)).toBeNull();
  });
});

describe('expiry', () => {
  it.each([
    [9_999, []],
    [10_000, ['a']],
    [14_999, ['a']],
    [15_000, ['a', 'b']],
  ])('at %i ms the expired sessions are %j', (nowMs, expected) => {
    const tracker = trackerWith({ a: { ttlMs: 10_000, atMs: 0 }, b: { ttlMs: 5_000, atMs: 10_000 } });
    expect(tracker.expiredAt(nowMs)).toEqual(expected);
  });

  it('forgets a session that ended', () => {
    const tracker = trackerWith({ a: { ttlMs: 10_000, atMs: 0 } });
    tracker.requestRevocation('x', 1n, 'a', 20_000, false);
    tracker.ended('a');
    expect(tracker.expiredAt(99_999)).toEqual([]);
    expect(tracker.revocation('x', 'a')).toBeUndefined();
    expect(tracker.nextDeadlineMs()).toBeNull();
  });

  it('adds the time a deposed leader may still answer keepalives', () => {
    const tracker = new SessionTracker({ deposedLeaderOverhangMs: 2_000 });
    tracker.becameLeader(50_000, [{ sessionId: 'a', ttlMs: 10_000 }]);
    expect(tracker.promisedUntil('a')).toBe(62_000);
    expect(tracker.expiredAt(61_999)).toEqual([]);
  });

  it('keeps a longer promise it made itself before taking office', () => {
    const tracker = new SessionTracker({ deposedLeaderOverhangMs: 2_000 });
    // Answered while taking office: a lease stretched to 20 s for a slow client clock.
    tracker.opened('a', 10_000, 49_000);
    expect(tracker.keepaliveAnswered('a', 49_000, 20_000)).toBe(69_000);
    tracker.opened('b', 10_000, 49_000);
    tracker.becameLeader(50_000, [
      { sessionId: 'a', ttlMs: 10_000 },
      { sessionId: 'b', ttlMs: 10_000 },
    ]);
    expect(tracker.promisedUntil('a')).toBe(69_000);
    expect(tracker.promisedUntil('b')).toBe(62_000);
    expect(tracker.expiredAt(68_999)).toEqual(['b']);
    expect(tracker.expiredAt(69_000)).toEqual(['a', 'b']);
  });

  it('gives every session one full TTL from the moment a node becomes leader', () => {
    const tracker = trackerWith({ old: { ttlMs: 10_000, atMs: 0 } });
    tracker.requestRevocation('x', 1n, 'old', 1_000, true);
    tracker.becameLeader(50_000, [
      { sessionId: 'a', ttlMs: 10_000 },
      { sessionId: 'b', ttlMs: 2_000 },
    ]);
    expect(tracker.promisedUntil('a')).toBe(60_000);
    expect(tracker.promisedUntil('b')).toBe(52_000);
    expect(tracker.promisedUntil('old')).toBeUndefined();
    expect(tracker.dueRevocations(99_999)).toEqual([]);
    expect(tracker.expiredAt(59_999)).toEqual(['b']);
  });
});

describe('revocation deadlines', () => {
  it.each([
    // [label, fenced, deadlineMs, expected revokeAtMs] with promisedUntil 16_000 at the request
    ['ordinary, deadline before the promise: the promise', false, 12_000, 16_000],
    ['ordinary, deadline after the promise: the deadline', false, 20_000, 20_000],
    ['ordinary, operator revoke now: the end of the promise', false, 7_000, 16_000],
    ['fenced, deadline before the promise: the deadline', true, 12_000, 12_000],
    ['fenced, operator revoke now: now', true, 7_000, 7_000],
  ] as const)('%s', (_label, fenced, deadlineMs, expected) => {
    const tracker = trackerWith({ s: { ttlMs: 10_000, atMs: 0 } });
    tracker.keepaliveAnswered('s', 6_000, 10_000);
    expect(tracker.requestRevocation('x', 4n, 's', deadlineMs, fenced)).toBe(expected);
    expect(tracker.dueRevocations(expected - 1)).toEqual([]);
    expect(tracker.dueRevocations(expected)).toEqual([
      { lockName: 'x', sessionId: 's', token: 4n, fenced, revokeAtMs: expected },
    ]);
  });

  it('stops extending the lock once requested, while the session itself keeps renewing', () => {
    const tracker = trackerWith({ s: { ttlMs: 10_000, atMs: 0 } });
    tracker.requestRevocation('x', 4n, 's', 3_000, false); // promise 10_000 at the request
    tracker.keepaliveAnswered('s', 8_000, 10_000);
    expect(tracker.promisedUntil('s')).toBe(18_000);
    expect(tracker.dueRevocations(10_000).map((r) => r.lockName)).toEqual(['x']);
    // A second request keeps the frozen promise and can only bring the revocation forward.
    expect(tracker.requestRevocation('x', 4n, 's', 30_000, false)).toBe(10_000);
    expect(tracker.revocation('x', 's')).toMatchObject({ deadlineMs: 3_000, lockPromisedUntilMs: 10_000 });
  });

  it('treats a request for a new grant of the same lock afresh and drops revocations once done', () => {
    const tracker = trackerWith({ s: { ttlMs: 10_000, atMs: 0 } });
    tracker.requestRevocation('x', 4n, 's', 3_000, false);
    tracker.keepaliveAnswered('s', 8_000, 10_000);
    expect(tracker.requestRevocation('x', 9n, 's', 3_000, false)).toBe(18_000);
    tracker.revocationDone('x', 's');
    expect(tracker.dueRevocations(99_999)).toEqual([]);
    expect(tracker.nextDeadlineMs()).toBe(18_000);
  });

  it('orders due revocations by time and refuses untracked sessions', () => {
    const tracker = trackerWith({ a: { ttlMs: 10_000, atMs: 0 }, b: { ttlMs: 10_000, atMs: 0 } });
    tracker.requestRevocation('x', 1n, 'a', 12_000, true);
    tracker.requestRevocation('y', 2n, 'b', 11_000, true);
    expect(tracker.nextDeadlineMs()).toBe(10_000);
    expect(tracker.dueRevocations(20_000).map((r) => r.lockName)).toEqual(['y', 'x']);
    expect(() => tracker.requestRevocation('z', 3n, 'ghost', 1, true)).toThrow(
      expect.objectContaining({ code: 'SESSION_NOT_TRACKED', retriable: false }),
    );
  });
});
