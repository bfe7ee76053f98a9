// Recovery from quorum loss with real processes: a 3-node cluster loses both followers, its former leader restarts
// with --force-new-cluster as a one-member cluster keeping its whole log, two fresh members are added back one at a
// time, and no acknowledged grant is lost while tokens continue strictly higher.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { connect } from '../../src/client/client.js';
import { MembershipChangeRefusedError } from '../../src/client/errors.js';
import { waitFor } from '../support/wait-for.js';
import {
  cleanupAfterEach,
  type NodeAddresses,
  nodeAddresses,
  peersOf,
  START_TIMEOUT_MS,
  statusOf,
} from './forelock-processes.js';
import { tempDir } from './server-harness.js';

const { defer, serve } = cleanupAfterEach();

async function leaderOf(nodes: readonly NodeAddresses[]): Promise<NodeAddresses> {
  return waitFor(
    'a leader',
    async () => {
      for (const node of nodes) {
        const status = await statusOf(node);
        if (status?.leader === node.id) return node;
      }
      return undefined;
    },
    START_TIMEOUT_MS,
  );
}

describe('forelock serve --force-new-cluster', () => {
  it('recovers the former leader of a cluster that lost both followers, keeping every acknowledged grant', async () => {
    const dir = await tempDir('forelock-force-new-');
    defer(dir.remove);
    const founders = await nodeAddresses(3);
    const peers = peersOf(founders);
    const dataOf = (node: NodeAddresses) => ['--data', join(dir.path, node.id)];
    const running = new Map(founders.map((node) => [node.id, serve(node, [...dataOf(node), '--peers', peers])]));
    const leader = await leaderOf(founders);

    // Acknowledged grants: each acquire returned, so its entry was committed on a quorum.
    const client = await connect({ endpoints: [leader.listen], ttlMs: 120_000, openTimeoutMs: 5_000 });
    defer(() => client.close());
    const acknowledged = new Map<string, bigint>();
    for (let i = 0; i < 5; i++) acknowledged.set(`recover/${i}`, (await client.acquire(`recover/${i}`)).token);
    const highest = [...acknowledged.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).at(-1)!;

    for (const node of founders) if (node !== leader) await running.get(node.id)!.stop('SIGKILL');
    await running.get(leader.id)!.stop('SIGKILL');
    serve(leader, [...dataOf(leader), '--peers', peers, '--force-new-cluster']);
    await waitFor(
      'the former leader to lead alone',
      async () => (await statusOf(leader))?.leader === leader.id,
      START_TIMEOUT_MS,
    );
    const admin = new AdminClient({ endpoints: [leader.listen], timeoutMs: 30_000 });
    defer(() => admin.close());
    expect((await admin.status()).members.map((member) => member.id)).toEqual([leader.id]);
    const kept = new Map((await admin.listLocks('recover/')).map((lock) => [lock.name, lock.holders[0]!.token]));
    expect(kept).toEqual(acknowledged);

    // Two fresh members, one at a time: each joins as a learner, and is promoted once it has caught up.
    const fresh = await nodeAddresses(2, 'fresh');
    for (const node of fresh) {
      serve(node, [...dataOf(node), '--join', '--peers', `${leader.id}=${leader.listen}`]);
      await admin.addMember(node.id, node.listen);
      await waitFor(
        `${node.id} to be promoted once caught up`,
        () =>
          admin.promoteMember(node.id).then(
            () => true,
            (error: unknown) => {
              if (error instanceof MembershipChangeRefusedError) return false;
              throw error;
            },
          ),
        START_TIMEOUT_MS,
      );
    }
    const members = (await admin.status()).members;
    expect(members.map((member) => [member.id, member.role]).sort()).toEqual(
      [
        [leader.id, 'leader'],
        ['fresh1', 'follower'],
        ['fresh2', 'follower'],
      ].sort(),
    );
    const after = await connect({
      endpoints: [leader.listen, ...fresh.map((node) => node.listen)],
      openTimeoutMs: 5_000,
    });
    defer(() => after.close());
    const next = await after.acquire('recover/after', { waitMs: 30_000 });
    expect(next.token).toBeGreaterThan(highest);
    expect(new Map((await admin.listLocks('recover/')).map((lock) => [lock.name, lock.holders[0]!.token]))).toEqual(
      new Map([...acknowledged, ['recover/after', next.token]]),
    );
  });
});
