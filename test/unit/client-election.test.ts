import { describe, expect, it } from 'vitest';
import { Election, type ElectionHost } from '../../src/client/election.js';
import type { Lock } from '../../src/client/lock.js';

/** A host whose lock table the test edits by hand: `leaders` is what successive ListLocks calls see. */
function fakeHost(leaders: (string | undefined)[]) {
  const acquired: { name: string; metadata: string; waitMs: number }[] = [];
  let released = 0;
  let reads = 0;
  const host: ElectionHost = {
    async acquire(name, options) {
      acquired.push({ name, metadata: options.metadata, waitMs: options.waitMs });
      const controller = new AbortController();
      return {
        get held() {
          return !controller.signal.aborted;
        },
        async release() {
          released++;
          controller.abort();
        },
      } as unknown as Lock;
    },
    admin: () => ({
      async listLocks(prefix?: string) {
        const value = leaders[Math.min(reads++, leaders.length - 1)];
        return value === undefined ? [] : [{ name: prefix ?? '', holders: [{ metadata: value }] }];
      },
    }),
  };
  return { host, acquired, released: () => released, reads: () => reads };
}

describe('election on a lock', () => {
  it('campaigns by acquiring election/<name> exclusively, waiting without limit, with the value as metadata', async () => {
    const { host, acquired, released } = fakeHost([undefined]);
    const election = new Election(host, 'scheduler');
    expect(election.isLeader).toBe(false);
    await election.campaign('worker-1');
    expect(acquired).toEqual([{ name: 'election/scheduler', metadata: 'worker-1', waitMs: Number.POSITIVE_INFINITY }]);
    expect(election.isLeader).toBe(true);
    await election.resign();
    expect(released()).toBe(1);
    expect(election.isLeader).toBe(false);
    await election.resign(); // nothing left to release
    expect(released()).toBe(1);
  });

  it('leader() is the holder metadata, or undefined when nobody leads', async () => {
    const { host } = fakeHost([undefined, 'worker-2']);
    const election = new Election(host, 'scheduler');
    expect(await election.leader()).toBeUndefined();
    expect(await election.leader()).toBe('worker-2');
  });

  it('observe() yields each new leader once, skips gaps and repeats, and stops on break', async () => {
    const { host, reads } = fakeHost(['a', 'a', undefined, 'b', 'b', 'c', 'd']);
    const election = new Election(host, 'scheduler');
    const seen: string[] = [];
    for await (const leader of election.observe({ intervalMs: 1 })) {
      seen.push(leader);
      if (leader === 'c') break;
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(reads()).toBe(6);
  });

  it('observe() ends when its signal aborts', async () => {
    const { host } = fakeHost(['a']);
    const election = new Election(host, 'scheduler');
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const leader of election.observe({ intervalMs: 1, signal: controller.signal })) {
      seen.push(leader);
      controller.abort();
    }
    expect(seen).toEqual(['a']);
  });
});
