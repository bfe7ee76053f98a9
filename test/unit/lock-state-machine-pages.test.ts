// Listing at any size (issue 13): LockStateMachine.lockPage pages through the locks in name order, complete and
// without repeats, with a prefix, across locks created and removed between pages; a session's own holds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LockStateMachine } from '../../src/lock/state-machine.js';
import { LockFixture, tokenOf } from './lock-fixtures.js';

/** Every page from `after` on, with `limit` locks each; the names in the order served, and the number of pages. */
function pageThrough(machine: LockStateMachine, prefix: string, limit: number): { names: string[]; pages: number } {
  const names: string[] = [];
  let after = '';
  let pages = 0;
  for (;;) {
    const page = machine.lockPage(prefix, after, limit);
    pages++;
    names.push(...page.locks.map((lock) => lock.name));
    if (page.nextAfter === null) return { names, pages };
    expect(page.locks).toHaveLength(limit);
    after = page.nextAfter;
  }
}

describe('LockStateMachine.lockPage', () => {
  it('serves every lock once, in the order of locks(), a page at a time', () => {
    const f = new LockFixture();
    f.open('s1');
    for (let i = 0; i < 2_500; i++) f.acquire('s1', `order/${(i * 7919) % 2_500}`);
    f.acquire('s1', 'job/1');
    const all = f.machine.locks().map((lock) => lock.name);
    const { names, pages } = pageThrough(f.machine, '', 1_000);
    expect(names).toEqual(all);
    expect(pages).toBe(3);
    expect(pageThrough(f.machine, 'order/', 1_000).names).toEqual(all.filter((name) => name.startsWith('order/')));
    expect(pageThrough(f.machine, 'job/', 1).names).toEqual(['job/1']);
    expect(f.machine.lockPage('', '', 0).locks).toHaveLength(2_501);
    expect(f.machine.lockPage('nothing/', '', 10)).toEqual({ locks: [], nextAfter: null });
  });

  it('ends a listing whose last page is full without an empty page after it', () => {
    const f = new LockFixture();
    f.open('s1');
    for (const name of ['a', 'b', 'c', 'd']) f.acquire('s1', name);
    expect(f.machine.lockPage('', '', 2).nextAfter).toBe('b');
    expect(f.machine.lockPage('', 'b', 2)).toMatchObject({ nextAfter: null });
    expect(f.machine.lockPage('', 'b', 2).locks.map((lock) => lock.name)).toEqual(['c', 'd']);
  });

  it('misses no lock that lives through the listing, whatever is created and released between pages', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.boolean(), fc.string({ minLength: 1, maxLength: 4 })), { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        (initial, changes, limit) => {
          const f = new LockFixture();
          f.open('s1');
          const tokens = new Map<string, bigint>();
          for (const name of initial) tokens.set(name, tokenOf(f.acquire('s1', name)));
          const untouched = new Set(initial);
          const served: string[] = [];
          let after = '';
          for (let step = 0; ; step++) {
            const page = f.machine.lockPage('', after, limit);
            served.push(...page.locks.map((lock) => lock.name));
            if (page.nextAfter === null) break;
            after = page.nextAfter;
            const change = changes[step];
            if (change === undefined) continue;
            const [create, name] = change;
            untouched.delete(name);
            const token = tokens.get(name);
            if (token !== undefined) {
              f.release('s1', name, token);
              tokens.delete(name);
            } else if (create) {
              tokens.set(name, tokenOf(f.acquire('s1', name)));
            }
          }
          // In order, no repeats, and every lock held all along is there.
          expect(served).toEqual([...new Set(served)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
          for (const name of untouched) expect(served).toContain(name);
        },
      ),
      { seed: Number(process.env.FC_SEED ?? 13), numRuns: 300 },
    );
  });
});

describe('LockStateMachine.sessionHolds', () => {
  it("lists the session's own holds by name, with their tokens, and nothing of other sessions", () => {
    const f = new LockFixture();
    f.open('s1');
    f.open('s2');
    const b = tokenOf(f.acquire('s1', 'b', { fenced: true }));
    const a = tokenOf(f.acquire('s1', 'a'));
    f.acquire('s2', 'c');
    f.acquire('s2', 'a'); // queued behind s1
    const holds = f.machine.sessionHolds('s1');
    expect(holds.map(({ name, holder }) => [name, holder.token, holder.fenced])).toEqual([
      ['a', a, false],
      ['b', b, true],
    ]);
    expect(f.machine.sessionHolds('s2').map((hold) => hold.name)).toEqual(['c']);
    expect(f.machine.sessionHolds('nobody')).toEqual([]);
  });
});
