// Raft log replication in the simulator: agreement, failures, fast backup, message economy, unreliable networks.
import { describe, expect, it } from 'vitest';
import { encodeOp } from '../../src/sim/dedup-state-machine.js';
import { RaftClients } from '../../src/sim/raft-clients.js';
import { RELIABLE_NETWORK } from '../../src/sim/raft-network.js';
import { appliedOn, awaitApplied, makeCluster, othersThan, write, writeMany } from './raft-helpers.js';

describe('agreement', () => {
  it('basic agreement: every node applies each entry at the same index', () => {
    const cluster = makeCluster(3);
    cluster.awaitStableLeader(5_000);
    for (let i = 0; i < 10; i++) {
      const op = write(cluster);
      expect(op).not.toBeNull();
      expect(awaitApplied(cluster, cluster.ids, [op!], 1_000)).toBe(true);
      for (const id of cluster.ids) expect(cluster.core(id).termAt(op!.index)).toBe(op!.term);
    }
  });

  it('agreement despite a failed follower, which catches up on restart', () => {
    const cluster = makeCluster(3);
    const leader = cluster.awaitStableLeader(5_000) as string;
    const [down, up] = othersThan(cluster, leader) as [string, string];
    cluster.crash(down);
    const ops = writeMany(cluster, 20);
    expect(awaitApplied(cluster, [leader, up], ops, 2_000)).toBe(true);
    cluster.restart(down);
    expect(awaitApplied(cluster, [down], ops, 3_000)).toBe(true);
  });

  it('no agreement without a majority, then agreement once it is back', () => {
    const cluster = makeCluster(5);
    const leader = cluster.awaitStableLeader(5_000) as string;
    const followers = othersThan(cluster, leader);
    for (const id of followers.slice(0, 3)) cluster.crash(id);
    const op = write(cluster, leader);
    expect(op).not.toBeNull();
    cluster.runFor(800);
    expect(cluster.core(leader).commitIndex).toBeLessThan(op!.index);
    expect(appliedOn(cluster, leader, op!)).toBe(false);
    for (const id of followers.slice(0, 3)) cluster.restart(id);
    const live = cluster.ids;
    // The entry may be committed by this leader, or by a successor that holds it; either way all apply it.
    expect(awaitApplied(cluster, live, [op!], 10_000)).toBe(true);
  });

  it('concurrent proposals get distinct consecutive indexes and all commit', () => {
    const cluster = makeCluster(3);
    cluster.awaitStableLeader(5_000);
    const ops = writeMany(cluster, 100);
    const indexes = ops.map((op) => op.index);
    expect(new Set(indexes).size).toBe(100);
    expect(indexes[99]! - indexes[0]!).toBe(99);
    expect(awaitApplied(cluster, cluster.ids, ops, 2_000)).toBe(true);
  });
});

describe('fast backup of long divergent logs', () => {
  it('needs a number of rejections bounded by the terms, not the entries (6.824 TestBackup)', () => {
    const cluster = makeCluster(5, { config: { maxEntriesPerAppend: 64 } });
    // A constant delay keeps each link in order (as a gRPC stream does), so every rejection is a log mismatch.
    cluster.network.faults = { ...RELIABLE_NETWORK, minDelayMs: 2, maxDelayMs: 2 };
    const leaderAmong = (group: readonly string[]) =>
      cluster.runUntil(() => group.includes(cluster.leader() ?? ''), 10_000) ? (cluster.leader() as string) : null;
    const first = cluster.awaitStableLeader(5_000) as string;
    const [a, b, c, d] = othersThan(cluster, first) as [string, string, string, string];
    // Round 1: the leader and one follower take 300 entries that can never commit.
    cluster.network.partition([first, a], [b, c, d]);
    for (let i = 0; i < 300; i++) write(cluster, first);
    // Round 2: the other three elect a leader and commit 300 entries; then that leader and one follower are cut off
    // again with 300 more uncommitted entries.
    const second = leaderAmong([b, c, d]) as string;
    expect(second).not.toBeNull();
    const round2 = writeMany(cluster, 300);
    expect(awaitApplied(cluster, [b, c, d], round2, 5_000)).toBe(true);
    const [secondBuddy, thirdVoter] = [b, c, d].filter((id) => id !== second) as [string, string];
    cluster.network.heal();
    cluster.network.partition([second, secondBuddy], [first, a, thirdVoter]);
    for (let i = 0; i < 300; i++) write(cluster, second);
    // Round 3: the first pair and the remaining voter commit 300 entries of a new term.
    const third = leaderAmong([first, a, thirdVoter]) as string;
    expect(third).not.toBeNull();
    const round3 = writeMany(cluster, 300);
    expect(awaitApplied(cluster, [first, a, thirdVoter], round3, 10_000)).toBe(true);
    // Everyone back: the second pair's 300 divergent entries must be replaced quickly.
    const rejectionsBefore = cluster.appendRejections;
    const appendsBefore = cluster.network.count('append');
    cluster.network.heal();
    expect(awaitApplied(cluster, cluster.ids, round3, 10_000)).toBe(true);
    const rejections = cluster.appendRejections - rejectionsBefore;
    const appends = cluster.network.count('append') - appendsBefore;
    const terms = cluster.core(cluster.leader() as string).term;
    console.log(
      `fast backup: ${rejections} rejections and ${appends} appends to repair 600 divergent entries, ${terms} terms`,
    );
    expect(rejections).toBeLessThanOrEqual(2 * terms);
    // Repairing two followers 900 entries behind in batches of 64 takes tens of appends, not hundreds.
    expect(appends).toBeLessThan(100);
  });
});

describe('bounded message counts', () => {
  it('an idle leader sends heartbeats only, and a proposal costs O(peers) messages', () => {
    const cluster = makeCluster(3);
    const leader = cluster.awaitStableLeader(5_000) as string;
    cluster.runFor(1_000);
    const peers = cluster.ids.length - 1;
    const total = () => [...cluster.network.sent.values()].reduce((sum, count) => sum + count, 0);
    const elections = () => cluster.network.count('vote', 'pre-vote', 'vote-response', 'pre-vote-response');
    // An idle second: one heartbeat per peer per tick (100 ms), each answered.
    const idleStart = total();
    const electionsBefore = elections();
    cluster.runFor(1_000);
    const idle = total() - idleStart;
    expect(elections()).toBe(electionsBefore);
    expect(idle).toBe(10 * 2 * peers);
    // The same second again, with one proposal: append + answer, then a commit notice + answer, per peer.
    const busyStart = total();
    const op = write(cluster, leader);
    cluster.runFor(1_000);
    const extra = total() - busyStart - idle;
    expect(appliedOn(cluster, leader, op!)).toBe(true);
    expect(extra).toBeGreaterThanOrEqual(2 * peers);
    expect(extra).toBeLessThanOrEqual(4 * peers);
  });

  it('a batch of proposals in one turn travels in one append per peer', () => {
    const cluster = makeCluster(5);
    cluster.awaitStableLeader(5_000);
    const leader = cluster.leader() as string;
    const before = cluster.network.count('append');
    const positions = cluster.act(leader, (core) =>
      Array.from({ length: 200 }, (_, i) => core.propose(encodeOp({ clientId: `batch${i}`, seq: 1 }))),
    );
    expect(positions.every((position) => position !== null)).toBe(true);
    cluster.runFor(0); // the driver handles the turn's Ready soon after, at the same virtual instant
    expect(cluster.network.count('append') - before).toBe(4);
  });
});

describe('unreliable network', () => {
  it('agreement despite drops, duplicates, delays and reordering', () => {
    const cluster = makeCluster(5, { seed: 3 });
    cluster.network.faults = {
      dropRate: 0.1,
      duplicateRate: 0.05,
      minDelayMs: 1,
      maxDelayMs: 40,
      longDelayRate: 0.05,
      longDelayMs: 1_000,
    };
    const clients = new RaftClients(cluster, cluster.rng.fork(), {
      clients: 5,
      thinkMs: [0, 50],
      retryMs: 1_000,
      misdirectRate: 0.05,
    });
    clients.start();
    cluster.runFor(20_000);
    clients.stop();
    cluster.network.faults = { ...cluster.network.faults, dropRate: 0, duplicateRate: 0, longDelayRate: 0 };
    cluster.runFor(5_000);
    expect(clients.acknowledgedCount).toBeGreaterThan(200);
    for (const id of cluster.ids) {
      for (const [clientId, seq] of clients.acknowledged) expect(cluster.node(id).sm.seqOf(clientId)).toBe(seq);
    }
  });

  it('churn: nodes crash and restart under load, and every acknowledged operation survives', () => {
    const cluster = makeCluster(5, { seed: 11, diskDelayMs: [0.5, 5], compactEvery: 100 });
    const clients = new RaftClients(cluster, cluster.rng.fork(), {
      clients: 5,
      thinkMs: [0, 50],
      retryMs: 500,
      misdirectRate: 0.1,
    });
    clients.start();
    for (let round = 0; round < 40; round++) {
      cluster.runFor(cluster.rng.uniform(100, 1_000));
      const up = cluster.ids.filter((id) => cluster.isUp(id));
      if (up.length > 3 && cluster.rng.chance(0.6)) cluster.crash(cluster.rng.pick(up));
      else for (const id of cluster.ids) cluster.restart(id);
    }
    for (const id of cluster.ids) cluster.restart(id);
    cluster.runFor(3_000);
    clients.stop();
    cluster.runFor(5_000);
    expect(clients.acknowledgedCount).toBeGreaterThan(100);
    for (const id of cluster.ids) {
      for (const [clientId, seq] of clients.acknowledged) expect(cluster.node(id).sm.seqOf(clientId)).toBe(seq);
    }
  });
});

describe('ReadIndex', () => {
  it('answers on the leader with the commit index after a heartbeat round, and nothing on a follower', () => {
    const cluster = makeCluster(3);
    const leader = cluster.awaitStableLeader(5_000) as string;
    const [follower] = othersThan(cluster, leader) as [string];
    const ops = writeMany(cluster, 5);
    expect(awaitApplied(cluster, [leader], ops, 1_000)).toBe(true);
    const answers: { node: string; index: number; context: string }[] = [];
    cluster.onRead((node, read) => answers.push({ node, ...read }));
    cluster.act(leader, (core) => core.readIndex('r1'));
    cluster.act(follower, (core) => core.readIndex('r2'));
    expect(answers).toEqual([]);
    cluster.runFor(100);
    expect(answers).toEqual([{ node: leader, index: cluster.core(leader).commitIndex, context: 'r1' }]);
  });

  it('gets no answer from a leader cut off from its quorum', () => {
    const cluster = makeCluster(3);
    const leader = cluster.awaitStableLeader(5_000) as string;
    const answers: string[] = [];
    cluster.onRead((_node, read) => answers.push(read.context));
    cluster.network.isolate(leader, cluster.ids);
    cluster.act(leader, (core) => core.readIndex('stale'));
    cluster.runFor(3_000);
    expect(answers).toEqual([]);
  });
});
