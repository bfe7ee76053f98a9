import { describe, expect, it } from 'vitest';
import { encodeLockEntry } from '../../src/lock/codec.js';
import type { LockEvent } from '../../src/lock/commands.js';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { LockFixture, tokenOf } from './lock-fixtures.js';

const codeOf = (result: { status: string; code?: string }) => (result.status === 'error' ? result.code : result.status);

describe('sessions', () => {
  it.each([
    [999, 'INVALID_ARGUMENT'],
    [1_000, 'ok'],
    [10_000, 'ok'],
    [3_600_000, 'ok'],
    [3_600_001, 'INVALID_ARGUMENT'],
    [1_500.5, 'INVALID_ARGUMENT'],
  ])('a TTL of %s ms gives %s', (ttlMs, expected) => {
    const f = new LockFixture();
    const result = f.open('s1', { ttlMs });
    expect(codeOf(result)).toBe(expected);
    expect(f.machine.session('s1') !== undefined).toBe(expected === 'ok');
  });

  it('gives the TTL of an open session in O(1), and none for an unknown or closed one', () => {
    const f = new LockFixture();
    f.open('s1', { ttlMs: 7_000 });
    expect(f.machine.sessionTtlMs('s1')).toBe(7_000);
    expect(f.machine.sessionTtlMs('nobody')).toBeUndefined();
    f.run({ type: 'session-close', sessionId: 's1' });
    expect(f.machine.sessionTtlMs('s1')).toBeUndefined();
  });

  it('says what a TTL must be', () => {
    const result = new LockFixture().open('s1', { ttlMs: 0 });
    expect(result).toMatchObject({
      message: 'session TTL must be an integer from 1000 ms (1 s) to 3600000 ms (1 h), got 0',
    });
  });

  it('limits the sessions of one client name', () => {
    const f = new LockFixture({ maxSessionsPerClient: 2 });
    expect(f.open('a', { clientName: 'w' }).status).toBe('ok');
    expect(f.open('b', { clientName: 'w' }).status).toBe('ok');
    expect(codeOf(f.open('c', { clientName: 'w' }))).toBe('TOO_MANY_SESSIONS');
    expect(f.open('d', { clientName: 'other' }).status).toBe('ok');
    f.run({ type: 'session-close', sessionId: 'a' });
    expect(f.open('c', { clientName: 'w' }).status).toBe('ok');
  });

  it('answers a retried open again and refuses a colliding id', () => {
    const f = new LockFixture();
    expect(f.open('s1').status).toBe('ok');
    expect(f.open('s1').status).toBe('ok');
    expect(f.events.filter((e) => e.type === 'session-opened')).toHaveLength(1);
    const collision = f.run({
      type: 'session-open',
      sessionId: 's1',
      secretHash: 'a'.repeat(64),
      ttlMs: 5_000,
      clientName: 'x',
    });
    expect(codeOf(collision)).toBe('INVALID_ARGUMENT');
  });

  it('verifies secrets against the replicated hash', () => {
    const f = new LockFixture();
    f.open('s1');
    expect(f.machine.verifySecret('s1', 'secret-of-s1')).toBe(true);
    expect(f.machine.verifySecret('s1', 'secret-of-s2')).toBe(false);
    expect(f.machine.verifySecret('nobody', 'secret-of-s1')).toBe(false);
  });

  it('refuses requests of unknown sessions', () => {
    const f = new LockFixture();
    expect(codeOf(f.acquire('ghost', 'a'))).toBe('SESSION_NOT_FOUND');
    expect(codeOf(f.run({ type: 'session-close', sessionId: 'ghost' }))).toBe('SESSION_NOT_FOUND');
  });

  it('closing a session releases its locks, withdraws its waits and grants the next waiter', () => {
    const f = new LockFixture({ lockDelayMs: 5_000 });
    f.open('a');
    f.open('b');
    f.open('c');
    const first = tokenOf(f.acquire('a', 'x'));
    f.acquire('b', 'y');
    f.acquire('a', 'y');
    f.acquire('c', 'x');
    f.run({ type: 'session-close', sessionId: 'a' }, 10);
    expect(f.holders('x')).toEqual([`c:${first + 2n}`]); // no lock-delay after an orderly close
    expect(f.waiters('y')).toEqual([]);
    expect(f.machine.session('a')).toBeUndefined();
    expect(f.events.slice(-4).map((e) => e.type)).toEqual(['cancelled', 'released', 'session-ended', 'granted']);
  });
});

describe('lock names', () => {
  it.each([
    ['', 'lock name must be 1-512 bytes of printable UTF-8, got 0'],
    ['x'.repeat(513), 'lock name must be 1-512 bytes of printable UTF-8, got 513'],
    ['é'.repeat(257), 'lock name must be 1-512 bytes of printable UTF-8, got 514'],
    ['a\nb', 'lock name must be 1-512 bytes of printable UTF-8, but it contains control character U+000a'],
    ['a\u0000', 'lock name must be 1-512 bytes of printable UTF-8, but it contains control character U+0000'],
    ['a\u009b', 'lock name must be 1-512 bytes of printable UTF-8, but it contains control character U+009b'],
    ['a\ud800', 'lock name must be 1-512 bytes of printable UTF-8, but it contains an unpaired surrogate'],
  ])('refuses %j', (name, message) => {
    const f = new LockFixture();
    f.open('s1');
    expect(f.acquire('s1', name)).toEqual({ status: 'error', code: 'INVALID_ARGUMENT', message });
    expect(f.machine.locks()).toEqual([]);
    expect(f.machine.resources()).toEqual([]);
  });

  it.each([['x'.repeat(512)], ['é'.repeat(256)], ['orders/42'], ['ключ 🔒']])('accepts %j', (name) => {
    const f = new LockFixture();
    f.open('s1');
    expect(f.acquire('s1', name).status).toBe('granted');
  });
});

describe('exclusive and shared grants', () => {
  it('grants a free lock with the next token and queues the rest in order', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b', 'c']) f.open(s);
    expect(f.acquire('a', 'x')).toEqual({ status: 'granted', token: 1n, grantedAtMs: f.atMs });
    expect(f.acquire('b', 'x')).toEqual({ status: 'queued', position: 0 });
    expect(f.acquire('c', 'x')).toEqual({ status: 'queued', position: 1 });
    expect(f.acquire('a', 'other')).toMatchObject({ status: 'granted', token: 2n });
    expect(f.machine.lock('x')).toMatchObject({ mode: 'exclusive', delayUntilMs: 0 });
    expect(f.waiters('x')).toEqual(['b', 'c']);
  });

  it('grants shared holders together and never lets a shared request pass a queued exclusive one', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b', 'c', 'd', 'e']) f.open(s);
    const ta = tokenOf(f.acquire('a', 'x', { mode: 'shared' }));
    const tb = tokenOf(f.acquire('b', 'x', { mode: 'shared' }));
    expect(f.acquire('c', 'x', { mode: 'exclusive' }).status).toBe('queued');
    expect(f.acquire('d', 'x', { mode: 'shared' }).status).toBe('queued'); // no barging past c
    expect(f.acquire('e', 'x', { mode: 'shared' }).status).toBe('queued');
    f.release('a', 'x', ta);
    expect(f.holders('x')).toEqual([`b:${tb}`]);
    f.release('b', 'x', tb);
    expect(f.holders('x')).toEqual(['c:3']);
    const tc = 3n;
    f.release('c', 'x', tc);
    // The compatible waiters at the head are granted together, in queue order.
    expect(f.holders('x')).toEqual(['d:4', 'e:5']);
    expect(f.machine.lock('x')?.mode).toBe('shared');
  });

  it('try-lock fails with LOCK_BUSY instead of queueing, and names the holder', () => {
    const f = new LockFixture();
    f.open('a');
    f.open('b');
    f.acquire('a', 'x');
    const busy = f.acquire('b', 'x', { tryOnly: true });
    expect(busy).toEqual({
      status: 'error',
      code: 'LOCK_BUSY',
      message: '"x" is not free: held exclusive by session a (token 1)',
    });
    expect(f.waiters('x')).toEqual([]);
    expect(f.acquire('b', 'free', { tryOnly: true }).status).toBe('granted');
  });

  it('refuses re-entrance and a second wait', () => {
    const f = new LockFixture();
    f.open('a');
    f.open('b');
    f.acquire('a', 'x');
    expect(codeOf(f.acquire('a', 'x'))).toBe('ALREADY_HELD');
    f.acquire('b', 'x');
    expect(codeOf(f.acquire('b', 'x', { mode: 'shared' }))).toBe('ALREADY_WAITING');
    expect(f.waiters('x')).toEqual(['b']);
  });

  it('limits the waiters of one lock', () => {
    const f = new LockFixture({ maxWaitersPerLock: 1 });
    for (const s of ['a', 'b', 'c']) f.open(s);
    f.acquire('a', 'x');
    f.acquire('b', 'x');
    expect(codeOf(f.acquire('c', 'x'))).toBe('TOO_MANY_WAITERS');
  });

  it('emits granted with the request and the token', () => {
    const f = new LockFixture();
    f.open('a');
    f.acquire('a', 'x', { fenced: true, requestSeq: 7 });
    expect(f.events.at(-1)).toEqual({
      type: 'granted',
      sessionId: 'a',
      requestSeq: 7,
      name: 'x',
      mode: 'exclusive',
      token: 1n,
      atMs: f.atMs,
      fenced: true,
      preemptible: true,
      waitedMs: 0,
    } satisfies LockEvent);
  });
});

describe('release', () => {
  it('releases with the current token and grants the next waiter with a higher token', () => {
    const f = new LockFixture();
    f.open('a');
    f.open('b');
    const t1 = tokenOf(f.acquire('a', 'x'));
    f.acquire('b', 'x');
    expect(f.release('a', 'x', t1, undefined).status).toBe('ok');
    expect(f.holders('x')).toEqual([`b:${t1 + 1n}`]);
  });

  it.each([
    ['a stale token', 0n, 'STALE_TOKEN'],
    ['a future token', 99n, 'STALE_TOKEN'],
  ])('refuses %s', (_label, token, code) => {
    const f = new LockFixture();
    f.open('a');
    tokenOf(f.acquire('a', 'x'));
    expect(codeOf(f.release('a', 'x', token))).toBe(code);
    expect(f.holders('x')).toEqual(['a:1']);
  });

  it('refuses a double release and a release by a non-holder', () => {
    const f = new LockFixture();
    f.open('a');
    f.open('b');
    const t = tokenOf(f.acquire('a', 'x'));
    expect(codeOf(f.release('b', 'x', t))).toBe('NOT_HELD');
    expect(f.release('a', 'x', t).status).toBe('ok');
    expect(codeOf(f.release('a', 'x', t))).toBe('NOT_HELD');
    expect(f.machine.lock('x')).toBeUndefined();
  });
});

describe('cancel', () => {
  it('withdraws a waiter and lets the compatible waiters behind it through', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b', 'c']) f.open(s);
    f.acquire('a', 'x', { mode: 'shared' });
    f.acquire('b', 'x', { mode: 'exclusive', requestSeq: 40 });
    f.acquire('c', 'x', { mode: 'shared' });
    expect(f.cancel('b', 'x').status).toBe('ok');
    expect(f.events.at(-2)).toMatchObject({ type: 'cancelled', sessionId: 'b', requestSeq: 40, name: 'x' });
    expect(f.holders('x')).toEqual(['a:1', 'c:2']);
  });

  it('refuses an acquire issued before the cancel that reaches the log after it', () => {
    const f = new LockFixture();
    f.open('a');
    f.open('b');
    f.acquire('a', 'x');
    expect(f.cancel('b', 'x', 11).status).toBe('ok'); // the acquire (request 10) is still in flight
    expect(f.acquire('b', 'x', { requestSeq: 10 })).toEqual({
      status: 'error',
      code: 'NOT_HELD',
      message: 'the acquire of "x" (request 10) reached the log after its cancel (request 11)',
    });
    expect(f.waiters('x')).toEqual([]);
    expect(f.acquire('b', 'x', { requestSeq: 12 }).status).toBe('queued'); // a new acquire is not fenced
  });

  it('is idempotent when not waiting and says ALREADY_HELD when the grant won the race', () => {
    const f = new LockFixture();
    f.open('a');
    expect(f.cancel('a', 'x').status).toBe('ok');
    f.acquire('a', 'x');
    expect(codeOf(f.cancel('a', 'x'))).toBe('ALREADY_HELD');
    expect(f.holders('x')).toEqual(['a:1']);
  });
});

describe('revoke and lock-delay', () => {
  it('revokes every holder of a shared lock, or only the session named', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b', 'c']) f.open(s);
    f.acquire('a', 'x', { mode: 'shared' });
    f.acquire('b', 'x', { mode: 'shared' });
    f.acquire('c', 'x');
    expect(f.run({ type: 'revoke', name: 'x', sessionId: 'a', cause: 'operator', reason: 'r' }).status).toBe('ok');
    expect(f.holders('x')).toEqual(['b:2']);
    expect(f.run({ type: 'revoke', name: 'x', cause: 'preemption', reason: 'stale' }).status).toBe('ok');
    expect(f.holders('x')).toEqual(['c:3']);
    expect(f.events.filter((e) => e.type === 'revoked').map((e) => [e.sessionId, e.cause])).toEqual([
      ['a', 'operator'],
      ['b', 'preemption'],
    ]);
  });

  it('does nothing when the token named is no longer the holder', () => {
    const f = new LockFixture();
    f.open('a');
    const t = tokenOf(f.acquire('a', 'x'));
    f.release('a', 'x', t);
    f.acquire('a', 'x');
    const result = f.run({ type: 'revoke', name: 'x', token: t, cause: 'preemption', reason: 'late' });
    expect(codeOf(result)).toBe('STALE_TOKEN');
    expect(f.holders('x')).toEqual(['a:2']);
    expect(codeOf(f.run({ type: 'revoke', name: 'nothing', cause: 'operator', reason: '' }))).toBe('LOCK_NOT_FOUND');
    expect(codeOf(f.run({ type: 'revoke', name: 'x', sessionId: 'zz', cause: 'operator', reason: '' }))).toBe(
      'NOT_HELD',
    );
  });

  it('holds the lock back for lockDelayMs after a forced revocation, then a tick grants the waiter', () => {
    const f = new LockFixture({ lockDelayMs: 5_000 });
    for (const s of ['a', 'b', 'c']) f.open(s);
    f.acquire('a', 'x');
    f.acquire('b', 'x');
    const revokedAt = f.atMs + 100;
    f.run({ type: 'revoke', name: 'x', cause: 'preemption', reason: 'stale' }, 100);
    expect(f.holders('x')).toEqual([]);
    expect(f.machine.nextLockDelayEndMs()).toBe(revokedAt + 5_000);
    expect(codeOf(f.acquire('c', 'x', { tryOnly: true }))).toBe('LOCK_BUSY');
    f.run({ type: 'tick' }, 4_999);
    expect(f.holders('x')).toEqual([]);
    f.run({ type: 'tick' }, 1);
    expect(f.holders('x')).toEqual(['b:2']);
    expect(f.machine.nextLockDelayEndMs()).toBeNull();
  });

  it('applies the lock-delay after an expiry but not after a release', () => {
    const f = new LockFixture({ lockDelayMs: 1_000 });
    for (const s of ['a', 'b']) f.open(s);
    f.acquire('a', 'x');
    f.run({ type: 'sessions-expire', sessionIds: ['a', 'already-gone'] });
    expect(f.events.slice(-2).map((e) => e.type)).toEqual(['released', 'session-ended']);
    expect(f.events.at(-1)).toMatchObject({ expired: true });
    expect(f.acquire('b', 'x').status).toBe('queued');
    // Any later entry past the delay grants it.
    f.open('c');
    expect(f.holders('x')).toEqual([]);
    f.open('d', {}); // same entry time: still delayed
    f.run({ type: 'tick' }, 1_000);
    expect(f.holders('x')).toEqual(['b:2']);
    const t = tokenOf(f.acquire('c', 'y'));
    f.release('c', 'y', t);
    expect(f.acquire('d', 'y').status).toBe('granted');
  });

  it('forgets a delayed lock nobody waits for once the delay has passed', () => {
    const f = new LockFixture({ lockDelayMs: 1_000 });
    f.open('a');
    f.acquire('a', 'x');
    f.run({ type: 'revoke', name: 'x', cause: 'operator-force', reason: '' });
    expect(f.machine.lock('x')).toMatchObject({ holders: [], waiters: [] });
    expect(f.machine.nextLockDelayEndMs()).toBeNull(); // nobody to grant: no tick needed
    f.run({ type: 'tick' }, 1_000);
    expect(f.machine.lock('x')).toBeUndefined();
  });
});

describe('wait_ms (waits-expire)', () => {
  const timedAcquire = (f: LockFixture, sessionId: string, name: string, requestSeq: number, waitMs?: number) =>
    f.run({
      type: 'acquire',
      sessionId,
      requestSeq,
      name,
      mode: 'exclusive',
      fenced: false,
      preemptible: true,
      tryOnly: false,
      ...(waitMs === undefined ? {} : { waitMs }),
    });

  it('a queued acquire is due at its entry time + waitMs; the cancel answers it with TIMEOUT and grants the next', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b', 'c']) f.open(s);
    tokenOf(f.acquire('a', 'x'));
    const queuedAtMs = f.atMs;
    expect(timedAcquire(f, 'b', 'x', 7, 1_000)).toEqual({ status: 'queued', position: 0 });
    expect(timedAcquire(f, 'c', 'x', 1)).toEqual({ status: 'queued', position: 1 });
    expect(f.machine.lock('x')!.waiters[0]!.waitUntilMs).toBe(queuedAtMs + 1_000);
    expect(f.machine.lock('x')!.waiters[1]!.waitUntilMs).toBeUndefined();
    expect(f.machine.dueWaits(queuedAtMs + 999)).toEqual([]);
    const due = f.machine.dueWaits(queuedAtMs + 1_000);
    expect(due).toEqual([{ sessionId: 'b', name: 'x', requestSeq: 7 }]);
    // Proposed by a leader whose clock is behind the deadline: nothing happens.
    f.atMs = queuedAtMs + 500;
    expect(f.run({ type: 'waits-expire', waits: due })).toEqual({ status: 'ok' });
    expect(f.waiters('x')).toEqual(['b', 'c']);
    const eventsBefore = f.events.length;
    f.atMs = queuedAtMs + 1_000;
    expect(f.run({ type: 'waits-expire', waits: due })).toEqual({ status: 'ok' });
    expect(f.waiters('x')).toEqual(['c']);
    expect(f.events.slice(eventsBefore)).toEqual([
      { type: 'cancelled', sessionId: 'b', requestSeq: 7, name: 'x', atMs: f.atMs, timedOut: true },
    ]);
    expect(f.machine.session('b')!.waiting).toEqual([]);
    // A retry of the request gets the TIMEOUT; a repeated cancel changes nothing.
    expect(timedAcquire(f, 'b', 'x', 7, 1_000)).toMatchObject({
      status: 'error',
      code: 'TIMEOUT',
      message: 'the acquire of "x" (request_seq 7) was not granted within its wait of 1000 ms; the leader cancelled it',
    });
    const image = f.machine.snapshot();
    expect(f.run({ type: 'waits-expire', waits: due })).toEqual({ status: 'ok' });
    expect(Buffer.from(f.machine.snapshot()).equals(Buffer.from(image))).toBe(true);
    expect(f.machine.dueWaits(f.atMs + 1e9)).toEqual([]);
  });

  it('a waiter granted before its deadline is not cancelled', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b']) f.open(s);
    const t = tokenOf(f.acquire('a', 'x'));
    timedAcquire(f, 'b', 'x', 3, 1_000);
    f.release('a', 'x', t);
    f.atMs += 5_000;
    expect(f.run({ type: 'waits-expire', waits: [{ sessionId: 'b', name: 'x', requestSeq: 3 }] }).status).toBe('ok');
    expect(f.holders('x')).toEqual(['b:2']);
  });

  it('refuses a waitMs that is not an integer from 0 to 2^32-1', () => {
    const f = new LockFixture();
    f.open('a');
    for (const waitMs of [-1, 1.5, 2 ** 32]) {
      expect(timedAcquire(f, 'a', 'x', 1, waitMs)).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(f.machine.lock('x')).toBeUndefined();
  });

  it('the deadline survives a snapshot', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b']) f.open(s);
    f.acquire('a', 'x');
    timedAcquire(f, 'b', 'x', 3, 2_000);
    const restored = new LockStateMachine();
    restored.restore(f.machine.snapshot());
    expect(restored.dueWaits(f.atMs + 2_000)).toEqual([{ sessionId: 'b', name: 'x', requestSeq: 3 }]);
  });
});

describe('deadlock detection', () => {
  it('refuses the acquire that closes a two-session cycle and names it', () => {
    const f = new LockFixture();
    f.open('a');
    f.open('b');
    f.acquire('a', 'x');
    f.acquire('b', 'y');
    expect(f.acquire('a', 'y').status).toBe('queued');
    expect(f.acquire('b', 'x')).toEqual({
      status: 'error',
      code: 'DEADLOCK',
      message: 'waiting for "x" would deadlock: session b waits for a on "x", session a waits for b on "y"',
    });
    expect(f.waiters('x')).toEqual([]);
  });

  it('finds a three-session cycle and one through a waiter ahead in the queue', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b', 'c']) f.open(s);
    f.acquire('a', 'x');
    f.acquire('b', 'y');
    f.acquire('c', 'z');
    f.acquire('a', 'y');
    f.acquire('b', 'z');
    expect(codeOf(f.acquire('c', 'x'))).toBe('DEADLOCK');

    const g = new LockFixture();
    for (const s of ['a', 'b', 'c']) g.open(s);
    g.acquire('a', 'x', { mode: 'shared' });
    g.acquire('c', 'z');
    g.acquire('b', 'x', { mode: 'exclusive' }); // b queues behind a
    g.acquire('b', 'w');
    g.acquire('c', 'x', { mode: 'shared' }); // c queues behind b (no barging)
    // b waits... now b asks for z held by c, while c waits behind b on x.
    expect(g.acquire('b', 'z')).toMatchObject({ code: 'DEADLOCK' });
  });

  it('lets a chain of waits without a cycle through', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b', 'c', 'd']) f.open(s);
    f.acquire('a', 'x');
    f.acquire('b', 'y');
    expect(f.acquire('b', 'x').status).toBe('queued'); // b waits for a
    expect(f.acquire('c', 'y').status).toBe('queued'); // c waits for b
    expect(f.acquire('d', 'x').status).toBe('queued'); // d waits for a and b
    expect(f.acquire('a', 'z').status).toBe('granted');
    expect(f.acquire('c', 'z').status).toBe('queued'); // c waits for a: still no cycle
  });
});

describe('deadlock detection on long queues', () => {
  it('finds a cycle through a queue of thousands of waiters and names its ends', () => {
    const f = new LockFixture({ maxWaitersPerLock: 5_000 });
    f.open('holder');
    f.acquire('holder', 'x');
    for (let i = 0; i < 3_000; i++) {
      f.open(`w${i}`);
      if (i === 2_999) f.acquire(`w${i}`, 'y');
      expect(f.acquire(`w${i}`, 'x').status).toBe('queued');
    }
    // w0, first in line for x, now waits for y held by the last in line: the cycle runs through the whole queue.
    const result = f.acquire('w0', 'y');
    expect(result).toMatchObject({ status: 'error', code: 'DEADLOCK' });
    expect((result as { message: string }).message).toMatch(
      /^waiting for "y" would deadlock: session w0 waits for w2999 on "y", session w2999 waits for w2998 on "x", .* \.\.\. 2992 more \.\.\., .*session w1 waits for w0 on "x"$/,
    );
  });
});

describe('request dedup (Raft thesis 6.3)', () => {
  it('answers a retried acquire with its first result and changes nothing', () => {
    const f = new LockFixture();
    f.open('a');
    const first = f.acquire('a', 'x', { requestSeq: 5 });
    const eventsBefore = f.events.length;
    expect(f.acquire('a', 'x', { requestSeq: 5 })).toEqual(first);
    expect(f.events.length).toBe(eventsBefore);
    expect(f.machine.lastGrantedToken).toBe(1n);
  });

  it('answers a retried queued acquire with its current state', () => {
    const f = new LockFixture();
    for (const s of ['a', 'b', 'c']) f.open(s);
    const t = tokenOf(f.acquire('a', 'x'));
    f.acquire('b', 'x', { requestSeq: 1 });
    expect(f.acquire('c', 'x', { requestSeq: 2 })).toEqual({ status: 'queued', position: 1 });
    f.cancel('b', 'x', 3);
    expect(f.acquire('c', 'x', { requestSeq: 2 })).toEqual({ status: 'queued', position: 0 });
    expect(f.acquire('b', 'x', { requestSeq: 1 })).toMatchObject({ code: 'NOT_HELD' });
    f.release('a', 'x', t);
    expect(f.acquire('c', 'x', { requestSeq: 2 })).toEqual({ status: 'granted', token: 2n, grantedAtMs: f.atMs });
    expect(f.waiters('x')).toEqual([]);
  });

  it('answers a retried release once', () => {
    const f = new LockFixture();
    f.open('a');
    const t = tokenOf(f.acquire('a', 'x'));
    expect(f.release('a', 'x', t, 10).status).toBe('ok');
    f.acquire('a', 'x');
    expect(f.release('a', 'x', t, 10).status).toBe('ok');
    expect(f.holders('x')).toEqual(['a:2']);
  });

  it('refuses another request under a remembered request_seq with INVALID_ARGUMENT, and changes nothing', () => {
    const f = new LockFixture();
    f.open('a');
    f.open('b');
    const held = f.acquire('a', 'probe/wait', { requestSeq: 1 });
    expect(held.status).toBe('granted');
    const before = f.machine.snapshot();
    const eventsBefore = f.events.length;
    const reused = [
      f.acquire('a', 'probe/other', { requestSeq: 1 }),
      f.acquire('a', 'probe/wait', { requestSeq: 1, mode: 'shared' }),
      f.acquire('a', 'probe/wait', { requestSeq: 1, fenced: true }),
      f.acquire('a', 'probe/wait', { requestSeq: 1, tryOnly: true }),
      f.acquire('a', 'probe/wait', { requestSeq: 1, metadata: 'candidate' }),
      f.run({
        type: 'acquire',
        sessionId: 'a',
        requestSeq: 1,
        name: 'probe/wait',
        mode: 'exclusive',
        fenced: false,
        preemptible: false,
        tryOnly: false,
      }),
      f.release('a', 'probe/wait', tokenOf(held), 1),
      f.cancel('a', 'probe/wait', 1),
    ];
    for (const result of reused) {
      expect(result).toMatchObject({ status: 'error', code: 'INVALID_ARGUMENT' });
      expect((result as { message: string }).message).toMatch(
        /^request_seq 1 of session a was already used by another request \(acquire of "probe\/wait" \(exclusive\)\); this .+ needs a request_seq of its own/,
      );
    }
    expect((reused[0] as { message: string }).message).toContain('this acquire of "probe/other" (exclusive)');
    // Nothing changed: no grant of probe/other, no event, the same state; the session lives on.
    expect(f.events.length).toBe(eventsBefore);
    expect(Buffer.from(f.machine.snapshot()).equals(Buffer.from(before))).toBe(true);
    expect(f.machine.lock('probe/other')).toBeUndefined();
    expect(f.machine.session('a')?.held).toEqual(['probe/wait']);
    // The true retry still gets the remembered answer, and new numbers work as before.
    expect(f.acquire('a', 'probe/wait', { requestSeq: 1 })).toEqual(held);
    expect(f.acquire('a', 'probe/other', { requestSeq: 2 }).status).toBe('granted');
    // Another session's request_seq 1 is its own.
    expect(f.acquire('b', 'probe/third', { requestSeq: 1 }).status).toBe('granted');
  });

  it('describes long metadata by its hash, so a retry with other metadata is still refused', () => {
    const f = new LockFixture();
    f.open('a');
    const first = f.acquire('a', 'x', { requestSeq: 4, metadata: 'm'.repeat(200) });
    expect(f.acquire('a', 'x', { requestSeq: 4, metadata: 'm'.repeat(200) })).toEqual(first);
    expect(f.acquire('a', 'x', { requestSeq: 4, metadata: `${'m'.repeat(199)}n` })).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/metadata sha256:[0-9a-f]{16}\)/),
    });
  });

  it('refuses a retry older than the remembered window', () => {
    const f = new LockFixture({ dedupWindow: 2 });
    f.open('a');
    f.acquire('a', 'x1', { requestSeq: 1 });
    f.acquire('a', 'x2', { requestSeq: 2 });
    f.acquire('a', 'x3', { requestSeq: 3 });
    expect(f.acquire('a', 'x1', { requestSeq: 1 })).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(f.acquire('a', 'x2', { requestSeq: 2 }).status).toBe('granted');
  });
});

describe('usage history', () => {
  it('counts requests and releases per bucket and keeps hold durations and wait times', () => {
    const f = new LockFixture({ usage: { bucketMs: 1_000, buckets: 3, holdSamples: 2, waitSamples: 2 } });
    f.atMs = 10_000;
    f.open('a');
    f.open('b');
    const t1 = tokenOf(f.acquire('a', 'x'));
    f.acquire('b', 'x', {}); // queued at 10_000
    f.release('a', 'x', t1, undefined);
    f.run({ type: 'tick' }, 0);
    f.atMs = 10_500;
    const t2 = f.machine.lock('x')!.holders[0]!.token;
    f.release('b', 'x', t2, undefined);
    f.atMs = 12_200;
    const t3 = tokenOf(f.acquire('a', 'x'));
    f.release('a', 'x', t3, undefined);
    f.atMs = 12_300;
    f.release('a', 'x', t3, undefined); // refused: no release counted
    expect(f.machine.usage('x')).toEqual({
      name: 'x',
      bucketMs: 1_000,
      buckets: [
        { startMs: 10_000, requests: 2, releases: 2 },
        { startMs: 12_000, requests: 1, releases: 1 },
      ],
      holdDurationsMs: [500, 0],
      waitTimesMs: [0, 0],
    });
    f.atMs = 13_000;
    f.acquire('a', 'x');
    expect(f.machine.usage('x')!.buckets.map((b) => b.startMs)).toEqual([12_000, 13_000]);
    expect(f.machine.resources()).toEqual(['x']);
  });

  it('forgets the least recently used resource beyond the limit', () => {
    const f = new LockFixture({ usage: { maxResources: 2 } });
    f.open('a');
    f.acquire('a', 'r1');
    f.acquire('a', 'r2');
    f.acquire('a', 'r3');
    expect(f.machine.resources()).toEqual(['r2', 'r3']);
  });
});

describe('queries and entries', () => {
  it('shows holders with their sessions and waiters in order', () => {
    const f = new LockFixture();
    f.open('a', { clientName: 'alpha' });
    f.open('b', { clientName: 'beta' });
    f.acquire('a', 'x', { fenced: true, requestSeq: 3, metadata: 'candidate-1' });
    f.acquire('b', 'x', { mode: 'shared', requestSeq: 4 });
    expect(f.machine.lock('x')).toEqual({
      name: 'x',
      mode: 'exclusive',
      holders: [
        {
          sessionId: 'a',
          clientName: 'alpha',
          user: '',
          requestSeq: 3,
          mode: 'exclusive',
          token: 1n,
          fenced: true,
          preemptible: true,
          metadata: 'candidate-1',
          grantedAtMs: f.atMs,
        },
      ],
      waiters: [
        {
          sessionId: 'b',
          clientName: 'beta',
          user: '',
          requestSeq: 4,
          mode: 'shared',
          fenced: false,
          preemptible: true,
          metadata: '',
          enqueuedAtMs: f.atMs,
        },
      ],
      delayUntilMs: 0,
    });
    expect(f.machine.session('b')).toEqual({
      sessionId: 'b',
      clientName: 'beta',
      user: '',
      ttlMs: 10_000,
      openedAtMs: f.atMs,
      held: [],
      waiting: ['x'],
    });
    expect(f.machine.sessions().map((s) => s.sessionId)).toEqual(['a', 'b']);
    expect(f.machine.locks().map((l) => l.name)).toEqual(['x']);
  });

  it("keeps an acquire's metadata with its grant, up to 1 KiB", () => {
    const f = new LockFixture();
    f.open('a');
    f.open('b');
    expect(f.acquire('a', 'x', { metadata: 'é'.repeat(512) }).status).toBe('granted');
    expect(f.machine.lock('x')?.holders[0]?.metadata).toBe('é'.repeat(512));
    expect(f.acquire('b', 'y', { metadata: 'x'.repeat(1_025) })).toEqual({
      status: 'error',
      code: 'INVALID_ARGUMENT',
      message: 'lock metadata must be at most 1024 bytes, got 1025',
    });
    expect(f.acquire('b', 'x', { metadata: 'next' }).status).toBe('queued');
    f.release('a', 'x', 1n);
    expect(f.machine.lock('x')?.holders[0]).toMatchObject({ sessionId: 'b', metadata: 'next' });
  });

  it('applies encoded log entries and refuses undecodable ones without change', () => {
    const f = new LockFixture();
    const data = encodeLockEntry({
      atMs: 5,
      command: { type: 'session-open', sessionId: 's', secretHash: 'b'.repeat(64), ttlMs: 2_000, clientName: 'c' },
    });
    expect(f.machine.apply({ index: 1, term: 1, type: 'normal', data })).toEqual({ status: 'ok' });
    const garbage = f.machine.apply({ index: 2, term: 1, type: 'normal', data: new Uint8Array([0xc1]) });
    expect(codeOf(garbage)).toBe('INVALID_ARGUMENT');
    expect(f.machine.sessions()).toHaveLength(1);
  });

  it('never lets entry time go backwards (a new leader with a slower clock)', () => {
    const f = new LockFixture();
    f.open('a');
    const t = tokenOf(f.acquire('a', 'x'));
    f.atMs -= 500;
    f.release('a', 'x', t);
    expect(f.events.at(-1)).toMatchObject({ type: 'released', heldMs: 0 });
    expect(f.machine.lastAppliedAtMs).toBe(f.atMs + 500);
  });
});
