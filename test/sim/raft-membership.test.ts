// Raft membership changes in the simulator: learners, promotion, removal (of the leader too), under load.
import { describe, expect, it } from 'vitest';
import type { ConfChange } from '../../src/raft/types.js';
import { RaftClients } from '../../src/sim/raft-clients.js';
import type { SimCluster } from '../../src/sim/raft-cluster.js';
import { awaitApplied, makeCluster, othersThan, write, writeMany } from './raft-helpers.js';

/** Proposes `change` on whoever leads, retrying while another change is pending; then waits for it to commit. */
function changeMembership(cluster: SimCluster, change: ConfChange): void {
  let position: { index: number; term: number } | null = null;
  const proposed = cluster.runUntil(() => {
    const leader = cluster.leader();
    if (leader === null) return false;
    position = cluster.act(leader, (core) => core.proposeConfChange(change));
    return position !== null;
  }, 10_000);
  expect(proposed, `propose ${JSON.stringify(change)}`).toBe(true);
  const { index, term } = position as unknown as { index: number; term: number };
  const committed = cluster.runUntil(() => {
    const leader = cluster.leader();
    return leader !== null && cluster.core(leader).commitIndex >= index && cluster.core(leader).termAt(index) === term;
  }, 10_000);
  expect(committed, `commit ${JSON.stringify(change)}`).toBe(true);
}

describe('membership changes', () => {
  it('under load: add a learner, promote it, remove a voter, then replace the leader itself', () => {
    const cluster = makeCluster(3, { spares: 2, compactEvery: 50 });
    cluster.awaitStableLeader(5_000);
    const clients = new RaftClients(cluster, cluster.rng.fork(), {
      clients: 4,
      thinkMs: [0, 50],
      retryMs: 1_000,
      misdirectRate: 0,
    });
    clients.start();
    cluster.runFor(2_000);

    changeMembership(cluster, { kind: 'add-learner', id: 'node4', address: 'node4:7000' });
    expect(cluster.runUntil(() => cluster.core('node4').role === 'learner', 2_000)).toBe(true);
    const caughtUp = () => {
      const leader = cluster.leader();
      return leader !== null && (cluster.core(leader).matchIndex('node4') ?? 0) >= cluster.core(leader).commitIndex - 5;
    };
    expect(cluster.runUntil(caughtUp, 5_000)).toBe(true);
    changeMembership(cluster, { kind: 'promote', id: 'node4' });
    changeMembership(cluster, { kind: 'remove', id: 'node1' });
    changeMembership(cluster, { kind: 'add-voter', id: 'node5', address: 'node5:7000' });
    const oldLeader = cluster.leader() as string;
    changeMembership(cluster, { kind: 'remove', id: oldLeader });
    // The removed leader steps down once its removal is committed, and the others elect a new one.
    expect(cluster.runUntil(() => cluster.core(oldLeader).role !== 'leader', 2_000)).toBe(true);
    expect(cluster.runUntil(() => (cluster.leader() ?? oldLeader) !== oldLeader, 10_000)).toBe(true);
    cluster.runFor(3_000);
    clients.stop();
    cluster.runFor(3_000);

    const leader = cluster.leader() as string;
    const conf = cluster.core(leader).conf;
    expect([...conf.voters].sort()).toEqual(['node2', 'node3', 'node4', 'node5'].filter((id) => id !== oldLeader));
    expect(conf.voters).not.toContain('node1');
    expect(conf.addresses.node1).toBeUndefined();
    expect(clients.acknowledgedCount).toBeGreaterThan(100);
    for (const id of conf.voters) {
      expect(cluster.core(id).conf).toEqual(conf);
      for (const [clientId, seq] of clients.acknowledged) expect(cluster.node(id).sm.seqOf(clientId)).toBe(seq);
    }
  });

  it('a learner receives the log but neither votes nor counts toward the quorum', () => {
    const cluster = makeCluster(3, { spares: 1 });
    const leader = cluster.awaitStableLeader(5_000) as string;
    changeMembership(cluster, { kind: 'add-learner', id: 'node4', address: 'node4:7000' });
    const op = write(cluster);
    expect(awaitApplied(cluster, cluster.ids, [op!], 2_000)).toBe(true);
    for (const id of othersThan(cluster, leader, 'node4')) cluster.crash(id);
    const stuck = write(cluster, leader);
    cluster.runFor(500);
    expect(cluster.core(leader).commitIndex).toBeLessThan(stuck!.index);
    // Cut off, the learner never campaigns.
    const term = cluster.core('node4').term;
    cluster.network.isolate('node4', cluster.ids);
    cluster.runFor(10_000);
    expect(cluster.core('node4').role).toBe('learner');
    expect(cluster.core('node4').term).toBe(term);
  });

  it('accepts one pending change at a time and rejects changes that make no sense', () => {
    const cluster = makeCluster(3, { spares: 2 });
    const leader = cluster.awaitStableLeader(5_000) as string;
    cluster.runFor(500);
    const propose = (change: ConfChange) => cluster.act(leader, (core) => core.proposeConfChange(change));
    expect(propose({ kind: 'promote', id: 'node4' })).toBeNull();
    expect(propose({ kind: 'remove', id: 'node5' })).toBeNull();
    expect(propose({ kind: 'add-voter', id: 'node2', address: 'x' })).toBeNull();
    expect(propose({ kind: 'add-learner', id: 'node4', address: 'node4:7000' })).not.toBeNull();
    expect(propose({ kind: 'add-learner', id: 'node5', address: 'node5:7000' })).toBeNull();
    // The configuration takes effect on the leader as soon as the entry is appended (thesis §4.1).
    expect(cluster.core(leader).conf.learners).toEqual(['node4']);
    cluster.runFor(500);
    expect(propose({ kind: 'add-learner', id: 'node5', address: 'node5:7000' })).not.toBeNull();
    const follower = othersThan(cluster, leader, 'node4', 'node5')[0] as string;
    expect(cluster.act(follower, (core) => core.proposeConfChange({ kind: 'remove', id: 'node4' }))).toBeNull();
  });

  it('a node that joins after compaction is sent a snapshot, then holds the configuration that added it', () => {
    const cluster = makeCluster(3, { spares: 1, compactEvery: 20 });
    cluster.awaitStableLeader(5_000);
    const ops = writeMany(cluster, 60);
    changeMembership(cluster, { kind: 'add-learner', id: 'node4', address: 'node4:7000' });
    // A write after the change: once node4 applied it, it holds the change too, from the snapshot it was sent (when
    // the leader's latest was taken after the change) or from the log after it.
    const after = writeMany(cluster, 1);
    expect(awaitApplied(cluster, ['node4'], [...ops, ...after], 5_000)).toBe(true);
    expect(cluster.core('node4').snapshotIndex).toBeGreaterThan(0);
    expect(cluster.core('node4').conf.learners).toEqual(['node4']);
    expect(cluster.core('node4').conf.addresses.node4).toBe('node4:7000');
  });
});
