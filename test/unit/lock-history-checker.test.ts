import { describe, expect, it } from 'vitest';
import {
  checkLockHistory,
  type HistoryEvent,
  initialLockHistoryState,
  stepLockHistory,
} from '../../src/sim/lock-history-checker.js';

/** A correct history: queueing, FIFO grants with increasing tokens, a promise-respecting revocation, an expiry. */
const good: HistoryEvent[] = [
  { kind: 'promise', session: 'a', untilMs: 10_000, atMs: 0 },
  { kind: 'promise', session: 'b', untilMs: 10_000, atMs: 0 },
  { kind: 'promise', session: 'c', untilMs: 10_000, atMs: 0 },
  { kind: 'invoke', opId: 'a1', session: 'a', op: 'acquire', lock: 'x', mode: 'exclusive', atMs: 1 },
  { kind: 'grant', session: 'a', lock: 'x', mode: 'exclusive', token: 1n, fenced: false, atMs: 2 },
  { kind: 'ok', opId: 'a1', token: 1n, atMs: 3 },
  { kind: 'client-safe', session: 'a', lock: 'x', token: 1n, safeUntilMs: 9_800, atMs: 3 },
  { kind: 'invoke', opId: 'b1', session: 'b', op: 'acquire', lock: 'x', mode: 'shared', atMs: 4 },
  { kind: 'enqueue', session: 'b', lock: 'x', mode: 'shared', atMs: 5 },
  { kind: 'enqueue', session: 'c', lock: 'x', mode: 'shared', atMs: 6 },
  { kind: 'promise', session: 'a', untilMs: 14_000, atMs: 4_000 },
  { kind: 'revocation-requested', session: 'a', lock: 'x', token: 1n, atMs: 5_000 },
  { kind: 'promise', session: 'a', untilMs: 17_000, atMs: 7_000 }, // no longer extends lock x
  { kind: 'revoke', session: 'a', lock: 'x', token: 1n, forced: false, atMs: 14_000 },
  { kind: 'grant', session: 'b', lock: 'x', mode: 'shared', token: 2n, fenced: false, atMs: 14_000 },
  { kind: 'grant', session: 'c', lock: 'x', mode: 'shared', token: 3n, fenced: true, atMs: 14_000 },
  { kind: 'ok', opId: 'b1', token: 2n, atMs: 14_001 },
  { kind: 'invoke', opId: 'b2', session: 'b', op: 'release', lock: 'x', token: 2n, atMs: 15_000 },
  { kind: 'release', session: 'b', lock: 'x', token: 2n, atMs: 15_001 },
  { kind: 'ok', opId: 'b2', atMs: 15_002 },
  { kind: 'invoke', opId: 'b3', session: 'b', op: 'acquire', lock: 'y', mode: 'exclusive', atMs: 15_003 },
  { kind: 'ambiguous', opId: 'b3', atMs: 16_000 },
  { kind: 'expire', session: 'c', lock: 'x', token: 3n, atMs: 10_000 + 5_000 },
  { kind: 'invoke', opId: 'a2', session: 'a', op: 'acquire', lock: 'x', mode: 'exclusive', atMs: 16_000 },
  { kind: 'fail', opId: 'a2', code: 'LOCK_BUSY', atMs: 16_001 },
  { kind: 'grant', session: 'a', lock: 'x', mode: 'exclusive', token: 4n, fenced: true, atMs: 16_002 },
  // A fenced hold may be revoked at its deadline even though the notice did not reach the client.
  { kind: 'client-safe', session: 'a', lock: 'x', token: 4n, safeUntilMs: 20_000, atMs: 16_002 },
  { kind: 'revoke', session: 'a', lock: 'x', token: 4n, forced: false, atMs: 16_003 },
  { kind: 'grant', session: 'b', lock: 'x', mode: 'exclusive', token: 5n, fenced: false, atMs: 16_004 },
  { kind: 'revoke', session: 'b', lock: 'x', token: 5n, forced: true, atMs: 16_005 }, // --force
  // Its client has not heard yet: only token checks protect a forced revocation.
  { kind: 'client-safe', session: 'b', lock: 'x', token: 5n, safeUntilMs: 20_000, atMs: 16_006 },
];

function withEvents(...extra: HistoryEvent[]): HistoryEvent[] {
  return [...good, ...extra];
}

describe('a correct history', () => {
  it('has no violations', () => {
    expect(checkLockHistory(good)).toEqual([]);
  });

  it('is checked by a pure step that never changes the state it is given', () => {
    const before = initialLockHistoryState;
    const step = stepLockHistory(before, good[4]!, 4);
    expect(before.holders.size).toBe(0);
    expect(step.state.holders.get('x')).toHaveLength(1);
  });
});

describe('each violation is detected', () => {
  it.each<[string, HistoryEvent[], string, RegExp]>([
    [
      'two exclusive holders',
      [
        { kind: 'grant', session: 'c', lock: 'y', mode: 'exclusive', token: 10n, fenced: false, atMs: 20_000 },
        { kind: 'grant', session: 'a', lock: 'y', mode: 'exclusive', token: 11n, fenced: false, atMs: 20_001 },
      ],
      'EXCLUSIVE_OVERLAP',
      /"y" granted exclusive to a \(token 11\) while held by c exclusive \(token 10\)/,
    ],
    [
      'a shared grant beside an exclusive one',
      [
        { kind: 'grant', session: 'c', lock: 'y', mode: 'exclusive', token: 10n, fenced: false, atMs: 20_000 },
        { kind: 'grant', session: 'a', lock: 'y', mode: 'shared', token: 11n, fenced: false, atMs: 20_001 },
      ],
      'EXCLUSIVE_OVERLAP',
      /held by c exclusive/,
    ],
    [
      'a token that does not increase',
      [{ kind: 'grant', session: 'c', lock: 'x', mode: 'exclusive', token: 5n, fenced: false, atMs: 20_000 }],
      'TOKEN_NOT_INCREASING',
      /"x" granted token 5 to c after token 5/,
    ],
    [
      'a grant that passes a waiter',
      [
        { kind: 'grant', session: 'c', lock: 'z', mode: 'exclusive', token: 10n, fenced: false, atMs: 20_000 },
        { kind: 'enqueue', session: 'a', lock: 'z', mode: 'exclusive', atMs: 20_001 },
        { kind: 'enqueue', session: 'b', lock: 'z', mode: 'exclusive', atMs: 20_002 },
        { kind: 'release', session: 'c', lock: 'z', token: 10n, atMs: 20_003 },
        { kind: 'grant', session: 'b', lock: 'z', mode: 'exclusive', token: 11n, fenced: false, atMs: 20_003 },
      ],
      'FIFO_VIOLATION',
      /"z" granted to b at queue position 1 while a waited ahead/,
    ],
    [
      'a grant without queueing while others wait',
      [
        { kind: 'grant', session: 'c', lock: 'z', mode: 'shared', token: 10n, fenced: false, atMs: 20_000 },
        { kind: 'enqueue', session: 'a', lock: 'z', mode: 'exclusive', atMs: 20_001 },
        { kind: 'grant', session: 'b', lock: 'z', mode: 'shared', token: 11n, fenced: false, atMs: 20_002 },
      ],
      'FIFO_VIOLATION',
      /granted to b without queueing while a waited ahead/,
    ],
    [
      'an ordinary lock revoked before the promise',
      [
        { kind: 'grant', session: 'c', lock: 'y', mode: 'exclusive', token: 10n, fenced: false, atMs: 20_000 },
        { kind: 'promise', session: 'c', untilMs: 30_000, atMs: 20_000 },
        { kind: 'revoke', session: 'c', lock: 'y', token: 10n, forced: false, atMs: 29_999 },
      ],
      'EARLY_REVOCATION',
      /ordinary lock "y" \(token 10\) revoked from c at 29999, before its promise 30000/,
    ],
    [
      'a revocation before the promise frozen by the request',
      [
        { kind: 'grant', session: 'c', lock: 'y', mode: 'exclusive', token: 10n, fenced: false, atMs: 20_000 },
        { kind: 'promise', session: 'c', untilMs: 30_000, atMs: 20_000 },
        { kind: 'revocation-requested', session: 'c', lock: 'y', token: 10n, atMs: 20_001 },
        { kind: 'revocation-requested', session: 'c', lock: 'y', token: 10n, atMs: 20_002 },
        { kind: 'revoke', session: 'c', lock: 'y', token: 10n, forced: false, atMs: 25_000 },
      ],
      'EARLY_REVOCATION',
      /before its promise 30000/,
    ],
    [
      'an expiry before the promise',
      [
        { kind: 'grant', session: 'c', lock: 'y', mode: 'exclusive', token: 10n, fenced: true, atMs: 20_000 },
        { kind: 'promise', session: 'c', untilMs: 30_000, atMs: 20_000 },
        { kind: 'expire', session: 'c', lock: 'y', token: 10n, atMs: 21_000 },
      ],
      'EARLY_EXPIRY',
      /session c expired at 21000 \(losing "y" token 10\) before its promise 30000/,
    ],
    [
      'an ordinary lock revoked after its promise but while its client believed it safe',
      [
        { kind: 'grant', session: 'c', lock: 'y', mode: 'exclusive', token: 10n, fenced: false, atMs: 20_000 },
        { kind: 'promise', session: 'c', untilMs: 30_000, atMs: 20_000 },
        { kind: 'client-safe', session: 'c', lock: 'y', token: 10n, safeUntilMs: 31_000, atMs: 20_001 },
        { kind: 'revoke', session: 'c', lock: 'y', token: 10n, forced: false, atMs: 30_500 },
      ],
      'SAFE_PERIOD_OVERRUN',
      /taken from c by revoke at 30500 while its client believed it safe until 31000/,
    ],
    [
      'an expiry while the client believed a fenced lock safe',
      [
        { kind: 'grant', session: 'c', lock: 'y', mode: 'exclusive', token: 10n, fenced: true, atMs: 20_000 },
        { kind: 'client-safe', session: 'c', lock: 'y', token: 10n, safeUntilMs: 22_000, atMs: 20_001 },
        { kind: 'expire', session: 'c', lock: 'y', token: 10n, atMs: 21_000 },
      ],
      'SAFE_PERIOD_OVERRUN',
      /taken from c by expire at 21000/,
    ],
    [
      'a client that believes in a hold the log ended',
      [{ kind: 'client-safe', session: 'b', lock: 'x', token: 2n, safeUntilMs: 20_500, atMs: 20_000 }],
      'SAFE_PERIOD_OVERRUN',
      /b believed "x" \(token 2\) safe until 20500 at 20000, but does not hold it/,
    ],
    [
      'a release of a lock not held',
      [{ kind: 'release', session: 'c', lock: 'x', token: 3n, atMs: 20_000 }],
      'UNKNOWN_HOLD',
      /release of "x" token 3 by c, which does not hold it/,
    ],
    [
      'an acknowledged grant missing from the log',
      [
        { kind: 'invoke', opId: 'c9', session: 'c', op: 'acquire', lock: 'w', mode: 'exclusive', atMs: 20_000 },
        { kind: 'ok', opId: 'c9', token: 42n, atMs: 20_001 },
      ],
      'LOST_GRANT',
      /c was told it holds "w" with token 42 \(op c9\), but the log has no such grant/,
    ],
    [
      'an acknowledged release missing from the log',
      [
        { kind: 'grant', session: 'c', lock: 'w', mode: 'exclusive', token: 10n, fenced: false, atMs: 20_000 },
        { kind: 'invoke', opId: 'c9', session: 'c', op: 'release', lock: 'w', token: 10n, atMs: 20_001 },
        { kind: 'ok', opId: 'c9', atMs: 20_002 },
      ],
      'LOST_RELEASE',
      /c was told it released "w" token 10 \(op c9\)/,
    ],
  ])('%s', (_label, extra, kind, message) => {
    const violations = checkLockHistory(withEvents(...extra));
    expect(violations.map((v) => v.kind)).toEqual([kind]);
    expect(violations[0]!.message).toMatch(message);
    expect(violations[0]!.index).toBeGreaterThanOrEqual(good.length);
  });
});
