// Safe reconfiguration on real nodes, through the SDK's AdminClient (what `forelock members` and `leader transfer`
// call): the reproduction (a lone node given a voter that never starts kept no leader), learners by default,
// promotion only once caught up, removals that keep a quorum of started members, and MEMBER_NOT_FOUND.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { connect } from '../../src/client/client.js';
import { MemberNotFoundError, MembershipChangeRefusedError } from '../../src/client/errors.js';
import type { NodeServer } from '../../src/server/node-server.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, freePort, startCluster, startTestNode, type TestCluster, tempDir } from './server-harness.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function loneNode(): Promise<{ node: NodeServer; admin: AdminClient }> {
  const dir = await tempDir('forelock-reconfig-');
  cleanups.push(() => dir.remove());
  const node = await startTestNode(join(dir.path, 'node1'), { id: 'node1' });
  cleanups.push(() => node.close());
  const admin = new AdminClient({ endpoints: [addressOf(node)], timeoutMs: 5_000 });
  cleanups.push(() => admin.close());
  await waitFor('node1 to lead', () => node.raft.status().role === 'leader');
  return { node, admin };
}

/** Acquires a fresh lock on `node`: proof that the cluster still commits entries. */
async function commits(node: NodeServer, name: string): Promise<bigint> {
  const client = await connect({ endpoints: [addressOf(node)], openTimeoutMs: 5_000 });
  try {
    const lock = await client.acquire(name, { waitMs: 5_000 });
    return lock.token;
  } finally {
    await client.close();
  }
}

describe('a lone node given a member that never starts (the issue: it kept no leader)', () => {
  it('refuses it as a voter, saying why and what to do, and stays able to commit', async () => {
    const { node, admin } = await loneNode();
    const refused = await admin.addMember('n5', `127.0.0.1:${await freePort()}`, { voter: true }).catch((e) => e);
    expect(refused).toBeInstanceOf(MembershipChangeRefusedError);
    expect(refused).toMatchObject({ code: 'INVALID_CONF_CHANGE', retriable: false });
    expect((refused as Error).message).toContain('if n5 never starts, the cluster has no leader. Add it as a learner');
    expect((await admin.status()).members.map((m) => m.id)).toEqual(['node1']);
    expect(await commits(node, 'reconfig/after-voter')).toBeGreaterThan(0n);
  });

  it('adds it as a learner by default, refuses to promote it, and removes it', async () => {
    const { node, admin } = await loneNode();
    const added = await admin.addMember('n5', `127.0.0.1:${await freePort()}`);
    expect(added.members).toContainEqual(expect.objectContaining({ id: 'n5', role: 'learner' }));
    expect(await commits(node, 'reconfig/with-learner')).toBeGreaterThan(0n);
    const promote = await admin.promoteMember('n5').catch((e) => e);
    expect(promote).toBeInstanceOf(MembershipChangeRefusedError);
    expect(promote.message).toContain('learner n5 has not caught up');
    const removed = await admin.removeMember('n5');
    expect(removed.members.map((m) => m.id)).toEqual(['node1']);
    expect(node.raft.status().role).toBe('leader');
  });
});

describe('an unknown member id', () => {
  it.each([
    ['members promote n9', (admin: AdminClient) => admin.promoteMember('n9')],
    ['members remove n9', (admin: AdminClient) => admin.removeMember('n9')],
    ['members remove n9 --force', (admin: AdminClient) => admin.removeMember('n9', { force: true })],
    ['leader transfer n9', (admin: AdminClient) => admin.transferLeadership('n9')],
  ])('%s fails with the non-retriable MEMBER_NOT_FOUND naming the members', async (_, call) => {
    const { admin } = await loneNode();
    const error = await call(admin).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemberNotFoundError);
    expect(error).toMatchObject({ code: 'MEMBER_NOT_FOUND', retriable: false });
    expect((error as Error).message).toContain('n9 is not a member of this cluster (members: node1)');
  });
});

describe('removing a voter from a 3-node cluster with one member down', () => {
  it('is refused while it would leave no quorum of started members, and done with force', async () => {
    const cluster: TestCluster = await startCluster(3);
    cleanups.push(() => cluster.close());
    const leader = await cluster.leader();
    const [down, up] = cluster.nodes.filter((node) => node !== leader) as [NodeServer, NodeServer];
    await cluster.stop(down);
    const admin = new AdminClient({ endpoints: [addressOf(leader), addressOf(up)], timeoutMs: 30_000 });
    cleanups.push(() => admin.close());
    // The leader counts `down` as not started once an election timeout passes without a word from it; a removal
    // before then would still be allowed (as in etcd, whose window is its health interval).
    await waitFor(
      'the leader to count the stopped member as not started',
      () => !leader.raft.startedMembers().has(down.config.id),
    );
    const refused = await admin.removeMember(up.config.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MembershipChangeRefusedError);
    expect(refused).toMatchObject({ code: 'INVALID_CONF_CHANGE', retriable: false });
    expect(up.raft.status().conf.voters).toContain(up.config.id);
    expect((refused as Error).message).toContain(`not heard from: ${down.config.id}`);
    expect((refused as Error).message).toContain('--force');
    // With --force the leader takes it (the configuration changes when its entry is appended): the operator vouches
    // that the stopped member comes back, and until it does the new configuration ({leader, down}) cannot commit, so
    // the call is left pending and ends with the cluster.
    const forced = admin.removeMember(up.config.id, { force: true });
    forced.catch(() => {});
    const conf = await waitFor('the forced removal to be proposed', () => {
      const current = leader.raft.status().conf;
      return current.voters.includes(up.config.id) ? undefined : current;
    });
    expect([...conf.voters].sort()).toEqual([leader.config.id, down.config.id].sort());
  });
});
