// The chaos suite's promise check end to end on hand-made histories (no containers): a session's open and the
// leader's promises as the SDK reports them (keepalive answers, Pre-emption Requests) go through the chaos harness's
// adapter into the lock-history checker, which must catch an ordinary lock revoked, or a session expired, 1 ms
// before its promise and pass the same history at the promise.
import { describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/sim/lock-history-checker.js';
import { ClientHistory } from '../chaos/harness/history.js';
import { historyViolations, mergedHistoryOf, promiseChecksOf } from '../chaos/harness/history-check.js';

const grant = (
  token: bigint,
  atMs: number,
  { session = 's1', lock = 'l', fenced = false }: { session?: string; lock?: string; fenced?: boolean } = {},
): ServerEvent => ({ kind: 'grant', session, lock, mode: 'exclusive', token, fenced, atMs });
const revoke = (token: bigint, atMs: number): ServerEvent => ({
  kind: 'revoke',
  session: 's1',
  lock: 'l',
  token,
  forced: false,
  atMs,
});
const expire = (token: bigint, atMs: number): ServerEvent => ({
  kind: 'expire',
  session: 's1',
  lock: 'l',
  token,
  atMs,
});

/** Session s1 granted `l` with token 1 at 1,000 (acknowledged), answered at 1,200 with a 10 s guarantee. */
function historyWithOneAnswer(): ClientHistory {
  const history = new ClientHistory();
  const record = history.invokeAcquire('client-1', 's1', 'l', 990);
  record.outcome = { kind: 'granted', token: 1n, grantedAtMs: 1_000, ackAtMs: 1_002 };
  history.recordPromises('s1').guarantee({ serverReceiveMs: 1_200, guaranteeMs: 10_000, serverTimeMs: 1_201 });
  return history;
}

const kinds = (server: readonly ServerEvent[], history: ClientHistory) =>
  historyViolations(server, history).map((violation) => violation.kind);

describe('chaos promise check', () => {
  it('reports an ordinary lock revoked 1 ms before the promise of a keepalive answer, not one revoked at it', () => {
    const history = historyWithOneAnswer();
    expect(kinds([grant(1n, 1_000), revoke(1n, 11_199)], history)).toEqual(['EARLY_REVOCATION']);
    expect(kinds([grant(1n, 1_000), revoke(1n, 11_200)], history)).toEqual([]);
  });

  it('reports a session expired 1 ms before its promise, not one expired at it', () => {
    const history = historyWithOneAnswer();
    expect(kinds([grant(1n, 1_000), expire(1n, 11_199)], history)).toEqual(['EARLY_EXPIRY']);
    expect(kinds([grant(1n, 1_000), expire(1n, 11_200)], history)).toEqual([]);
  });

  it('holds a pre-empted lock to the promise made before the request, not to later answers', () => {
    const history = historyWithOneAnswer();
    const promises = history.sessions[0]!;
    promises.preempted('l', 1n);
    // Sent after the request in the same millisecond as the answer before it: it extends the session, not the lock.
    promises.guarantee({ serverReceiveMs: 1_201, guaranteeMs: 10_000, serverTimeMs: 1_201 });
    promises.guarantee({ serverReceiveMs: 4_000, guaranteeMs: 10_000, serverTimeMs: 4_001 });
    expect(kinds([grant(1n, 1_000), revoke(1n, 11_200)], history)).toEqual([]);
    expect(kinds([grant(1n, 1_000), revoke(1n, 11_199)], history)).toEqual(['EARLY_REVOCATION']);
    // The session itself is promised until 14,000.
    expect(kinds([grant(1n, 1_000), expire(1n, 13_999)], history)).toEqual(['EARLY_EXPIRY']);
  });

  it('places a Pre-emption Request received before any answer at its grant', () => {
    const history = new ClientHistory();
    const record = history.invokeAcquire('client-1', 's1', 'l', 990);
    record.outcome = { kind: 'granted', token: 1n, grantedAtMs: 1_000, ackAtMs: 1_002 };
    const promises = history.recordPromises('s1');
    promises.opened(500, 4_500);
    promises.preempted('l', 1n);
    promises.guarantee({ serverReceiveMs: 1_200, guaranteeMs: 10_000, serverTimeMs: 1_201 });
    expect(kinds([grant(1n, 1_000), revoke(1n, 5_000)], history)).toEqual([]);
    expect(kinds([grant(1n, 1_000), revoke(1n, 4_999)], history)).toEqual(['EARLY_REVOCATION']);
  });

  it("takes a session open's promise as one TTL from when connect() was called", () => {
    const history = new ClientHistory();
    const record = history.invokeAcquire('client-1', 's1', 'l', 990);
    record.outcome = { kind: 'granted', token: 1n, grantedAtMs: 1_000, ackAtMs: 1_002 };
    history.recordPromises('s1').opened(500, 3_000);
    expect(kinds([grant(1n, 1_000), expire(1n, 3_499)], history)).toEqual(['EARLY_EXPIRY']);
    expect(kinds([grant(1n, 1_000), expire(1n, 3_500)], history)).toEqual([]);
  });

  it('lists each revocation and expiry of an ordinary hold with the promise it was held to (0: none recorded)', () => {
    const history = historyWithOneAnswer();
    const server: ServerEvent[] = [
      grant(1n, 1_000),
      grant(2n, 1_100, { lock: 'f', fenced: true }),
      { kind: 'revoke', session: 's1', lock: 'f', token: 2n, forced: false, atMs: 1_300 },
      revoke(1n, 11_250),
      grant(3n, 12_000, { session: 's2' }),
      { kind: 'expire', session: 's2', lock: 'l', token: 3n, atMs: 13_000 },
    ];
    expect(promiseChecksOf(mergedHistoryOf(server, history))).toEqual([
      { kind: 'revoke', session: 's1', lock: 'l', token: 1n, atMs: 11_250, promiseMs: 11_200 },
      { kind: 'expire', session: 's2', lock: 'l', token: 3n, atMs: 13_000, promiseMs: 0 },
    ]);
  });
});
