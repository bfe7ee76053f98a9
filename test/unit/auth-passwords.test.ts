// Password checks share libuv's pool with the Raft log's storage: at most CONCURRENT_DERIVATIONS run at once, the rest
// wait in order, and a failed one frees its slot.
import { describe, expect, it } from 'vitest';
import { CONCURRENT_DERIVATIONS, hashPassword, inDerivationSlot, passwordMatches } from '../../src/auth/passwords.js';

describe('password derivations', () => {
  it('run at most CONCURRENT_DERIVATIONS at once, in arrival order, and a failure frees its slot', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const release: (() => void)[] = [];
    const work = (id: number) => () =>
      new Promise<number>((resolve, reject) => {
        running += 1;
        most = Math.max(most, running);
        started.push(id);
        release[id] = () => {
          running -= 1;
          if (id === 3) reject(new Error('scrypt failed'));
          else resolve(id);
        };
      });
    const results = Array.from({ length: 8 }, (_, id) =>
      inDerivationSlot(work(id)).catch((error: Error) => error.message),
    );
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    await settle();
    expect(started).toEqual([0, 1]);
    for (let id = 0; id < 8; id++) {
      release[id]!();
      await settle();
    }
    expect(await Promise.all(results)).toEqual([0, 1, 2, 'scrypt failed', 4, 5, 6, 7]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(CONCURRENT_DERIVATIONS);
    expect(running).toBe(0);
  });

  it('still hash and check passwords through the slots when many arrive at once', async () => {
    const hashes = await Promise.all(['a-pass-1', 'a-pass-2', 'a-pass-3'].map((password) => hashPassword(password)));
    const checks = await Promise.all(
      hashes.flatMap((hash, index) => [passwordMatches(`a-pass-${index + 1}`, hash), passwordMatches('wrong', hash)]),
    );
    expect(checks).toEqual([true, false, true, false, true, false]);
  });
});
