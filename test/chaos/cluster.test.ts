// A 3-node cluster started from cluster/config/3-node in containers elects one leader that every node agrees on,
// and a client given only the endpoint list gets a lock from it.

import { describe, expect, it, onTestFinished } from 'vitest';
import { connect } from '../../src/index.js';
import { ChaosCluster, fetchStatus } from './harness/cluster.js';
import { ChaosEnv } from './harness/env.js';
import { ensureTestImage } from './harness/image.js';

describe('3-node cluster in containers', () => {
  it('elects a leader every node agrees on and grants a lock through it', async () => {
    await ensureTestImage();
    const env = await ChaosEnv.create('cluster-3');
    onTestFinished(() => env.dispose());
    const cluster = await ChaosCluster.start(env, 3);
    const leader = await cluster.waitForLeader();
    const statuses = await Promise.all(cluster.nodes.map((node) => fetchStatus(node)));
    expect(statuses.map((status) => status.leader)).toEqual(['node1', 'node2', 'node3'].map(() => leader.id));
    expect(statuses[0]!.members.map((member) => member.id).sort()).toEqual(['node1', 'node2', 'node3']);

    const client = await connect({ endpoints: cluster.endpoints(), ttlMs: 5_000, name: 'cluster-test' });
    onTestFinished(() => client.close());
    const lock = await client.acquire('cluster/first', { waitMs: 10_000 });
    expect(lock.token).toBeGreaterThan(0n);
    await lock.release();
  });
});
