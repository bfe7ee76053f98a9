// The leader-following rule the session connection and the admin client share: hints at once (a bounded number of
// times), backoff between other retriable failures, a final failure ends it; and the admin client's deadline on the
// clock it is given.
import { describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { Backoff } from '../../src/client/backoff.js';
import { EndpointPool } from '../../src/client/endpoints.js';
import { InvalidArgumentError, NotLeaderError, TimeoutError, UnavailableError } from '../../src/client/errors.js';
import { LeaderFollower } from '../../src/client/leader-follower.js';

const noJitter = { next: () => 0 };
const backoffOptions = { initialMs: 50, maxMs: 400 };

function follower(endpoints: string[]): LeaderFollower {
  return new LeaderFollower(new EndpointPool(endpoints), new Backoff(noJitter, backoffOptions));
}

describe('LeaderFollower', () => {
  it('dials a NotLeader hint next, at once', () => {
    const f = follower(['a:1', 'b:1', 'c:1']);
    expect(f.next()).toBe('a:1');
    expect(f.failed('a:1', new NotLeaderError('no', 'c:1'))).toBe(0);
    expect(f.next()).toBe('c:1');
  });

  it('backs off once hints have gone round every endpoint (stale hints ping-pong during an election)', () => {
    const f = follower(['a:1', 'b:1']);
    const delays = [1, 2, 3].map(() => f.failed(f.next(), new NotLeaderError('no', 'a:1')));
    expect(delays).toEqual([0, 0, 50]);
  });

  it('backs off, growing, between retriable failures, and starts over after a success', () => {
    const f = follower(['a:1', 'b:1']);
    expect(f.failed(f.next(), new UnavailableError('down'))).toBe(50);
    expect(f.failed(f.next(), new NotLeaderError('no leader known'))).toBe(100);
    expect(f.failed(f.next(), new UnavailableError('down'))).toBe(200);
    f.succeeded();
    expect(f.failed(f.next(), new UnavailableError('down'))).toBe(50);
  });

  it('moves a failed endpoint to the back of the rotation', () => {
    const f = follower(['a:1', 'b:1', 'c:1']);
    f.failed(f.next(), new UnavailableError('down'));
    expect([f.next(), f.next(), f.next()]).toEqual(['b:1', 'c:1', 'a:1']);
  });

  it('says a final failure is final', () => {
    const f = follower(['a:1']);
    expect(f.failed(f.next(), new InvalidArgumentError('bad'))).toBeNull();
  });

  it('redirects to the leader a Status answer names, within the same hop budget', () => {
    const f = follower(['a:1']);
    expect(f.redirected('b:1')).toBe(0);
    expect(f.next()).toBe('b:1');
    expect(f.redirected('b:1')).toBe(0);
    expect(f.redirected('b:1')).toBe(50);
  });
});

describe('AdminClient deadline', () => {
  it('retries an unreachable cluster until its deadline on the injected clock, then times out', async () => {
    let nowMs = 0;
    // Each reading is a second later: the 2.5 s deadline passes after one attempt, whatever the real time.
    const clock = { now: () => (nowMs += 1_000) };
    const admin = new AdminClient({ endpoints: ['127.0.0.1:1'], timeoutMs: 2_500, clock, backoff: backoffOptions });
    try {
      const started = performance.now();
      await expect(admin.status()).rejects.toBeInstanceOf(TimeoutError);
      expect(performance.now() - started).toBeLessThan(2_500);
    } finally {
      admin.close();
    }
  });
});
