// The pure Raft core driven by hand: the Ready contract, durability before counting, backtracking, ReadIndex.
import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../src/raft/core.js';
import { defaultRaftConfig } from '../../src/raft/defaults.js';
import type { ConfState, Entry, Message, NodeId, Ready, RestoredState } from '../../src/raft/types.js';
import { SeededRng } from '../../src/util/rng.js';

const conf = (...voters: NodeId[]): ConfState => ({
  voters,
  learners: [],
  addresses: Object.fromEntries(voters.map((id) => [id, `${id}:7000`])),
});

const fresh = (initialConf: ConfState): RestoredState => ({
  hardState: { term: 0, votedFor: null, commit: 0 },
  snapshot: null,
  entries: [],
  initialConf,
});

const entries = (terms: number[]): Entry[] =>
  terms.map((term, i) => ({ index: i + 1, term, type: 'normal' as const, data: new Uint8Array([i]) }));

function core(id: NodeId, restored: RestoredState, overrides: Partial<ReturnType<typeof defaultRaftConfig>> = {}) {
  return new RaftCore({ ...defaultRaftConfig(id), ...overrides }, restored, new SeededRng(42));
}

/** Drains a core's Ready as a driver would (everything "persisted" at once); returns the Readies. */
function drain(node: RaftCore): Ready[] {
  const readies: Ready[] = [];
  while (node.hasReady()) {
    const ready = node.ready();
    readies.push(ready);
    node.advance(ready);
  }
  return readies;
}

/** Ticks until `node` sends something, and returns the Ready. */
function tickUntilMessages(node: RaftCore): Ready {
  for (let i = 0; i < 100; i++) {
    node.tick();
    if (node.hasReady()) {
      const ready = node.ready();
      if (ready.messages.length > 0) return ready;
      node.advance(ready);
    }
  }
  throw new Error(`${node.id} sent nothing in 100 ticks`);
}

describe('the Ready contract', () => {
  it('a single voter elects itself and commits only after its own write is acknowledged by advance()', () => {
    const node = core('a', fresh(conf('a')));
    for (let i = 0; i < 20 && node.role !== 'leader'; i++) node.tick();
    expect(node.role).toBe('leader');
    const election = node.ready();
    expect(election.hardState).toMatchObject({ term: 1, votedFor: 'a' });
    expect(election.entries.map((entry) => entry.type)).toEqual(['noop']);
    expect(election.mustSync).toBe(true);
    expect(node.commitIndex).toBe(0);
    node.advance(election);
    expect(node.commitIndex).toBe(1);
    const position = node.propose(new Uint8Array([7]));
    expect(position).toEqual({ index: 2, term: 1 });
    const append = node.ready();
    expect(append.entries.map((entry) => entry.index)).toEqual([2]);
    expect(append.committedEntries.map((entry) => entry.index)).toEqual([1]);
    // Not durable yet: not committed, even though this voter is the whole quorum.
    expect(node.commitIndex).toBe(1);
    node.advance(append);
    expect(node.commitIndex).toBe(2);
    expect(node.ready().committedEntries.map((entry) => entry.index)).toEqual([2]);
  });

  it('a restarted sole voter elects itself on its first tick; a voter among others waits out its election timeout', () => {
    const restarted: RestoredState = {
      hardState: { term: 3, votedFor: 'a', commit: 2 },
      snapshot: null,
      entries: entries([2, 3]),
      initialConf: conf('a'),
    };
    const sole = core('a', restarted);
    sole.tick();
    expect(sole.role).toBe('leader');
    expect(sole.term).toBe(4);
    const election = sole.ready();
    expect(election.hardState).toMatchObject({ term: 4, votedFor: 'a' });
    expect(election.committedEntries.map((entry) => entry.index)).toEqual([1, 2]);

    const member = core('a', { ...restarted, initialConf: conf('a', 'b', 'c') });
    const config = defaultRaftConfig('a');
    for (let i = 1; i < config.electionTicks; i++) member.tick();
    expect(member.role).toBe('follower');
    expect(member.term).toBe(3);
  });

  it('a leader counts its own entry toward the quorum only once advance() says it is durable', () => {
    const a = core('a', fresh(conf('a', 'b', 'c')), { preVote: false });
    const b = core('b', fresh(conf('a', 'b', 'c')));
    const campaign = tickUntilMessages(a);
    a.advance(campaign);
    b.step(campaign.messages.find((message) => message.to === 'b') as Message);
    for (const message of drain(b).flatMap((ready) => ready.messages)) a.step(message);
    expect(a.role).toBe('leader');
    // The noop's Ready is handed out but not yet acknowledged; b acknowledges the noop first.
    const noop = a.ready();
    for (const message of noop.messages.filter((m) => m.to === 'b')) b.step(message);
    for (const message of drain(b).flatMap((ready) => ready.messages)) a.step(message);
    expect(a.commitIndex).toBe(0);
    a.advance(noop);
    expect(a.commitIndex).toBe(1);
  });

  it('a vote is granted in the same Ready as the persisted vote, which must sync', () => {
    const voter = core('b', fresh(conf('a', 'b', 'c')));
    voter.step({ type: 'vote', from: 'a', to: 'b', term: 1, lastLogIndex: 0, lastLogTerm: 0 });
    const ready = voter.ready();
    expect(ready.hardState).toEqual({ term: 1, votedFor: 'a', commit: 0 });
    expect(ready.mustSync).toBe(true);
    expect(ready.messages).toEqual([{ type: 'vote-response', from: 'b', to: 'a', term: 1, granted: true }]);
    voter.advance(ready);
    // One vote per term.
    voter.step({ type: 'vote', from: 'c', to: 'b', term: 1, lastLogIndex: 5, lastLogTerm: 1 });
    expect(voter.ready().messages).toMatchObject([{ type: 'vote-response', granted: false }]);
  });

  it('a node restarted from its hard state keeps its vote for the term', () => {
    const restarted = core('b', { ...fresh(conf('a', 'b', 'c')), hardState: { term: 3, votedFor: 'a', commit: 0 } });
    restarted.step({ type: 'vote', from: 'c', to: 'b', term: 3, lastLogIndex: 9, lastLogTerm: 3 });
    expect(restarted.ready().messages).toMatchObject([{ type: 'vote-response', to: 'c', granted: false }]);
    restarted.step({ type: 'vote', from: 'a', to: 'b', term: 3, lastLogIndex: 0, lastLogTerm: 0 });
    expect(restarted.ready().messages).toMatchObject([{ type: 'vote-response', to: 'a', granted: true }]);
  });

  it("a follower's acknowledgement travels in the same Ready as the entries it acknowledges", () => {
    const follower = core('b', fresh(conf('a', 'b', 'c')));
    const append: Message = {
      type: 'append',
      from: 'a',
      to: 'b',
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: entries([1, 1]),
      commit: 1,
    };
    follower.step(append);
    const ready = follower.ready();
    expect(ready.entries.map((entry) => entry.index)).toEqual([1, 2]);
    expect(ready.mustSync).toBe(true);
    expect(ready.messages).toMatchObject([{ type: 'append-response', success: true, index: 2 }]);
    expect(ready.committedEntries.map((entry) => entry.index)).toEqual([1]);
    expect(ready.softState).toEqual({ leader: 'a', role: 'follower', term: 1 });
  });
});

describe('fast backtracking (Raft §5.3)', () => {
  it('skips a whole conflicting term per rejection', () => {
    // The leader-to-be holds terms 1,1,1,4,4,4,4; the follower a divergent 2,2,2,3,3,3,3,3 after the common prefix.
    const leader = core(
      'a',
      {
        ...fresh(conf('a', 'b', 'c')),
        hardState: { term: 4, votedFor: null, commit: 0 },
        entries: entries([1, 1, 1, 4, 4, 4, 4]),
      },
      { preVote: false },
    );
    const follower = core('b', {
      ...fresh(conf('a', 'b', 'c')),
      hardState: { term: 3, votedFor: null, commit: 0 },
      entries: entries([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
    });
    const campaign = tickUntilMessages(leader);
    leader.advance(campaign);
    const toB = campaign.messages.filter((message) => message.to === 'b');
    let inFlight: Message[] = toB;
    let rejections = 0;
    for (let round = 0; round < 20 && inFlight.length > 0; round++) {
      const next: Message[] = [];
      for (const message of inFlight) {
        const target = message.to === 'a' ? leader : follower;
        if (message.type === 'append-response' && !message.success) rejections += 1;
        target.step(message);
        for (const ready of drain(target)) next.push(...ready.messages.filter((m) => m.to === 'a' || m.to === 'b'));
      }
      inFlight = next;
    }
    expect(leader.role).toBe('leader');
    expect(follower.lastIndex).toBe(leader.lastIndex);
    for (let index = 1; index <= leader.lastIndex; index++) expect(follower.termAt(index)).toBe(leader.termAt(index));
    // One rejection for term 3, one for term 2: by terms, not by the eight divergent entries.
    expect(rejections).toBe(2);
  });
});

describe('ReadIndex', () => {
  it('waits until a new leader has committed an entry of its term, then for a heartbeat quorum', () => {
    const a = core('a', fresh(conf('a', 'b', 'c')), { preVote: false });
    const b = core('b', fresh(conf('a', 'b', 'c')));
    const campaign = tickUntilMessages(a);
    a.advance(campaign);
    b.step(campaign.messages.find((message) => message.to === 'b') as Message);
    const [vote] = drain(b).flatMap((ready) => ready.messages);
    a.step(vote as Message);
    expect(a.role).toBe('leader');
    a.readIndex('r1');
    const leaderReady = a.ready();
    expect(leaderReady.readStates).toEqual([]);
    a.advance(leaderReady);
    // The noop commits once b acknowledges it; only then does the read start its heartbeat round.
    for (const message of leaderReady.messages.filter((m) => m.to === 'b')) b.step(message);
    for (const message of drain(b).flatMap((ready) => ready.messages)) a.step(message);
    const round = a.ready();
    a.advance(round);
    const heartbeat = round.messages.find((m) => m.type === 'append' && m.to === 'b' && m.readContext !== undefined);
    expect(heartbeat).toBeDefined();
    expect(round.readStates).toEqual([]);
    b.step(heartbeat as Message);
    for (const message of drain(b).flatMap((ready) => ready.messages)) a.step(message);
    expect(a.ready().readStates).toEqual([{ index: a.commitIndex, context: 'r1' }]);
  });
});
