// The chaos history adapter on hand-made histories (no containers): client records and server events merge on one
// timeline so that the lock-history checker passes a correct history and catches a lost grant, an expiry inside a
// client's safe period, and two exclusive holders at once.

import { describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/sim/lock-history-checker.js';
import { ClientHistory } from './harness/history.js';
import { historyViolations, mergeHistory } from './harness/history-check.js';

/** One client record: granted `token` at `grantAtMs`, believed safe until `safeUntilMs`, released at `releaseAtMs`. */
function grantedRecord(
  history: ClientHistory,
  session: string,
  token: bigint,
  times: { invokeAtMs: number; grantAtMs: number; safeUntilMs: number; releaseAtMs?: number },
): void {
  const record = history.invokeAcquire(`client-${session}`, session, 'l', times.invokeAtMs);
  record.outcome = { kind: 'granted', token, grantedAtMs: times.grantAtMs, ackAtMs: times.grantAtMs + 2 };
  record.lastSafeUntilMs = times.safeUntilMs;
  record.lastSafeSampleAtMs = times.grantAtMs + 3;
  if (times.releaseAtMs !== undefined) {
    record.releaseInvokedAtMs = times.releaseAtMs;
    record.release = { atMs: times.releaseAtMs + 2, ok: true };
  }
}

const grant = (session: string, token: bigint, atMs: number): ServerEvent => ({
  kind: 'grant',
  session,
  lock: 'l',
  mode: 'exclusive',
  token,
  fenced: false,
  atMs,
});
const end = (kind: 'release' | 'expire', session: string, token: bigint, atMs: number): ServerEvent => ({
  kind,
  session,
  lock: 'l',
  token,
  atMs,
});

describe('chaos history adapter', () => {
  it('passes a history where each holder released before the next grant', () => {
    const history = new ClientHistory();
    grantedRecord(history, 's1', 1n, { invokeAtMs: 100, grantAtMs: 101, safeUntilMs: 3_000, releaseAtMs: 150 });
    grantedRecord(history, 's2', 2n, { invokeAtMs: 120, grantAtMs: 152, safeUntilMs: 3_000, releaseAtMs: 200 });
    const server = [
      grant('s1', 1n, 101),
      end('release', 's1', 1n, 151),
      grant('s2', 2n, 152),
      end('release', 's2', 2n, 201),
    ];
    expect(historyViolations(server, history)).toEqual([]);
  });

  it('reports a grant acknowledged to a client but absent from the log', () => {
    const history = new ClientHistory();
    grantedRecord(history, 's1', 1n, { invokeAtMs: 100, grantAtMs: 101, safeUntilMs: 3_000 });
    expect(historyViolations([], history).map((violation) => violation.kind)).toContain('LOST_GRANT');
  });

  it('reports an expiry while the client still believed the lock safe', () => {
    const history = new ClientHistory();
    grantedRecord(history, 's1', 1n, { invokeAtMs: 100, grantAtMs: 101, safeUntilMs: 5_000 });
    const server = [grant('s1', 1n, 101), end('expire', 's1', 1n, 4_000)];
    expect(historyViolations(server, history).map((violation) => violation.kind)).toEqual(['SAFE_PERIOD_OVERRUN']);
  });

  it('reports two exclusive holders at once', () => {
    const history = new ClientHistory();
    grantedRecord(history, 's1', 1n, { invokeAtMs: 100, grantAtMs: 101, safeUntilMs: 3_000 });
    grantedRecord(history, 's2', 2n, { invokeAtMs: 100, grantAtMs: 110, safeUntilMs: 3_000 });
    const server = [grant('s1', 1n, 101), grant('s2', 2n, 110)];
    expect(historyViolations(server, history).map((violation) => violation.kind)).toContain('EXCLUSIVE_OVERLAP');
  });

  it('orders a grant before, and a release after, client events of the same millisecond', () => {
    const merged = mergeHistory(
      [grant('s1', 1n, 101), end('release', 's1', 1n, 104)],
      [
        { kind: 'client-safe', session: 's1', lock: 'l', token: 1n, safeUntilMs: 3_000, atMs: 104 },
        { kind: 'invoke', opId: 'a', session: 's1', op: 'acquire', lock: 'l', mode: 'exclusive', atMs: 101 },
      ],
    );
    expect(merged.map((event) => event.kind)).toEqual(['grant', 'invoke', 'client-safe', 'release']);
  });
});
