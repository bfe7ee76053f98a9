// The event-loop delay a node reports: monitorEventLoopDelay's percentiles include its own timer interval.
import { describe, expect, it } from 'vitest';
import { loopDelayBeyondResolutionMs } from '../../src/raft/node.js';

describe('loopDelayBeyondResolutionMs', () => {
  it.each([
    // An idle loop: the timer fired on time, so the histogram reads the 10 ms interval itself.
    [10_158_079, 0.158079],
    // A loop stopped for 500 ms.
    [510_000_000, 500],
    // Shorter than the interval (the timer fired early after a late run): no delay, never negative.
    [1_100_800, 0],
    [0, 0],
  ])('%d ns is %d ms late', (percentileNs, expectedMs) => {
    expect(loopDelayBeyondResolutionMs(percentileNs)).toBeCloseTo(expectedMs, 6);
  });

  it('takes off the resolution it is given', () => {
    expect(loopDelayBeyondResolutionMs(25_000_000, 20)).toBeCloseTo(5, 6);
  });
});
