// The lock state machine keeps an operator's revoke scheduled for later with the hold it applies to: listed for a new
// leader to re-arm, kept across snapshots, brought forward only, and gone when the hold ends.
import { describe, expect, it } from 'vitest';
import type { LockCommand } from '../../src/lock/commands.js';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { LockFixture, tokenOf } from './lock-fixtures.js';

function scheduled(name: string, sessionId: string, token: bigint, revokeAtMs: number): LockCommand {
  return { type: 'revoke-scheduled', name, sessionId, token, cause: 'operator', reason: 'maintenance', revokeAtMs };
}

/** s1 holds "db" (ordinary), s2 waits for it. */
function heldAndWaitedFor(): { fixture: LockFixture; token: bigint } {
  const fixture = new LockFixture();
  fixture.open('s1');
  fixture.open('s2');
  const token = tokenOf(fixture.acquire('s1', 'db'));
  expect(fixture.acquire('s2', 'db').status).toBe('queued');
  return { fixture, token };
}

describe('revoke-scheduled', () => {
  it('lists the hold with its cause, reason and time, and changes nothing else', () => {
    const { fixture, token } = heldAndWaitedFor();
    const before = fixture.machine.locks();
    expect(fixture.run(scheduled('db', 's1', token, 1_005_000))).toEqual({ status: 'ok' });
    expect(fixture.machine.pendingRevocations()).toEqual([
      {
        name: 'db',
        sessionId: 's1',
        token,
        fenced: false,
        cause: 'operator',
        reason: 'maintenance',
        revokeAtMs: 1_005_000,
      },
    ]);
    expect(fixture.holders('db')).toEqual([`s1:${token}`]);
    expect(fixture.waiters('db')).toEqual(['s2']);
    expect(fixture.machine.lock('db')?.holders[0]?.scheduledRevocation).toEqual({
      cause: 'operator',
      reason: 'maintenance',
      revokeAtMs: 1_005_000,
    });
    expect(before[0]?.holders[0]?.scheduledRevocation).toBeUndefined();
  });

  it('survives a snapshot and restore', () => {
    const { fixture, token } = heldAndWaitedFor();
    fixture.run(scheduled('db', 's1', token, 1_005_000));
    const restored = new LockStateMachine();
    restored.restore(fixture.machine.snapshot());
    expect(restored.pendingRevocations()).toEqual(fixture.machine.pendingRevocations());
    expect(restored.pendingRevocations()).toHaveLength(1);
  });

  it('can be brought forward by a repeated request, never postponed', () => {
    const { fixture, token } = heldAndWaitedFor();
    fixture.run(scheduled('db', 's1', token, 1_005_000));
    fixture.run(scheduled('db', 's1', token, 1_009_000));
    expect(fixture.machine.pendingRevocations()[0]?.revokeAtMs).toBe(1_005_000);
    fixture.run(scheduled('db', 's1', token, 1_002_000));
    expect(fixture.machine.pendingRevocations()[0]?.revokeAtMs).toBe(1_002_000);
  });

  it('refuses a token that no longer holds the lock, recording nothing', () => {
    const { fixture, token } = heldAndWaitedFor();
    const result = fixture.run(scheduled('db', 's1', token + 5n, 1_005_000));
    expect(result).toMatchObject({ status: 'error', code: 'STALE_TOKEN' });
    expect(fixture.run(scheduled('db', 's2', token, 1_005_000))).toMatchObject({ status: 'error', code: 'NOT_HELD' });
    expect(fixture.run(scheduled('free', 's1', token, 1_005_000))).toMatchObject({
      status: 'error',
      code: 'LOCK_NOT_FOUND',
    });
    expect(fixture.machine.pendingRevocations()).toEqual([]);
  });

  it.each<[string, (fixture: LockFixture, token: bigint) => void]>([
    ['released', (fixture, token) => fixture.release('s1', 'db', token)],
    [
      'revoked',
      (fixture, token) =>
        fixture.run({ type: 'revoke', name: 'db', sessionId: 's1', token, cause: 'operator', reason: 'maintenance' }),
    ],
    ['its session expired', (fixture) => fixture.run({ type: 'sessions-expire', sessionIds: ['s1'] })],
    ['its session closed', (fixture) => fixture.run({ type: 'session-close', sessionId: 's1' })],
  ])('ends with the hold when it is %s, and the next grant carries none', (_how, end) => {
    const { fixture, token } = heldAndWaitedFor();
    fixture.run(scheduled('db', 's1', token, 1_005_000));
    end(fixture, token);
    expect(fixture.machine.pendingRevocations()).toEqual([]);
    const next = fixture.machine.lock('db')?.holders[0];
    expect(next?.sessionId).toBe('s2');
    expect(next?.token).toBeGreaterThan(token);
    expect(next?.scheduledRevocation).toBeUndefined();
  });
});
