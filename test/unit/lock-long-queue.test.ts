// A queue of 20,000 waiters on one lock (issue 13, item 7): cancels from its middle and the hand-off that follows keep
// FIFO order and every count. The cost of each step is printed by bench/waiter-queue-bench.ts, not asserted here.
import { describe, expect, it } from 'vitest';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { LockFixture, tokenOf } from './lock-fixtures.js';

const QUEUE_LENGTH = 20_000;
const CANCELLED_FROM = 9_000;
const CANCELLED_TO = 11_000; // exclusive

describe('a queue of 20,000 waiters on one lock', () => {
  it('cancels from the middle, then grants the rest in arrival order, each once', () => {
    const f = new LockFixture({ maxWaitersPerLock: QUEUE_LENGTH });
    f.open('holder');
    let token = tokenOf(f.acquire('holder', 'x'));
    for (let i = 0; i < QUEUE_LENGTH; i++) {
      f.open(`w${i}`);
      expect(f.acquire(`w${i}`, 'x', { requestSeq: 1 })).toEqual({ status: 'queued', position: i });
    }
    expect(f.machine.waiterCount('x')).toBe(QUEUE_LENGTH);

    // Cancelled out of order (every other one, then the rest), so removals hit interior nodes, not only ends.
    const cancelled: string[] = [];
    for (let i = CANCELLED_FROM; i < CANCELLED_TO; i += 2) cancelled.push(`w${i}`);
    for (let i = CANCELLED_TO - 1; i > CANCELLED_FROM; i -= 2) cancelled.push(`w${i}`);
    for (const sessionId of cancelled) expect(f.cancel(sessionId, 'x', 2)).toEqual({ status: 'ok' });
    const kept = CANCELLED_TO - CANCELLED_FROM;
    expect(f.machine.waiterCount('x')).toBe(QUEUE_LENGTH - kept);
    expect(f.events.filter((e) => e.type === 'cancelled').length).toBe(kept);
    // A retried acquire that is still queued learns its new place; a cancelled one is told it was cancelled.
    expect(f.acquire(`w${CANCELLED_TO}`, 'x', { requestSeq: 1 })).toEqual({
      status: 'queued',
      position: CANCELLED_FROM,
    });
    expect(f.acquire(`w${CANCELLED_FROM}`, 'x', { requestSeq: 1 })).toMatchObject({
      status: 'error',
      code: 'NOT_HELD',
    });

    const expectedOrder = Array.from({ length: QUEUE_LENGTH }, (_, i) => i)
      .filter((i) => i < CANCELLED_FROM || i >= CANCELLED_TO)
      .map((i) => `w${i}`);
    expect(f.waiters('x')).toEqual(expectedOrder);

    // A snapshot keeps the queue in the same order.
    const restored = new LockStateMachine({ maxWaitersPerLock: QUEUE_LENGTH });
    restored.restore(f.machine.snapshot());
    expect(restored.lock('x')?.waiters.map((w) => w.sessionId)).toEqual(expectedOrder);

    // Hand-off down the whole queue: each release grants exactly the next waiter in line, and only it.
    const granted: { sessionId: string; token: bigint }[] = [];
    f.machine.onEvent((event) => {
      if (event.type === 'granted') granted.push({ sessionId: event.sessionId, token: event.token });
    });
    let holder = 'holder';
    for (let i = 0; i < expectedOrder.length; i++) {
      expect(f.release(holder, 'x', token)).toEqual({ status: 'ok' });
      if (granted.length !== i + 1) expect(granted.length).toBe(i + 1);
      ({ sessionId: holder, token } = granted[i]!);
    }
    expect(granted.map((g) => g.sessionId)).toEqual(expectedOrder);
    expect(f.machine.waiterCount('x')).toBe(0);
    f.release(holder, 'x', token);
    expect(f.machine.lock('x')).toBeUndefined();
  });
});
