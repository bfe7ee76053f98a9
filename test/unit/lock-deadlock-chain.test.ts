// Deadlock checks on a waits-for chain of 20,000 sessions (issue 13, item 7): each check walks the whole chain and
// gives the right answer. Its cost is printed by bench/waiter-queue-bench.ts, never asserted here.
import { describe, expect, it } from 'vitest';
import { LockFixture } from './lock-fixtures.js';

const CHAIN = 20_000;

/** Session s<i> holds l<i> and waits for l<i+1>, so s0 waits, through the chain, for s<CHAIN-1>. */
function chainOfLocks(): LockFixture {
  const f = new LockFixture();
  for (let i = 0; i < CHAIN; i++) {
    f.open(`s${i}`);
    f.acquire(`s${i}`, `l${i}`);
  }
  // From the end, so each new wait joins a chain nobody waits on yet.
  for (let i = CHAIN - 2; i >= 0; i--) f.acquire(`s${i}`, `l${i + 1}`);
  return f;
}

describe('deadlock checks on a waits-for chain of 20,000 sessions', () => {
  it('refuses the wait that closes the chain into a cycle, and names its ends', () => {
    const f = chainOfLocks();
    const result = f.acquire(`s${CHAIN - 1}`, 'l0');
    expect(result).toMatchObject({ status: 'error', code: 'DEADLOCK' });
    expect((result as { message: string }).message).toBe(
      'waiting for "l0" would deadlock: ' +
        `session s${CHAIN - 1} waits for s0 on "l0", session s0 waits for s1 on "l1", ` +
        'session s1 waits for s2 on "l2", session s2 waits for s3 on "l3", ' +
        `... ${CHAIN - 8} more ..., ` +
        `session s${CHAIN - 5} waits for s${CHAIN - 4} on "l${CHAIN - 4}", ` +
        `session s${CHAIN - 4} waits for s${CHAIN - 3} on "l${CHAIN - 3}", ` +
        `session s${CHAIN - 3} waits for s${CHAIN - 2} on "l${CHAIN - 2}", ` +
        `session s${CHAIN - 2} waits for s${CHAIN - 1} on "l${CHAIN - 1}"`,
    );
    expect(f.waiters('l0')).toEqual([]);
    expect(f.machine.session(`s${CHAIN - 1}`)?.waiting).toEqual([]);
  });

  it('lets a wait through when the whole chain ends without a cycle, then refuses the one that closes it', () => {
    const f = chainOfLocks();
    for (const s of ['z', 'y']) f.open(s);
    f.acquire('z', 'lz');
    expect(f.acquire('y', 'lz').status).toBe('queued'); // y waits for z, so z's next wait is checked
    // z waits for s0, who waits through the chain for s<CHAIN-1>, who waits for nobody: no cycle.
    expect(f.acquire('z', 'l0')).toMatchObject({ status: 'queued', position: 0 });
    // s<CHAIN-1> waiting for z would close the chain through z.
    const result = f.acquire(`s${CHAIN - 1}`, 'lz');
    expect(result).toMatchObject({ status: 'error', code: 'DEADLOCK' });
    expect((result as { message: string }).message).toMatch(
      new RegExp(
        `^waiting for "lz" would deadlock: session s${CHAIN - 1} waits for z on "lz", session z waits for s0 on "l0", .* \\.\\.\\. ${CHAIN - 7} more \\.\\.\\., .*session s${CHAIN - 2} waits for s${CHAIN - 1} on "l${CHAIN - 1}"$`,
      ),
    );
    expect(f.waiters('lz')).toEqual(['y']);
  });

  it('finds a cycle through a queue of 20,000 waiters on one lock', () => {
    const f = new LockFixture({ maxWaitersPerLock: CHAIN });
    f.open('holder');
    f.acquire('holder', 'x');
    for (let i = 0; i < CHAIN; i++) {
      f.open(`w${i}`);
      if (i === CHAIN - 1) f.acquire(`w${i}`, 'y');
      f.acquire(`w${i}`, 'x');
    }
    expect(f.machine.waiterCount('x')).toBe(CHAIN);
    // w0, first in line for x, would wait for y held by the last in line: the cycle runs through the whole queue.
    const result = f.acquire('w0', 'y');
    expect(result).toMatchObject({ status: 'error', code: 'DEADLOCK' });
    expect((result as { message: string }).message).toMatch(
      new RegExp(
        `^waiting for "y" would deadlock: session w0 waits for w${CHAIN - 1} on "y", .* \\.\\.\\. ${CHAIN - 8} more \\.\\.\\., .*session w1 waits for w0 on "x"$`,
      ),
    );
  });
});
