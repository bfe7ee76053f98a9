// What the SDK (and the lock simulator's clients) do with an acquire they stop waiting for.
import { describe, expect, it } from 'vitest';
import { giveUpAcquire, grantFate } from '../../src/client/acquire-give-up.js';
import { RequestLedger } from '../../src/client/request-ledger.js';

describe('giveUpAcquire', () => {
  it.each([
    { withdrawn: true, outcome: 'withdrawn', awaiting: undefined, resent: [] },
    { withdrawn: false, outcome: 'asked-again', awaiting: 'acquire', resent: ['acquire'] },
  ])('cancel withdrew it: $withdrawn -> $outcome', ({ withdrawn, outcome, awaiting, resent }) => {
    const ledger = new RequestLedger<string>();
    const seq = ledger.allocate();
    ledger.add(seq, 'acquire');
    const cancelAnswered = giveUpAcquire(ledger, seq);
    // Given up: no longer sent on a resume, but its answer still reaches it.
    expect(ledger.toResendOnResume()).toEqual([]);
    expect(ledger.get(seq)).toBe('acquire');
    expect(cancelAnswered(withdrawn)).toBe(outcome);
    expect(ledger.get(seq)).toBe(awaiting);
    expect(ledger.toResendOnResume()).toEqual(resent);
  });
});

describe('grantFate', () => {
  it.each([
    [true, 'adopt'],
    [false, 'hand-back'],
  ] as const)('caller waiting: %s -> %s', (waiting, fate) => {
    expect(grantFate(waiting)).toBe(fate);
  });
});
