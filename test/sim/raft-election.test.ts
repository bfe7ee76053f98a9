// Raft elections in the simulator: first election, re-election, PreVote, CheckQuorum, leadership transfer.
import { describe, expect, it } from 'vitest';
import { appliedOn, awaitApplied, makeCluster, othersThan, write, writeMany } from './raft-helpers.js';

describe('leader election', () => {
  it('initial election: one leader, followed by all, and it stays while nothing fails', () => {
    const cluster = makeCluster(3);
    const leader = cluster.awaitStableLeader(5_000);
    expect(leader).not.toBeNull();
    const term = cluster.core(leader as string).term;
    expect(term).toBeGreaterThanOrEqual(1);
    for (const id of cluster.ids) expect(cluster.core(id).term).toBe(term);
    cluster.runFor(10_000);
    expect(cluster.leader()).toBe(leader);
    expect(cluster.core(leader as string).term).toBe(term);
    expect(cluster.network.count('vote', 'pre-vote')).toBeLessThanOrEqual(4);
  });

  it('re-election after leader loss, and the old leader rejoins as a follower', () => {
    const cluster = makeCluster(3);
    const first = cluster.awaitStableLeader(5_000) as string;
    const firstTerm = cluster.core(first).term;
    cluster.crash(first);
    const second = cluster.awaitStableLeader(5_000);
    expect(second).not.toBeNull();
    expect(second).not.toBe(first);
    expect(cluster.core(second as string).term).toBeGreaterThan(firstTerm);
    cluster.restart(first);
    cluster.runFor(3_000);
    expect(cluster.leader()).toBe(second);
    expect(cluster.core(first).role).toBe('follower');
    expect(cluster.core(first).leader).toBe(second);
  });

  it('many elections: a leader emerges each time any two of five nodes fail', () => {
    const cluster = makeCluster(5, { seed: 7 });
    expect(cluster.awaitStableLeader(5_000)).not.toBeNull();
    const terms = new Set<number>();
    for (let round = 0; round < 15; round++) {
      const victims = [...cluster.ids].sort(() => cluster.rng.next() - 0.5).slice(0, 2);
      for (const victim of victims) cluster.crash(victim);
      const leader = cluster.awaitStableLeader(10_000);
      expect(leader, `round ${round}`).not.toBeNull();
      expect(victims).not.toContain(leader);
      terms.add(cluster.core(leader as string).term);
      for (const victim of victims) cluster.restart(victim);
      cluster.runFor(1_000);
    }
    expect(terms.size).toBeGreaterThan(3);
  });
});

describe('PreVote and CheckQuorum', () => {
  it('an isolated node rejoining does not bump the term or depose the leader', () => {
    const cluster = makeCluster(3);
    const leader = cluster.awaitStableLeader(5_000) as string;
    const term = cluster.core(leader).term;
    const [isolated] = othersThan(cluster, leader) as [string];
    cluster.network.isolate(isolated, cluster.ids);
    cluster.runFor(20_000);
    // Its pre-votes never win, so it never increments its term while cut off.
    expect(cluster.core(isolated).term).toBe(term);
    cluster.network.heal();
    cluster.runFor(5_000);
    expect(cluster.leader()).toBe(leader);
    expect(cluster.core(leader).term).toBe(term);
    expect(cluster.core(isolated).leader).toBe(leader);
  });

  it('without PreVote the isolated node inflates its term, showing what PreVote prevents', () => {
    const cluster = makeCluster(3, { config: { preVote: false } });
    const leader = cluster.awaitStableLeader(5_000) as string;
    const term = cluster.core(leader).term;
    const [isolated] = othersThan(cluster, leader) as [string];
    cluster.network.isolate(isolated, cluster.ids);
    cluster.runFor(20_000);
    expect(cluster.core(isolated).term).toBeGreaterThan(term + 3);
  });

  it('followers in the lease ignore a disruptive vote request with a higher term', () => {
    const cluster = makeCluster(3, { config: { preVote: false } });
    const leader = cluster.awaitStableLeader(5_000) as string;
    const term = cluster.core(leader).term;
    const [follower, other] = othersThan(cluster, leader) as [string, string];
    cluster.act(other, (core) =>
      core.step({ type: 'vote', from: 'node9', to: other, term: term + 5, lastLogIndex: 1000, lastLogTerm: term + 4 }),
    );
    expect(cluster.core(other).term).toBe(term);
    expect(cluster.core(follower).leader).toBe(leader);
  });

  it('a leader in a minority steps down, and the majority elects another', () => {
    const cluster = makeCluster(5);
    const leader = cluster.awaitStableLeader(5_000) as string;
    const [buddy, ...majority] = othersThan(cluster, leader) as [string, ...string[]];
    cluster.network.partition([leader, buddy], majority);
    const steppedDown = cluster.runUntil(() => cluster.core(leader).role !== 'leader', 5_000);
    expect(steppedDown).toBe(true);
    const elected = cluster.runUntil(() => majority.includes(cluster.leader() ?? ''), 10_000);
    expect(elected).toBe(true);
    expect(cluster.core(leader).role).not.toBe('leader');
  });
});

describe('a partitioned old leader rejoining', () => {
  it('loses its uncommitted entries to the new leader and converges', () => {
    const cluster = makeCluster(5);
    const oldLeader = cluster.awaitStableLeader(5_000) as string;
    const committed = write(cluster, oldLeader);
    expect(committed).not.toBeNull();
    expect(awaitApplied(cluster, cluster.ids, [committed!], 2_000)).toBe(true);
    cluster.network.isolate(oldLeader, cluster.ids);
    const stranded = [write(cluster, oldLeader), write(cluster, oldLeader), write(cluster, oldLeader)];
    expect(stranded.every((op) => op !== null)).toBe(true);
    const majority = othersThan(cluster, oldLeader);
    const newLeader = cluster.runUntil(() => {
      const leader = cluster.leader();
      return leader !== null && leader !== oldLeader && cluster.core(leader).term > cluster.core(oldLeader).term;
    }, 10_000);
    expect(newLeader).toBe(true);
    const fresh = write(cluster, cluster.leader());
    expect(fresh).not.toBeNull();
    expect(awaitApplied(cluster, majority, [fresh!], 3_000)).toBe(true);
    cluster.network.heal();
    expect(awaitApplied(cluster, cluster.ids, [fresh!], 5_000)).toBe(true);
    expect(cluster.core(oldLeader).role).toBe('follower');
    for (const op of stranded) for (const id of cluster.ids) expect(appliedOn(cluster, id, op!)).toBe(false);
  });
});

describe('leadership transfer', () => {
  it('hands leadership to a caught-up voter, refusing proposals meanwhile', () => {
    const cluster = makeCluster(3);
    const leader = cluster.awaitStableLeader(5_000) as string;
    const term = cluster.core(leader).term;
    const [target] = othersThan(cluster, leader) as [string];
    const ops = writeMany(cluster, 2);
    expect(cluster.act(leader, (core) => core.transferLeadership(target))).toBe(true);
    expect(write(cluster, leader)).toBeNull();
    expect(cluster.runUntil(() => cluster.leader() === target, 1_000)).toBe(true);
    expect(cluster.core(target).term).toBe(term + 1);
    expect(awaitApplied(cluster, cluster.ids, ops, 2_000)).toBe(true);
    expect(cluster.awaitStableLeader(2_000)).toBe(target);
  });

  it('is aborted after an election timeout when the target cannot take over', () => {
    const cluster = makeCluster(3);
    const leader = cluster.awaitStableLeader(5_000) as string;
    const [target] = othersThan(cluster, leader) as [string];
    cluster.crash(target);
    expect(cluster.act(leader, (core) => core.transferLeadership(target))).toBe(true);
    expect(write(cluster, leader)).toBeNull();
    cluster.runFor(2_100);
    expect(cluster.leader()).toBe(leader);
    expect(write(cluster, leader)).not.toBeNull();
  });

  it('is refused for a non-voter or by a follower', () => {
    const cluster = makeCluster(3, { spares: 1 });
    const leader = cluster.awaitStableLeader(5_000) as string;
    const [follower] = othersThan(cluster, leader, 'node4') as [string];
    expect(cluster.act(leader, (core) => core.transferLeadership('node4'))).toBe(false);
    expect(cluster.act(follower, (core) => core.transferLeadership(leader))).toBe(false);
  });
});
