// LockService batching: commands proposed in one event-loop turn share one log entry, each answered with its own
// result in order; a lone command stays a plain entry; batches are bounded; a failed proposal fails all its commands.
import { describe, expect, it } from 'vitest';
import { decodeLockEntries, decodeLockEntry } from '../../src/lock/codec.js';
import type { LockCommand } from '../../src/lock/commands.js';
import { hashSecret } from '../../src/lock/secret.js';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { RaftNotLeaderError } from '../../src/raft/errors.js';
import { ttlGuarantee } from '../../src/server/guarantee.js';
import { LockService } from '../../src/server/lock-service.js';
import { SessionTracker } from '../../src/session/tracker.js';
import { ManualClock } from '../../src/util/clock.js';
import { FakeRaftNode } from './server-fake-raft.js';

const T0 = 7_000_000;

function setup(maxBatchCommands?: number, onOutcomeError?: (error: unknown) => void, maxBatchWork?: number) {
  const clock = new ManualClock(T0);
  const machine = new LockStateMachine();
  const raft = new FakeRaftNode(machine);
  const service = new LockService({
    raft,
    machine,
    tracker: new SessionTracker(),
    clock,
    guarantees: ttlGuarantee,
    ...(maxBatchCommands === undefined ? {} : { maxBatchCommands }),
    ...(onOutcomeError === undefined ? {} : { onOutcomeError }),
    ...(maxBatchWork === undefined ? {} : { maxBatchWork }),
  });
  return { clock, machine, raft, service };
}

const open = (sessionId: string): LockCommand => ({
  type: 'session-open',
  sessionId,
  secretHash: hashSecret(sessionId),
  ttlMs: 10_000,
  clientName: 'w',
});

const acquire = (sessionId: string, requestSeq: number, name: string): LockCommand => ({
  type: 'acquire',
  sessionId,
  requestSeq,
  name,
  mode: 'exclusive',
  fenced: false,
  preemptible: true,
  tryOnly: false,
});

describe('LockService batching', () => {
  it('proposes the commands of one turn as one entry and answers each with its own result, in order', async () => {
    const { raft, service } = setup();
    await Promise.all([service.propose(open('s1')), service.propose(open('s2'))]);
    const entriesBefore = raft.log.length;
    const results = await Promise.all([
      service.propose(acquire('s1', 1, 'x')),
      service.propose(acquire('s2', 1, 'x')),
      service.propose(acquire('s2', 2, 'y')),
    ]);
    expect(results).toEqual([
      { status: 'granted', token: 1n, grantedAtMs: T0 },
      { status: 'queued', position: 0 },
      { status: 'granted', token: 2n, grantedAtMs: T0 },
    ]);
    expect(raft.log.length).toBe(entriesBefore + 1);
    const parts = decodeLockEntries(raft.log.at(-1)!);
    expect(parts.map((part) => part.command)).toEqual([
      acquire('s1', 1, 'x'),
      acquire('s2', 1, 'x'),
      acquire('s2', 2, 'y'),
    ]);
    expect(parts.every((part) => part.atMs === T0)).toBe(true);
  });

  it('proposes a lone command as a plain entry', async () => {
    const { raft, service } = setup();
    await service.propose(open('s1'));
    expect(raft.log).toHaveLength(1);
    expect(decodeLockEntry(raft.log[0]!)).toEqual({ atMs: T0, command: open('s1') });
  });

  it('stamps each turn with the leader clock of the moment it proposes', async () => {
    const { clock, raft, service } = setup();
    await service.propose(open('s1'));
    clock.advance(250);
    await service.propose(acquire('s1', 1, 'x'));
    expect(raft.log.map((data) => decodeLockEntry(data).atMs)).toEqual([T0, T0 + 250]);
  });

  it('packs at most maxBatchCommands commands into one entry', async () => {
    const { raft, service } = setup(2);
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => service.propose(open(id))));
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ status: 'ok' })));
    expect(raft.log.map((data) => decodeLockEntries(data).length)).toEqual([2, 2, 1]);
    expect(() => setup(0)).toThrow(RangeError);
  });

  it('ends an entry before it would pass maxBatchWork lock changes: a closing session counts every lock it holds', async () => {
    const { machine, raft, service } = setup(undefined, undefined, 9);
    for (const id of ['a', 'b', 'c']) await service.propose(open(id));
    let seq = 1;
    for (const id of ['a', 'b']) for (let n = 0; n < 4; n++) await service.propose(acquire(id, seq++, `${id}/${n}`));
    const entriesBefore = raft.log.length;
    // a and b hold 4 locks each (5 changes to close), c none (1): 5 + 5 > 9, so a alone, then b and c (6).
    const closed = await Promise.all(
      ['a', 'b', 'c'].map((id) => service.propose({ type: 'session-close', sessionId: id })),
    );
    expect(closed).toEqual([{ status: 'ok' }, { status: 'ok' }, { status: 'ok' }]);
    expect(raft.log.slice(entriesBefore).map((data) => decodeLockEntries(data).length)).toEqual([1, 2]);
    expect(machine.lockCount()).toBe(0);
    expect(() => setup(undefined, undefined, 0)).toThrow(RangeError);
  });

  it('fails every command of a batch whose proposal fails, and changes nothing', async () => {
    const { machine, raft, service } = setup();
    raft.become('follower', 2, 'node2');
    const outcomes = await Promise.allSettled([service.propose(open('s1')), service.propose(open('s2'))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    for (const outcome of outcomes) {
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(RaftNotLeaderError);
    }
    expect(raft.log).toHaveLength(0);
    expect(machine.sessions()).toEqual([]);
  });

  it('fails the batch, not the process, when the proposal throws (it runs in a setImmediate callback)', async () => {
    const { machine, raft, service } = setup();
    raft.propose = () => {
      throw new Error('disk on fire');
    };
    const outcomes = await Promise.allSettled([service.propose(open('s1')), service.propose(open('s2'))]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: new Error('disk on fire') },
      { status: 'rejected', reason: new Error('disk on fire') },
    ]);
    expect(machine.sessions()).toEqual([]);
  });

  it('answers every command of a batch even when one outcome throws, and reports the throw', async () => {
    const reported: unknown[] = [];
    const { machine, raft, service } = setup(undefined, (error) => reported.push(error));
    const heard: string[] = [];
    service.submit(open('s1'), {
      result: () => {
        heard.push('s1');
        throw new Error('answer failed');
      },
      failed: () => heard.push('s1 failed'),
    });
    const second = service.propose(open('s2'));
    await expect(second).resolves.toEqual({ status: 'ok' });
    expect(heard).toEqual(['s1']);
    expect(reported).toEqual([new Error('answer failed')]);
    expect(raft.log).toHaveLength(1);
    expect(machine.sessions().map((session) => session.sessionId)).toEqual(['s1', 's2']);
  });
});
