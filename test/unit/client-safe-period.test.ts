import { describe, expect, it } from 'vitest';
import { SafePeriodTracker } from '../../src/client/safe-period.js';

// Times are client-clock epoch ms, chosen by hand (a fake clock): the tracker itself never reads a clock.
describe('client safe period (docs/design.md, principle 2)', () => {
  it('counts a guarantee from the send time of the keepalive the frame names, minus drift and margin', () => {
    const tracker = new SafePeriodTracker({ maxDrift: 0.01, marginMs: 100 });
    tracker.streamOpened(1_000);
    tracker.keepaliveSent(1, 5_000);
    // Answer to keepalive 1 arrives much later (slow network): it still counts from 5,000.
    expect(tracker.guaranteeReceived(1, 10_000)).toBe(5_000 + 10_000 * 0.99 - 100);
    expect(tracker.sessionSafeUntilMs).toBe(14_800);
  });

  it('counts the open frame as keepalive 0, so the SessionOpened guarantee counts from the open', () => {
    const tracker = new SafePeriodTracker({ maxDrift: 0, marginMs: 0 });
    tracker.streamOpened(2_000);
    expect(tracker.guaranteeReceived(0, 3_000)).toBe(5_000);
  });

  it('never moves the safe deadline backwards when a shorter guarantee arrives', () => {
    const tracker = new SafePeriodTracker({ maxDrift: 0, marginMs: 0 });
    tracker.streamOpened(0);
    tracker.keepaliveSent(1, 1_000);
    tracker.keepaliveSent(2, 2_000);
    tracker.guaranteeReceived(1, 10_000);
    expect(tracker.guaranteeReceived(2, 3_000)).toBe(11_000);
  });

  it('ignores a frame naming a keepalive it never sent on this stream', () => {
    const tracker = new SafePeriodTracker();
    tracker.streamOpened(0);
    tracker.keepaliveSent(1, 1_000);
    tracker.streamOpened(5_000); // reconnect: seq 1 belonged to the old stream
    expect(tracker.sentAtOf(1)).toBeUndefined();
    expect(tracker.guaranteeReceived(1, 10_000)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('forgets keepalives older than the one a frame names', () => {
    const tracker = new SafePeriodTracker();
    tracker.streamOpened(0);
    for (let seq = 1; seq <= 5; seq++) tracker.keepaliveSent(seq, seq * 1_000);
    expect(tracker.sentAtOf(4)).toBe(4_000);
    expect(tracker.sentAtOf(2)).toBeUndefined();
    expect(tracker.sentAtOf(5)).toBe(5_000);
  });

  it('caps a fenced lock at its pre-emption grace, and no later guarantee extends it', () => {
    const tracker = new SafePeriodTracker({ maxDrift: 0, marginMs: 0 });
    tracker.streamOpened(0);
    tracker.keepaliveSent(1, 1_000);
    tracker.guaranteeReceived(1, 10_000); // session safe until 11,000
    tracker.keepaliveSent(2, 4_000);
    tracker.preemptionReceived('a', 7n, 2, 3_000, true); // grace ends 7,000
    expect(tracker.lockSafeUntilMs('a', 7n)).toBe(7_000);
    tracker.keepaliveSent(3, 5_000);
    tracker.guaranteeReceived(3, 10_000);
    expect(tracker.sessionSafeUntilMs).toBe(15_000);
    expect(tracker.lockSafeUntilMs('a', 7n)).toBe(7_000);
    expect(tracker.lockSafeUntilMs('b', 1n)).toBe(15_000);
  });

  it('keeps an ordinary lock until the later of its grace and the promise already given', () => {
    const tracker = new SafePeriodTracker({ maxDrift: 0, marginMs: 0 });
    tracker.streamOpened(0);
    tracker.keepaliveSent(1, 1_000);
    tracker.guaranteeReceived(1, 10_000); // promise already given: 11,000
    tracker.keepaliveSent(2, 4_000);
    tracker.preemptionReceived('a', 7n, 2, 3_000, false); // grace ends 7,000 < 11,000
    tracker.keepaliveSent(3, 5_000);
    tracker.guaranteeReceived(3, 10_000);
    expect(tracker.lockSafeUntilMs('a', 7n)).toBe(11_000);
  });

  it('applies a cap only to the token it was sent for, and forgets it on request', () => {
    const tracker = new SafePeriodTracker({ maxDrift: 0, marginMs: 0 });
    tracker.streamOpened(0);
    tracker.guaranteeReceived(0, 10_000);
    tracker.preemptionReceived('a', 7n, 0, 1_000, true);
    expect(tracker.lockSafeUntilMs('a', 8n)).toBe(10_000);
    tracker.forgetLock('a');
    expect(tracker.lockSafeUntilMs('a', 7n)).toBe(10_000);
  });

  it('rejects impossible assumptions', () => {
    expect(() => new SafePeriodTracker({ maxDrift: 1 })).toThrow(RangeError);
    expect(() => new SafePeriodTracker({ marginMs: -1 })).toThrow(RangeError);
  });
});
