// What the lock state machine keeps per lock name once the name is released (docs/design.md, "Memory"): the lock
// itself goes with its last holder and waiter; the usage history keeps the 10,000 most recently used names, the same
// ones on every node, so a snapshot carries exactly those.
import { describe, expect, it } from 'vitest';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { LockFixture, tokenOf } from './lock-fixtures.js';

describe('per-name state after many distinct names', () => {
  it('keeps no lock and the usage of the 10,000 most recently used names, through a snapshot', () => {
    const f = new LockFixture();
    f.open('s1');
    const names = 25_000;
    for (let i = 0; i < names; i++) {
      const name = `entity/${i}`;
      f.release('s1', name, tokenOf(f.acquire('s1', name)));
      f.atMs += 1;
    }
    expect(f.machine.lockCount()).toBe(0);
    const kept = f.machine.resources();
    expect(kept).toHaveLength(10_000);
    expect(kept[0]).toBe(`entity/${names - 10_000}`);
    expect(kept.at(-1)).toBe(`entity/${names - 1}`);
    expect(f.machine.usage('entity/0')).toBeUndefined();
    // Deterministic: a node restored from the snapshot keeps the same names, in the same (least recently used) order.
    const restored = new LockStateMachine();
    restored.restore(f.machine.snapshot());
    expect(restored.resources()).toEqual(kept);
  });
});
