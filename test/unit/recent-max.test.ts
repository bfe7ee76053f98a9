// RecentMax: the largest value seen within a sliding span of time, checked against a plain scan of the values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecentMax } from '../../src/util/recent-max.js';

describe('RecentMax', () => {
  it('forgets a value once its span has passed', () => {
    const recent = new RecentMax(1_000);
    expect(recent.max(0)).toBeNull();
    recent.observe(0, 5);
    recent.observe(100, 2);
    expect(recent.max(500)).toBe(5);
    expect(recent.max(1_000)).toBe(2);
    expect(recent.max(1_100)).toBeNull();
    expect(() => new RecentMax(0)).toThrow(RangeError);
  });

  it('property: equals the maximum of the values observed within the span', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 300 }), fc.double({ min: 0, max: 10, noNaN: true })), { maxLength: 400 }),
        (steps) => {
          const recent = new RecentMax(1_000);
          const seen: [number, number][] = [];
          let nowMs = 0;
          for (const [advanceMs, value] of steps) {
            nowMs += advanceMs;
            recent.observe(nowMs, value);
            seen.push([nowMs, value]);
            const within = seen.filter(([atMs]) => atMs > nowMs - 1_000).map(([, v]) => v);
            expect(recent.max(nowMs)).toBe(within.length === 0 ? null : Math.max(...within));
          }
        },
      ),
      { numRuns: 200, seed: 42 },
    );
  });
});
