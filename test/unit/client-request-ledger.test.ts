// The SDK's request bookkeeping, which the lock simulator's clients share: seqs, what a resume sends again, what
// stops being sent, what a session end fails.
import { describe, expect, it } from 'vitest';
import { RequestLedger } from '../../src/client/request-ledger.js';

function ledgerWith(...names: string[]): RequestLedger<string> {
  const ledger = new RequestLedger<string>();
  for (const name of names) ledger.add(ledger.allocate(), name);
  return ledger;
}

describe('RequestLedger', () => {
  it('gives each request the next seq, also one that is never recorded', () => {
    const ledger = new RequestLedger<string>();
    expect([ledger.allocate(), ledger.allocate(), ledger.allocate()]).toEqual([1, 2, 3]);
    ledger.add(3, 'c');
    expect(ledger.get(3)).toBe('c');
    expect(ledger.get(1)).toBeUndefined();
    expect(ledger.size).toBe(1);
  });

  it.each([
    { case: 'every request, in seq order', act: (_l: RequestLedger<string>) => {}, resent: ['a', 'b', 'c'] },
    { case: 'not a forgotten one', act: (l: RequestLedger<string>) => l.forget(2), resent: ['a', 'c'] },
    {
      case: 'not one that stopped being resent',
      act: (l: RequestLedger<string>) => l.stopResending(1),
      resent: ['b', 'c'],
    },
    {
      case: 'one asked again after it stopped',
      act: (l: RequestLedger<string>) => {
        l.stopResending(1);
        l.resendRequest(1);
      },
      resent: ['a', 'b', 'c'],
    },
  ])('a resume sends again $case', ({ act, resent }) => {
    const ledger = new RequestLedger<string>();
    for (const [seq, name] of [
      [3, 'c'],
      [1, 'a'],
      [2, 'b'],
    ] as const) {
      ledger.allocate();
      ledger.add(seq, name);
    }
    act(ledger);
    expect(ledger.toResendOnResume()).toEqual(resent);
  });

  it('routes answers to a request that stopped being resent, until it is forgotten', () => {
    const ledger = ledgerWith('acquire');
    ledger.stopResending(1);
    expect(ledger.get(1)).toBe('acquire');
    expect(ledger.resendable(1, 'acquire')).toBe(false);
    expect(ledger.resendRequest(1)).toBe('acquire');
    expect(ledger.resendable(1, 'acquire')).toBe(true);
    ledger.forget(1);
    expect(ledger.get(1)).toBeUndefined();
    expect(ledger.resendRequest(1)).toBeUndefined();
  });

  it('tells a retry timer when its request is no longer the one under its seq', () => {
    const ledger = ledgerWith('a');
    expect(ledger.resendable(1, 'a')).toBe(true);
    expect(ledger.resendable(1, 'other')).toBe(false);
    expect(ledger.resendable(2, 'a')).toBe(false);
  });

  it('hands every request over once when the session ends, in seq order', () => {
    const ledger = ledgerWith('a', 'b');
    ledger.stopResending(1);
    expect(ledger.drain()).toEqual(['a', 'b']);
    expect(ledger.size).toBe(0);
    expect(ledger.drain()).toEqual([]);
  });
});
