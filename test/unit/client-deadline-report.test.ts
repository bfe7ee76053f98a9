import { describe, expect, it } from 'vitest';
import { deadlineReporter } from '../../src/client/client.js';
import { ManualClock } from '../../src/util/clock.js';

describe('reported safe deadlines', () => {
  it('keep the time left on the internal clock, expressed on the reported clock', () => {
    const monotonic = new ManualClock(1_000);
    const wall = new ManualClock(1_700_000_000_000);
    const report = deadlineReporter(monotonic, wall);
    expect(report(4_000)).toBe(1_700_000_003_000);
    // The wall clock is stepped back an hour: the deadline still lies 3 s ahead of it.
    const steppedWall = new ManualClock(1_700_000_000_000 - 3_600_000);
    expect(deadlineReporter(monotonic, steppedWall)(4_000)).toBe(steppedWall.now() + 3_000);
    monotonic.advance(1_000);
    wall.advance(1_000);
    expect(report(4_000)).toBe(1_700_000_003_000);
  });

  it('pass infinities through and are the identity for one clock', () => {
    const clock = new ManualClock(5);
    expect(deadlineReporter(clock, new ManualClock(100))(Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
    expect(deadlineReporter(clock, clock)(42)).toBe(42);
  });
});
