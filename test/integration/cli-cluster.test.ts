// The admin client and the cluster-level commands against a 3-node in-process cluster: NotLeader answers followed
// from a follower-only endpoint list, `forelock members` and `forelock leader transfer`.
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/index.js';
import { waitFor } from '../support/wait-for.js';
import { runCli, useClientFixtures } from './client-harness.js';
import { freePort, startCluster, type TestCluster } from './server-harness.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});
// Registered after the cluster's hook so that clients close first (after-hooks run in reverse order).
const { client } = useClientFixtures();

describe('admin client on a cluster', () => {
  it('given only a follower, finds the leader for ListLocks and Revoke, and reports the leader view in Status', async () => {
    cluster = await startCluster(3);
    const leader = await cluster.leader();
    const followerId = Object.keys(cluster.peers).find((id) => id !== leader.config.id)!;
    const follower = cluster.peers[followerId]!;
    await waitFor(
      'the follower to know the leader',
      () => cluster!.nodes.find((n) => n.config.id === followerId)!.raft.status().leaderId === leader.config.id,
    );
    const holder = await client(Object.values(cluster.peers), 'holder');
    const lock = await holder.acquire('admin/x', { fenced: true });
    const admin = new AdminClient({ endpoints: [follower] });
    try {
      const status = await admin.status();
      expect(status.id).toBe(leader.config.id);
      expect(status.leader).toBe(leader.config.id);
      const locks = await admin.listLocks('admin/');
      expect(locks.map((l) => [l.name, l.holders[0]?.token])).toEqual([['admin/x', lock.token]]);
      const revoked = await admin.revoke('admin/x', { reason: 'test' });
      expect(revoked).toMatchObject([{ session: holder.session.id, token: lock.token, immediate: true }]);
      await waitFor('the holder to learn of it', () => lock.signal.aborted);
    } finally {
      admin.close();
    }
  });
});

describe('forelock members and leader transfer', () => {
  it('lists the members, then moves the leadership where asked', async () => {
    cluster = await startCluster(3);
    const leader = await cluster.leader();
    const endpoints = Object.values(cluster.peers).join(',');
    const listed = await runCli(['members', '--json', '--endpoints', endpoints]);
    expect(listed.code).toBe(0);
    const before = JSON.parse(listed.stdout) as { leader: string; members: { id: string; role: string }[] };
    expect(before.leader).toBe(leader.config.id);
    expect(before.members.map((m) => m.id).sort()).toEqual(['node1', 'node2', 'node3']);
    const target = before.members.find((m) => m.id !== leader.config.id)!.id;
    const moved = await runCli(['leader', 'transfer', target, '--endpoints', endpoints]);
    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    await waitFor('the new leader', async () => (await cluster!.leader()).config.id === target);
    const after = JSON.parse((await runCli(['status', '--json', '--endpoints', endpoints])).stdout) as {
      leader: string;
    };
    expect(after.leader).toBe(target);
  });

  it('members add/remove use the --endpoints given after the subcommand', async () => {
    cluster = await startCluster(3);
    await cluster.leader();
    const endpoints = Object.values(cluster.peers).join(',');
    const spare = `127.0.0.1:${await freePort()}`;
    const added = await runCli(['members', 'add', `node4=${spare}`, '--learner', '--json', '--endpoints', endpoints]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const withLearner = JSON.parse(added.stdout) as { members: { id: string; role: string }[] };
    expect(withLearner.members.find((m) => m.id === 'node4')?.role).toBe('learner');
    const removed = await runCli(['members', 'remove', 'node4', '--json', '--endpoints', endpoints]);
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    const without = JSON.parse(removed.stdout) as { members: { id: string }[] };
    expect(without.members.map((m) => m.id).sort()).toEqual(['node1', 'node2', 'node3']);
  });

  it('refuses a malformed member with a clear message', async () => {
    const run = await runCli(['members', 'add', 'node4', '--endpoints', '127.0.0.1:1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('a member is ID=host:port, got "node4"');
  });
});
