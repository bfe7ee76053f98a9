import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/client/backoff.js';
import { SeededRng } from '../../src/util/rng.js';

const fixed = (value: number) => ({ next: () => value });

describe('reconnect backoff', () => {
  it('doubles from the initial delay up to the cap (no jitter when the random draw is 0)', () => {
    const backoff = new Backoff(fixed(0), { initialMs: 50, maxMs: 1_000 });
    const delays = Array.from({ length: 8 }, () => backoff.nextDelayMs());
    expect(delays).toEqual([50, 100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(backoff.failures).toBe(8);
  });

  it('takes off at most the jitter fraction of each delay', () => {
    const backoff = new Backoff(fixed(0.999_999), { initialMs: 100, maxMs: 100, jitter: 0.5 });
    expect(backoff.nextDelayMs()).toBeCloseTo(50, 3);
  });

  it('keeps every jittered delay within [ceiling x (1 - jitter), ceiling]', () => {
    const seed = 1234;
    console.log(`seed ${seed}; replay: npx vitest run test/unit/client-backoff.test.ts`);
    const backoff = new Backoff(new SeededRng(seed), { initialMs: 10, maxMs: 640, jitter: 0.5 });
    for (let attempt = 0; attempt < 20; attempt++) {
      const ceiling = Math.min(640, 10 * 2 ** attempt);
      const delay = backoff.nextDelayMs();
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });

  it('starts over after reset()', () => {
    const backoff = new Backoff(fixed(0), { initialMs: 50 });
    backoff.nextDelayMs();
    backoff.nextDelayMs();
    backoff.reset();
    expect(backoff.nextDelayMs()).toBe(50);
  });

  it('rejects nonsensical settings', () => {
    expect(() => new Backoff(fixed(0), { initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff(fixed(0), { initialMs: 100, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff(fixed(0), { jitter: 2 })).toThrow(RangeError);
  });
});
