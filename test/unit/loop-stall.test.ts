// The test-only loop stall: a busy loop that lasts its measured length by the clock (not a number of iterations), and
// POST /test/faults bodies that set, clear or refuse it.
import { describe, expect, it } from 'vitest';
import { parseFaultRequest } from '../../src/server/http.js';
import { LoopStall, MAX_STALL_MS } from '../../src/server/loop-stall.js';

describe('LoopStall.busyFor', () => {
  it('returns once the clock has moved on by the stall, however many turns of the loop that takes', () => {
    for (const stepMs of [0.001, 0.5, 7]) {
      let nowMs = 1_000;
      let reads = 0;
      new LoopStall(() => {
        reads++;
        nowMs += stepMs;
        return nowMs;
      }).busyFor(300);
      expect(nowMs).toBeGreaterThanOrEqual(1_300);
      expect(nowMs).toBeLessThan(1_300 + 2 * stepMs + 1e-6);
      expect(reads).toBeGreaterThanOrEqual(Math.floor(300 / stepMs));
    }
  });
});

describe('POST /test/faults {stallMs, periodMs}', () => {
  it('sets a stall, and clears it with stallMs 0', () => {
    expect(parseFaultRequest('{"stallMs":300,"periodMs":500}')).toEqual({ stall: { stallMs: 300, periodMs: 500 } });
    expect(parseFaultRequest('{"stallMs":0}')).toEqual({ stall: null });
  });

  it.each([
    ['{"stallMs":300}', /periodMs must be more than stallMs \(300\)/],
    ['{"stallMs":300,"periodMs":300}', /periodMs must be more than stallMs/],
    [
      `{"stallMs":${MAX_STALL_MS + 1},"periodMs":5000}`,
      new RegExp(`stallMs must be a number from 0 to ${MAX_STALL_MS}`),
    ],
    ['{"stallMs":"a lot","periodMs":500}', /stallMs must be a number/],
  ])('refuses %s, saying why', (body, error) => {
    expect(() => parseFaultRequest(body)).toThrow(error);
  });
});
