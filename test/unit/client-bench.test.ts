import { describe, expect, it } from 'vitest';
import { percentile } from '../../src/cli/bench-runner.js';
import { formatPairs } from '../../src/cli/commands/bench.js';

describe('bench latency percentiles (nearest rank)', () => {
  it.each([
    [[5], 50, 5],
    [[1, 2, 3, 4], 50, 2],
    [[4, 3, 2, 1], 99, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    [Array.from({ length: 100 }, (_, i) => 100 - i), 50, 50],
  ])('percentile(%j, %d) = %d', (samples, p, expected) => {
    expect(percentile(samples, p)).toBe(expected);
  });

  it('is NaN without samples', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('bench table', () => {
  it('prints one aligned row per scenario', () => {
    const text = formatPairs([
      {
        scenario: 'uncontended',
        clients: 64,
        locks: 960,
        pairs: 1234,
        errors: 0,
        elapsedMs: 1_000,
        pairsPerSecond: 1234.4,
        acquireP50Ms: 1.234,
        acquireP99Ms: 9.876,
      },
    ]);
    expect(text.split('\n')).toEqual([
      'SCENARIO     CLIENTS  LOCKS  PAIRS  PAIRS/S  P50 ACQUIRE  P99 ACQUIRE  ERRORS',
      'uncontended  64       960    1234   1234     1.23 ms      9.88 ms      0',
    ]);
  });
});
