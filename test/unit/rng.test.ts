import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { SeededRng } from '../../src/util/rng.js';

describe('SeededRng', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    const c = new SeededRng(43);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });

  it('int() stays within its inclusive bounds', () => {
    const rng = new SeededRng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(rng.int(3, 5));
    expect([...seen].sort()).toEqual([3, 4, 5]);
  });
});

describe('ManualClock', () => {
  it('moves only forward', () => {
    const clock = new ManualClock(10);
    clock.advance(5);
    expect(clock.now()).toBe(15);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.set(3)).toThrow(RangeError);
  });
});
