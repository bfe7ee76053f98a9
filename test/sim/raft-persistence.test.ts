// Raft persistence in the simulator: whole-cluster restarts, lost unsynced writes, and the paper's Figure 8.
import { describe, expect, it } from 'vitest';
import { RELIABLE_NETWORK } from '../../src/sim/raft-network.js';
import { appliedOn, awaitApplied, makeCluster, othersThan, write, writeMany } from './raft-helpers.js';

describe('persistence across crashes', () => {
  it('a cluster restarted from its disks keeps every committed entry and its terms and votes', () => {
    const cluster = makeCluster(3, { diskDelayMs: [1, 5] });
    const leader = cluster.awaitStableLeader(5_000) as string;
    const term = cluster.core(leader).term;
    const ops = writeMany(cluster, 30);
    expect(awaitApplied(cluster, cluster.ids, ops, 2_000)).toBe(true);
    for (const id of cluster.ids) cluster.crash(id);
    for (const id of cluster.ids) cluster.restart(id);
    for (const id of cluster.ids) expect(cluster.core(id).term).toBe(term);
    const newLeader = cluster.awaitStableLeader(5_000);
    expect(newLeader).not.toBeNull();
    expect(cluster.core(newLeader as string).term).toBeGreaterThan(term);
    // Replayed from the log on restart (nothing was compacted), then joined by a new write.
    const more = write(cluster);
    expect(awaitApplied(cluster, cluster.ids, [...ops, more!], 3_000)).toBe(true);
  });

  it('a crash in the middle of a Ready loses the unsent messages but nothing acknowledged', () => {
    const cluster = makeCluster(3, { diskDelayMs: [1, 5] });
    const leader = cluster.awaitStableLeader(5_000) as string;
    const ops = writeMany(cluster, 10);
    cluster.node(leader).crashAfterNextPersist = true;
    cluster.runFor(100);
    expect(cluster.isUp(leader)).toBe(false);
    const acknowledged = ops.filter((op) => appliedOn(cluster, leader, op));
    cluster.restart(leader);
    expect(cluster.awaitStableLeader(5_000)).not.toBeNull();
    expect(awaitApplied(cluster, cluster.ids, acknowledged, 5_000)).toBe(true);
  });

  it('a follower restarted after losing its unsynced commit index catches up again', () => {
    const cluster = makeCluster(3);
    const leader = cluster.awaitStableLeader(5_000) as string;
    const [follower] = othersThan(cluster, leader) as [string];
    const ops = writeMany(cluster, 5);
    expect(awaitApplied(cluster, cluster.ids, ops, 2_000)).toBe(true);
    cluster.crash(follower);
    cluster.restart(follower);
    // Its log survived (synced), its commit index may be older; the leader's next heartbeat brings it back.
    expect(cluster.core(follower).lastIndex).toBeGreaterThanOrEqual(ops[4]!.index);
    expect(awaitApplied(cluster, [follower], ops, 2_000)).toBe(true);
  });
});

describe('Figure 8 of the Raft paper', () => {
  it('a leader never commits an entry of an older term by counting replicas', () => {
    // One entry per append and one append in flight, on in-order links, so the test can stop the leader's own
    // entry from following the old one.
    const cluster = makeCluster(5, { config: { maxEntriesPerAppend: 1, maxInflight: 1 } });
    cluster.network.faults = { ...RELIABLE_NETWORK, minDelayMs: 2, maxDelayMs: 2 };
    const fine = 0.5;

    // (a) S1 leads and replicates X only to its partner.
    const s1 = cluster.awaitStableLeader(5_000) as string;
    const [partner, ...groupB] = othersThan(cluster, s1) as [string, ...string[]];
    cluster.network.partition([s1, partner], groupB);
    const x = write(cluster, s1);
    expect(x).not.toBeNull();
    expect(cluster.runUntil(() => cluster.core(partner).termAt(x!.index) === x!.term, 1_000, fine)).toBe(true);

    // (b) S1 crashes; S5 (some node of the other group) wins, writes its own entry at X's index, and crashes.
    cluster.crash(s1);
    expect(cluster.runUntil(() => groupB.includes(cluster.leader() ?? ''), 10_000, fine)).toBe(true);
    const s5 = cluster.leader() as string;
    cluster.network.isolate(s5, cluster.ids);
    const s5Term = cluster.core(s5).term;
    expect(cluster.core(s5).termAt(x!.index)).toBe(s5Term);
    cluster.crash(s5);
    cluster.runFor(10); // its messages still in flight are lost at the cut links
    const [s3, s4] = groupB.filter((id) => id !== s5) as [string, string];

    // (c) S1 restarts; S1 or its partner (the holders of X) leads a new term and replicates X to S3 and S4, whose
    // links from the leader are then cut one way, before the leader's own entry reaches them.
    cluster.network.heal();
    cluster.restart(s1);
    const cut = new Set<string>();
    const spread = cluster.runUntil(
      () => {
        const leader = cluster.leader();
        if (leader !== s1 && leader !== partner) return false;
        for (const follower of [s3, s4]) {
          if (!cut.has(follower) && cluster.core(follower).termAt(x!.index) === x!.term) {
            cluster.network.disconnect(leader, follower);
            cut.add(follower);
          }
        }
        return cut.size === 2;
      },
      10_000,
      fine,
    );
    expect(spread).toBe(true);
    const s3Leader = cluster.leader() as string;
    cluster.runFor(300);
    // X is on four of five nodes, yet it is of an older term: counting replicas must not commit it (§5.4.2).
    expect(cluster.core(s3Leader).role).toBe('leader');
    expect(cluster.core(s3Leader).commitIndex).toBeLessThan(x!.index);

    // (d) Both holders of the new term's entry crash; S5 comes back and, with S3 and S4, overwrites X.
    cluster.crash(s1);
    cluster.crash(partner);
    cluster.network.heal();
    cluster.restart(s5);
    const overwritten = cluster.runUntil(
      () =>
        cluster.leader() === s5 &&
        cluster.core(s3).termAt(x!.index) === s5Term &&
        cluster.core(s5).commitIndex >= x!.index,
      20_000,
    );
    expect(overwritten).toBe(true);

    // (e) Everyone converges on S5's history; X was never committed, so no node ever applies it.
    cluster.restart(s1);
    cluster.restart(partner);
    const marker = write(cluster);
    expect(awaitApplied(cluster, cluster.ids, [marker!], 5_000)).toBe(true);
    for (const id of cluster.ids) expect(appliedOn(cluster, id, x!)).toBe(false);
  });
});
