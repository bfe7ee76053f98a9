import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from '../../src/cli/duration.js';

describe('duration parsing', () => {
  it.each([
    ['10s', 10_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['0', 0],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', '10', 's', '10x', '-1s', '10 s', 'ten seconds', '1s2'])(
    'rejects "%s" with a message naming the flag',
    (text) => {
      expect(() => parseDurationMs(text, '--wait')).toThrow(/--wait must be a number with a unit \(ms, s, m, h\)/);
    },
  );

  it('formats durations for people', () => {
    expect([
      formatDurationMs(850),
      formatDurationMs(12_500),
      formatDurationMs(200_000),
      formatDurationMs(120_000),
    ]).toEqual(['850ms', '12.5s', '3m20s', '2m']);
  });
});
