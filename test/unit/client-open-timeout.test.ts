// How long the SDK (and the lock simulator's clients) wait for a session open or resume to be answered.
import { describe, expect, it } from 'vitest';
import { FIRST_OPEN_TIMEOUT_MS, openAnswerTimeoutMs } from '../../src/client/open-timeout.js';

describe('openAnswerTimeoutMs', () => {
  it.each([
    { openTimeoutMs: 300, resuming: false, ttlMs: 10_000, expected: FIRST_OPEN_TIMEOUT_MS },
    { openTimeoutMs: 8_000, resuming: false, ttlMs: 10_000, expected: 8_000 },
    { openTimeoutMs: 300, resuming: true, ttlMs: 10_000, expected: 5_000 },
    { openTimeoutMs: 300, resuming: true, ttlMs: 3_000, expected: 1_500 },
    { openTimeoutMs: 2_000, resuming: true, ttlMs: 3_000, expected: 2_000 },
  ])('open timeout $openTimeoutMs, resuming $resuming, TTL $ttlMs: $expected ms', ({ expected, ...args }) => {
    expect(openAnswerTimeoutMs(args.openTimeoutMs, args.resuming, args.ttlMs)).toBe(expected);
  });
});
