// The leader's own proposals on virtual time: new-leader grace, batched expiry, late keepalives, operator revoke
// timing (docs/design.md, principle 2) and lock-delay ticks. Real LockStateMachine and SessionTracker over a one-node
// test double.
import { describe, expect, it } from 'vitest';
import { decodeLockEntry, encodeLockEntry } from '../../src/lock/codec.js';
import type { LockCommand } from '../../src/lock/commands.js';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { RaftNotLeaderError } from '../../src/raft/errors.js';
import { ttlGuarantee } from '../../src/server/guarantee.js';
import { LeaderDuties, type ScheduledRevocation } from '../../src/server/leader-duties.js';
import { LockService } from '../../src/server/lock-service.js';
import { SessionTracker } from '../../src/session/tracker.js';
import { ManualClock } from '../../src/util/clock.js';
import { FakeRaftNode } from './server-fake-raft.js';

const T0 = 1_000_000;
const TTL = 10_000;

async function setup(options: { lockDelayMs?: number; leader?: boolean } = {}) {
  const clock = new ManualClock(T0);
  const machine = new LockStateMachine({ lockDelayMs: options.lockDelayMs ?? 0 });
  const raft = new FakeRaftNode(machine);
  if (options.leader === false) raft.become('follower', 1, null);
  const tracker = new SessionTracker();
  const service = new LockService({ raft, machine, tracker, clock, guarantees: ttlGuarantee });
  const errors: unknown[] = [];
  const duties = new LeaderDuties(raft, service, tracker, clock, (error) => errors.push(error));
  machine.onEvent((event) => duties.applied(event));
  await duties.statusChanged(raft.status());
  const commands = (): LockCommand[] => raft.log.map((data) => decodeLockEntry(data).command);
  const acquire = (sessionId: string, name: string, fenced = false, requestSeq = 1) =>
    service.proposeAccepted({
      type: 'acquire',
      sessionId,
      requestSeq,
      name,
      mode: 'exclusive',
      fenced,
      preemptible: true,
      tryOnly: false,
    });
  return { clock, machine, raft, tracker, service, duties, errors, commands, acquire };
}

describe('taking office', () => {
  it('a new leader extends every session by one full TTL from taking office before expiring any', async () => {
    const { clock, machine, raft, duties } = await setup({ leader: false });
    // Sessions replicated from the previous leader, whose promises this node cannot know.
    for (const sessionId of ['a', 'b']) {
      const command: LockCommand = {
        type: 'session-open',
        sessionId,
        secretHash: 'f'.repeat(64),
        ttlMs: TTL,
        clientName: sessionId,
      };
      machine.apply({ index: 0, term: 1, type: 'normal', data: encodeLockEntry({ atMs: T0, command }) });
    }
    clock.advance(3 * TTL);
    expect(duties.dueCommands(clock.now())).toEqual([]);
    raft.become('leader', 2, 'node1');
    await duties.statusChanged(raft.status());
    const officeMs = clock.now();
    expect(duties.active).toBe(true);
    expect(duties.dueCommands(officeMs + TTL - 1)).toEqual([]);
    expect(duties.dueCommands(officeMs + TTL)).toEqual([{ type: 'sessions-expire', sessionIds: ['a', 'b'] }]);
  });

  it('a follower proposes nothing and refuses an operator revoke with RaftNotLeaderError', async () => {
    const { clock, duties } = await setup({ leader: false });
    expect(duties.active).toBe(false);
    expect(duties.dueCommands(clock.now() + 10 * TTL)).toEqual([]);
    await expect(duties.revoke('x', '', false, 'r')).rejects.toBeInstanceOf(RaftNotLeaderError);
  });
});

describe('session expiry', () => {
  it('expires every session whose promise passed in one entry, and only once', async () => {
    const { clock, machine, service, duties, commands } = await setup();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await service.openSession(`c${i}`, TTL, clock.now())).sessionId);
    clock.advance(500);
    expect(service.keepalive({ sessionId: ids[2]!, receiveMs: clock.now() })).toEqual({
      guaranteeMs: TTL,
      keepaliveIntervalMs: 3_333,
      leaseMs: TTL,
    });
    clock.set(T0 + TTL);
    await duties.runDue();
    await duties.runDue();
    const expiries = commands().filter((command) => command.type === 'sessions-expire');
    expect(expiries).toEqual([{ type: 'sessions-expire', sessionIds: [ids[0], ids[1]] }]);
    expect(machine.sessions().map((session) => session.sessionId)).toEqual([ids[2]]);
  });

  it('never expires a session before its promise, and does at the promise without a renewal', async () => {
    const { clock, service, duties } = await setup();
    const { sessionId } = await service.openSession('c', TTL, clock.now());
    clock.advance(4_000);
    service.keepalive({ sessionId: sessionId, receiveMs: clock.now() });
    expect(duties.dueCommands(T0 + 4_000 + TTL - 1)).toEqual([]);
    expect(duties.dueCommands(T0 + 4_000 + TTL)).toEqual([{ type: 'sessions-expire', sessionIds: [sessionId] }]);
  });

  it('does not answer (or extend) a keepalive that arrives after the promise passed', async () => {
    const { clock, service, tracker } = await setup();
    const { sessionId } = await service.openSession('c', TTL, clock.now());
    clock.advance(TTL);
    expect(service.keepalive({ sessionId: sessionId, receiveMs: clock.now() })).toBeNull();
    expect(tracker.promisedUntil(sessionId)).toBe(T0 + TTL);
  });
});

describe('operator revoke (docs/design.md, principle 2)', () => {
  it('revokes an ordinary lock at the end of the promise given before the request, not of later renewals', async () => {
    const { clock, service, duties, acquire, machine } = await setup();
    const { sessionId } = await service.openSession('c', TTL, clock.now());
    const grant = await acquire(sessionId, 'ordinary');
    clock.advance(2_000);
    service.keepalive({ sessionId: sessionId, receiveMs: clock.now() }); // promise: T0 + 12 s
    clock.advance(1_000);
    const [revocation] = await duties.revoke('ordinary', '', false, 'maintenance');
    expect(revocation).toEqual({
      sessionId,
      token: grant.status === 'granted' ? grant.token : -1n,
      revokeAtMs: T0 + 2_000 + TTL,
      graceMs: 2_000 + TTL - 3_000,
      immediate: false,
    });
    // Replicated with the hold, so that a later leader carries it out.
    expect(machine.pendingRevocations()).toEqual([
      {
        name: 'ordinary',
        sessionId,
        token: revocation!.token,
        fenced: false,
        cause: 'operator',
        reason: 'maintenance',
        revokeAtMs: T0 + 2_000 + TTL,
      },
    ]);
    clock.advance(2_000);
    service.keepalive({ sessionId: sessionId, receiveMs: clock.now() }); // extends the session to T0 + 15 s, not the lock
    expect(duties.dueCommands(T0 + 2_000 + TTL - 1)).toEqual([]);
    clock.set(T0 + 2_000 + TTL);
    expect(duties.dueCommands(clock.now())).toEqual([
      {
        type: 'revoke',
        name: 'ordinary',
        sessionId,
        token: revocation!.token,
        cause: 'operator',
        reason: 'maintenance',
      },
    ]);
    await duties.runDue();
    expect(machine.lock('ordinary')).toBeUndefined();
    expect(machine.session(sessionId)).toBeDefined();
    expect(duties.dueCommands(clock.now())).toEqual([]);
  });

  it('hands the caller the schedule before committing it, for the Pre-emption Requests to go out before any later answer', async () => {
    const { clock, service, duties, acquire, machine } = await setup();
    const { sessionId } = await service.openSession('c', TTL, clock.now());
    await acquire(sessionId, 'ordinary');
    let pendingWhenRequested: number | null = null;
    let requested: readonly ScheduledRevocation[] = [];
    const revoked = await duties.revoke('ordinary', '', false, 'r', (scheduled) => {
      requested = scheduled;
      pendingWhenRequested = machine.pendingRevocations().length;
    });
    expect(pendingWhenRequested).toBe(0);
    expect(requested).toEqual(revoked);
    expect(machine.pendingRevocations()).toHaveLength(1);
  });

  it('revokes a fenced lock at once, committed before the reply', async () => {
    const { clock, service, duties, acquire, machine } = await setup();
    const { sessionId } = await service.openSession('c', TTL, clock.now());
    await acquire(sessionId, 'fenced', true);
    const [revocation] = await duties.revoke('fenced', '', false, 'r');
    expect(revocation).toMatchObject({ revokeAtMs: clock.now(), immediate: true });
    expect(machine.lock('fenced')).toBeUndefined();
    expect(duties.dueCommands(clock.now())).toEqual([]);
  });

  it('revokes an ordinary lock at once with force', async () => {
    const { clock, service, duties, acquire, machine, commands } = await setup();
    const { sessionId } = await service.openSession('c', TTL, clock.now());
    await acquire(sessionId, 'forced');
    const [revocation] = await duties.revoke('forced', '', true, 'r');
    expect(revocation).toMatchObject({ revokeAtMs: clock.now(), immediate: true });
    expect(machine.lock('forced')).toBeUndefined();
    expect(commands().at(-1)).toMatchObject({ type: 'revoke', cause: 'operator-force' });
  });
});

describe('lock-delay', () => {
  it('proposes one tick when a lock-delay ends, which grants the waiter', async () => {
    const { clock, service, duties, acquire, machine, commands } = await setup({ lockDelayMs: 500 });
    const holder = await service.openSession('holder', TTL, clock.now());
    const waiter = await service.openSession('waiter', 60_000, clock.now());
    await acquire(holder.sessionId, 'delayed');
    expect(await acquire(waiter.sessionId, 'delayed')).toMatchObject({ status: 'queued' });
    clock.set(T0 + TTL);
    await duties.runDue(); // the holder's session expires: a forced loss, so the lock-delay starts
    expect(machine.lock('delayed')?.holders).toEqual([]);
    expect(duties.dueCommands(T0 + TTL + 499)).toEqual([]);
    clock.set(T0 + TTL + 500);
    await duties.runDue();
    await duties.runDue();
    expect(commands().filter((command) => command.type === 'tick')).toHaveLength(1);
    expect(machine.lock('delayed')?.holders.map((h) => h.sessionId)).toEqual([waiter.sessionId]);
  });
});

describe('wait_ms', () => {
  it('cancels a queued acquire when its wait runs out, in one replicated entry, proposed once', async () => {
    const { clock, machine, service, duties, commands, acquire } = await setup();
    const holder = (await service.openSession('h', TTL, clock.now())).sessionId;
    const waiter = (await service.openSession('w', TTL, clock.now())).sessionId;
    await acquire(holder, 'x');
    const queuedAtMs = clock.now();
    await service.proposeAccepted({
      type: 'acquire',
      sessionId: waiter,
      requestSeq: 4,
      name: 'x',
      mode: 'exclusive',
      fenced: false,
      preemptible: true,
      tryOnly: false,
      waitMs: 1_000,
    });
    const events: unknown[] = [];
    machine.onEvent((event) => events.push(event));
    clock.advance(999);
    expect(duties.dueCommands(clock.now())).toEqual([]);
    clock.advance(1);
    const wait = { sessionId: waiter, name: 'x', requestSeq: 4 };
    expect(duties.dueCommands(clock.now())).toEqual([{ type: 'waits-expire', waits: [wait] }]);
    const proposing = duties.runDue();
    // In flight: not proposed a second time.
    expect(duties.dueCommands(clock.now())).toEqual([]);
    await proposing;
    expect(commands().at(-1)).toEqual({ type: 'waits-expire', waits: [wait] });
    expect(commands().filter((command) => command.type === 'waits-expire')).toHaveLength(1);
    expect(machine.lock('x')!.waiters).toEqual([]);
    expect(events).toEqual([
      { type: 'cancelled', sessionId: waiter, requestSeq: 4, name: 'x', atMs: queuedAtMs + 1_000, timedOut: true },
    ]);
    expect(duties.dueCommands(clock.now() + TTL / 2)).toEqual([]);
  });
});
