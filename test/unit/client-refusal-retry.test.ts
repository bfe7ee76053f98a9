// Which refusals the SDK (and the lock simulator's clients) send again, and after the backoff's delay.
import { describe, expect, it } from 'vitest';
import { retryDelayAfterRefusal, TRANSIENT_SERVER_CODES } from '../../src/client/refusal-retry.js';

describe('retryDelayAfterRefusal', () => {
  it.each([
    ['PROPOSAL_DROPPED', 40],
    ['NODE_CLOSED', 40],
    ['CONF_CHANGE_IN_PROGRESS', 40],
    ['UNAVAILABLE', 40],
    ['ALREADY_HELD', null],
    ['SESSION_NOT_FOUND', null],
    ['DEADLOCK', null],
    ['TIMEOUT', null],
    ['NOT_LEADER', null],
    ['INTERNAL', null],
    ['', null],
  ])('%s: retried after %s ms', (code, expected) => {
    let taken = 0;
    const delayMs = retryDelayAfterRefusal(code, {
      nextDelayMs: () => {
        taken += 1;
        return 40;
      },
    });
    expect(delayMs).toBe(expected);
    expect(taken).toBe(expected === null ? 0 : 1); // a final refusal does not grow the backoff
  });

  it('retries exactly the transient codes', () => {
    expect([...TRANSIENT_SERVER_CODES].sort()).toEqual([
      'CONF_CHANGE_IN_PROGRESS',
      'NODE_CLOSED',
      'PROPOSAL_DROPPED',
      'UNAVAILABLE',
    ]);
  });
});
