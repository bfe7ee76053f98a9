import { describe, expect, it } from 'vitest';
import { keepaliveIntervalMs, safeUntilMs } from '../../src/session/safe-period.js';
import { SessionTracker } from '../../src/session/tracker.js';

describe('the client safe period', () => {
  it.each([
    // [label, keepalive sent at, guarantee, revocation grace (sent at, grace) or null, expected]
    ['guarantee only', 1_000, 10_000, null, 1_000 + 9_900 - 100],
    ['a later grace does not extend it', 1_000, 10_000, [2_000, 60_000], 10_800],
    ['a grace caps it', 1_000, 10_000, [2_000, 3_000], 2_000 + 2_970 - 100],
    ['a floor guarantee', 0, 3_000, null, 2_870],
  ] as const)('%s', (_label, sentAtMs, guaranteeMs, grace, expected) => {
    const revocationGrace = grace ? { keepaliveSentAtMs: grace[0], durationMs: grace[1] } : undefined;
    expect(safeUntilMs({ keepaliveSentAtMs: sentAtMs, durationMs: guaranteeMs }, revocationGrace)).toBeCloseTo(
      expected,
      6,
    );
  });

  it('honours other drift and margin assumptions', () => {
    expect(safeUntilMs({ keepaliveSentAtMs: 0, durationMs: 10_000 }, undefined, { maxDrift: 0.1, marginMs: 0 })).toBe(
      9_000,
    );
  });

  it('ends before the server promise whatever the network delay and drift within the bound', () => {
    // The client sends at client time c; the server receives it d ms later and answers at once with g.
    for (const delayMs of [0, 5, 250, 4_000]) {
      for (const drift of [-0.01, 0, 0.01]) {
        const tracker = new SessionTracker();
        const serverAtMs = 100_000 + delayMs;
        tracker.opened('s', 10_000, 100_000);
        tracker.keepaliveAnswered('s', serverAtMs, 10_000);
        const clientSafeUntil = safeUntilMs({ keepaliveSentAtMs: 100_000, durationMs: 10_000 }, undefined);
        // Client elapsed time maps to server elapsed time with a rate difference of at most `drift`.
        const serverTimeAtClientSafeEnd = 100_000 + (clientSafeUntil - 100_000) * (1 + drift);
        expect(serverTimeAtClientSafeEnd).toBeLessThan(tracker.promisedUntil('s')!);
      }
    }
  });

  it('asks for a keepalive every third of the guarantee', () => {
    expect(keepaliveIntervalMs(10_000)).toBe(3_333);
    expect(keepaliveIntervalMs(3_000)).toBe(1_000);
  });
});
