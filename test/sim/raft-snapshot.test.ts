// Raft snapshots in the simulator: compaction, chunked InstallSnapshot to a lagging follower, crashes mid-transfer.
import { describe, expect, it } from 'vitest';
import { awaitApplied, makeCluster, othersThan, writeMany } from './raft-helpers.js';

describe('snapshots', () => {
  it('basic: logs are compacted as entries apply, and a restarted node resumes from its snapshot', () => {
    const cluster = makeCluster(3, { compactEvery: 20 });
    const leader = cluster.awaitStableLeader(5_000) as string;
    const ops = writeMany(cluster, 100);
    expect(awaitApplied(cluster, cluster.ids, ops, 3_000)).toBe(true);
    for (const id of cluster.ids) {
      const core = cluster.core(id);
      expect(core.snapshotIndex).toBeGreaterThanOrEqual(80);
      expect(core.lastIndex - core.snapshotIndex).toBeLessThan(20);
    }
    const [follower] = othersThan(cluster, leader) as [string];
    cluster.crash(follower);
    cluster.restart(follower);
    expect(cluster.node(follower).sm.appliedIndex).toBeGreaterThanOrEqual(cluster.core(follower).snapshotIndex);
    expect(awaitApplied(cluster, [follower], ops, 1_000)).toBe(true);
    const more = writeMany(cluster, 10);
    expect(awaitApplied(cluster, cluster.ids, more, 2_000)).toBe(true);
  });

  it('installs a chunked snapshot on a follower behind the compacted log', () => {
    const cluster = makeCluster(3, { compactEvery: 20, config: { snapshotChunkBytes: 64 } });
    const leader = cluster.awaitStableLeader(5_000) as string;
    const [lagging] = othersThan(cluster, leader) as [string];
    cluster.crash(lagging);
    const ops = writeMany(cluster, 100);
    expect(awaitApplied(cluster, [leader], ops, 3_000)).toBe(true);
    expect(cluster.core(leader).snapshotIndex).toBeGreaterThan(cluster.node(lagging).sm.appliedIndex);
    const chunksBefore = cluster.network.count('snapshot');
    cluster.restart(lagging);
    expect(awaitApplied(cluster, [lagging], ops, 5_000)).toBe(true);
    const chunks = cluster.network.count('snapshot') - chunksBefore;
    const snapshotBytes = cluster.core(leader).latestSnapshot?.data.length ?? 0;
    expect(chunks).toBeGreaterThanOrEqual(Math.ceil(snapshotBytes / 64));
    expect(cluster.core(lagging).snapshotIndex).toBeGreaterThan(0);
    expect(cluster.node(lagging).sm.hash).toBe(cluster.node(leader).sm.hash);
  });

  it('finishes the transfer on a lossy network', () => {
    const cluster = makeCluster(3, { seed: 5, compactEvery: 20, config: { snapshotChunkBytes: 64 } });
    const leader = cluster.awaitStableLeader(5_000) as string;
    const [lagging] = othersThan(cluster, leader) as [string];
    cluster.crash(lagging);
    const ops = writeMany(cluster, 100);
    expect(awaitApplied(cluster, [leader], ops, 3_000)).toBe(true);
    cluster.network.faults = { ...cluster.network.faults, dropRate: 0.2, duplicateRate: 0.1, maxDelayMs: 20 };
    cluster.restart(lagging);
    expect(awaitApplied(cluster, [lagging], ops, 20_000)).toBe(true);
  });

  it('survives the follower crashing during the transfer, and again right after installing', () => {
    const cluster = makeCluster(3, { compactEvery: 20, diskDelayMs: [1, 3], config: { snapshotChunkBytes: 64 } });
    const leader = cluster.awaitStableLeader(5_000) as string;
    const [lagging] = othersThan(cluster, leader) as [string];
    cluster.crash(lagging);
    const ops = writeMany(cluster, 100);
    expect(awaitApplied(cluster, [leader], ops, 3_000)).toBe(true);
    const chunksBefore = cluster.network.count('snapshot');
    cluster.restart(lagging);
    expect(cluster.runUntil(() => cluster.network.count('snapshot') >= chunksBefore + 3, 3_000, 1)).toBe(true);
    cluster.crash(lagging);
    cluster.runFor(500);
    cluster.restart(lagging);
    const installed = () =>
      cluster.core(lagging).snapshotIndex > 0 &&
      cluster.node(lagging).sm.appliedIndex >= cluster.core(lagging).snapshotIndex;
    expect(cluster.runUntil(installed, 5_000, 1)).toBe(true);
    // Crash again as soon as the snapshot is written and restored: it must come back from the snapshot on its disk.
    cluster.crash(lagging);
    cluster.restart(lagging);
    expect(cluster.core(lagging).snapshotIndex).toBeGreaterThan(0);
    expect(awaitApplied(cluster, [lagging], ops, 5_000)).toBe(true);
    const more = writeMany(cluster, 5);
    expect(awaitApplied(cluster, cluster.ids, more, 2_000)).toBe(true);
  });
});
