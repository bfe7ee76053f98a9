// A node that applies the log before it ever leads, as a restarted node replays it (issue 13, item 4): its advisor
// does no prediction work per grant or release, and once in office it judges holds from the replicated history as
// the leader that lived through the same entries does.
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { advisorNode } from './advisor-node.js';
import { acquireCommand } from './lock-fixtures.js';

const T0 = 1_000_000;
const TTL = 10_000;
const RESOURCES = 6;
const HOLDS_PER_RESOURCE = 40;

describe('a node that replays the log before it leads', () => {
  it('spends nothing per grant or release, and in office judges holds as the leader that lived through them', async () => {
    const clock = new ManualClock(T0);
    const leader = advisorNode(clock);
    await leader.takeOffice();
    const { sessionId } = await leader.service.openSession('worker', TTL, clock.now());
    let seq = 0;
    const acquire = (name: string) =>
      leader.service.proposeAccepted(acquireCommand(sessionId, ++seq, name, { tryOnly: true }));
    // Each resource gets a history of holds of its own lengths; one hold of each is still held at the end.
    for (let r = 0; r < RESOURCES; r++) {
      for (let h = 0; h <= HOLDS_PER_RESOURCE; h++) {
        const name = `orders/${r}`;
        const grant = await acquire(name);
        if (grant.status !== 'granted') throw new Error(`orders/${r} was not granted`);
        if (h === HOLDS_PER_RESOURCE) break;
        clock.advance(50 + ((r * 37 + h * 11) % 400) * (r + 1));
        await leader.service.proposeAccepted({
          type: 'release',
          sessionId,
          requestSeq: ++seq,
          name,
          token: grant.token,
        });
      }
    }

    const replica = advisorNode(clock);
    const observeGrant = vi.spyOn(replica.advisor.predictor, 'observeGrant');
    const observeRelease = vi.spyOn(replica.advisor.predictor, 'observeRelease');
    for (const [i, data] of leader.raft.log.entries()) {
      replica.machine.apply({ index: i + 1, term: 1, type: 'normal', data });
    }
    expect(replica.machine.lockCount()).toBe(RESOURCES);
    expect(observeGrant).not.toHaveBeenCalled();
    expect(observeRelease).not.toHaveBeenCalled();

    await replica.takeOffice();
    const nowMs = clock.now();
    for (let r = 0; r < RESOURCES; r++) {
      for (const ageMs of [100, 1_000, 5_000, 60_000]) {
        const bound = replica.advisor.predictor.stuckBound(`orders/${r}`, nowMs - ageMs, nowMs);
        expect(bound, `orders/${r} held ${ageMs} ms`).toBe(
          leader.advisor.predictor.stuckBound(`orders/${r}`, nowMs - ageMs, nowMs),
        );
      }
      expect(replica.advisor.predictor.stuckBound(`orders/${r}`, nowMs - 60_000, nowMs)).toBeGreaterThan(0);
    }
  });
});

describe('a new leader of many held locks', () => {
  it('indexes them a few thousand per turn, ending with exactly the holds of the state machine', async () => {
    const clock = new ManualClock(T0);
    const leader = advisorNode(clock);
    await leader.takeOffice();
    const sessions: string[] = [];
    const tokens = new Map<string, bigint>();
    let seq = 0;
    const acquire = async (sessionId: string, name: string) => {
      const result = await leader.service.proposeAccepted(acquireCommand(sessionId, ++seq, name, { tryOnly: true }));
      if (result.status !== 'granted') throw new Error(`${name} was not granted`);
      tokens.set(name, result.token);
    };
    for (let s = 0; s < 3; s++) {
      const { sessionId } = await leader.service.openSession(`worker-${s}`, TTL, clock.now());
      sessions.push(sessionId);
      for (let n = 0; n < 3_000; n++) await acquire(sessionId, `job/${s}/${n}`);
    }
    const turns: (() => void)[] = [];
    const replica = advisorNode(clock, (work) => turns.push(work));
    let applied = 0;
    const catchUp = () => {
      for (; applied < leader.raft.log.length; applied++) {
        replica.machine.apply({ index: applied + 1, term: 1, type: 'normal', data: leader.raft.log[applied]! });
      }
    };
    catchUp();
    await replica.takeOffice();
    expect(turns).toHaveLength(1);
    // Meanwhile, the last session (not indexed yet) releases a lock and takes a new one.
    await leader.service.proposeAccepted({
      type: 'release',
      sessionId: sessions[2]!,
      requestSeq: ++seq,
      name: 'job/2/7',
      token: tokens.get('job/2/7')!,
    });
    await acquire(sessions[2]!, 'job/2/new');
    catchUp();
    let ran = 0;
    while (turns.length > 0) {
      turns.shift()!();
      ran++;
    }
    // A session's holds at a time, 2,000 or more per turn: the first session at once, the other two in turns after.
    expect(ran).toBe(2);
    const indexed = (replica.advisor as unknown as { held: Map<string, { resource: string; token: bigint }> }).held;
    const expected = sessions.flatMap((sessionId) =>
      replica.machine.sessionHolds(sessionId).map((hold) => `${hold.name}/${hold.holder.token}`),
    );
    expect(expected).toHaveLength(9_000);
    expect(expected).toContain(`job/2/new/${tokens.get('job/2/new')}`);
    expect([...indexed.values()].map((hold) => `${hold.resource}/${hold.token}`).sort()).toEqual(expected.sort());
  });
});
