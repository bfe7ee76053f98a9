import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bench/raft-cluster-harness.js';
import type { NodeProcessStatus } from '../../bench/raft-node-process.js';

/** Every running node applied exactly `entries` normal entries, and all of them the same ones (same digest). */
function allApplied(statuses: Map<string, NodeProcessStatus>, nodes: number, entries: number): boolean {
  if (statuses.size !== nodes) return false;
  const all = [...statuses.values()];
  return all.every(
    (s) => s.count === entries && s.digest === all[0]!.digest && s.appliedIndex === all[0]!.appliedIndex,
  );
}

describe('three real Raft processes on 127.0.0.1', () => {
  let cluster: LocalCluster | undefined;

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('elects, replicates 10,000 entries, survives kill -9 of the leader and catches the restarted node up by snapshot', async () => {
    // A low snapshot threshold so the log is compacted while the killed node is down.
    cluster = await LocalCluster.start({ size: 3, snapshotEveryEntries: 2_000 });

    const firstLeader = await cluster.waitForLeader(15_000);
    const first = await cluster.node(firstLeader).load({ concurrency: 64, entryBytes: 100, maxCommits: 10_000 });
    expect(first.commits).toBe(10_000);
    expect(first.failures).toBe(0);
    const replicated = await cluster.waitFor(
      'every node applied 10,000 identical entries',
      (s) => allApplied(s, 3, 10_000),
      30_000,
    );
    const digestAfter10k = replicated.get(firstLeader)!.digest;

    await cluster.node(firstLeader).kill();
    const secondLeader = await cluster.waitForLeader(15_000);
    expect(secondLeader).not.toBe(firstLeader);
    const second = await cluster.node(secondLeader).load({ concurrency: 16, entryBytes: 100, maxCommits: 5_000 });
    expect(second.commits).toBe(5_000);
    expect(second.failures).toBe(0);
    // The survivors compacted past everything the killed node has: it can only catch up through a snapshot.
    const survivors = await cluster.waitFor(
      'both survivors applied 15,000 entries',
      (s) => allApplied(s, 2, 15_000),
      30_000,
    );
    expect(survivors.get(secondLeader)!.digest).not.toBe(digestAfter10k);

    await cluster.restart(firstLeader);
    const caughtUp = await cluster.waitFor('the restarted node caught up', (s) => allApplied(s, 3, 15_000), 30_000);
    const digests = new Set([...caughtUp.values()].map((s) => s.digest));
    expect(digests.size).toBe(1);
    // It restored a snapshot holding entries it never had: the catch-up went through InstallSnapshot.
    expect(caughtUp.get(firstLeader)!.lastRestoredCount).toBeGreaterThan(10_000);
    expect(await cluster.waitForLeader(15_000)).toBe(secondLeader);
  });
});
