// A 3-node cluster started from cluster/config/3-node in containers elects one leader that every node agrees on,
// and a client given only the endpoint list gets a lock from it.

import { describe, expect, it, onTestFinished } from 'vitest';
import { connect } from '../../src/index.js';
import { waitFor } from '../support/wait-for.js';
import { ChaosCluster, fetchStatus } from './harness/cluster.js';
import { ChaosEnv } from './harness/env.js';
import { ensureTestImage } from './harness/image.js';
import { CHAOS_POLL } from './harness/wait.js';

/** How long every node may take to hear of the elected leader (a heartbeat, delayed on a loaded machine). */
const LEADER_KNOWN_TIMEOUT_MS = 30_000;

describe('3-node cluster in containers', () => {
  it('elects a leader every node agrees on and grants a lock through it', async () => {
    await ensureTestImage();
    const env = await ChaosEnv.create('cluster-3');
    onTestFinished(() => env.dispose());
    const cluster = await ChaosCluster.start(env, 3);
    const leader = await cluster.waitForLeader();
    // A majority elected it; the third node learns of it from a later heartbeat, which a busy machine may delay.
    const statuses = await waitFor(
      'every node names the same leader',
      async () => {
        const all = await Promise.all(cluster.nodes.map((node) => fetchStatus(node)));
        return all.every((status) => status.leader === leader.id) ? all : undefined;
      },
      LEADER_KNOWN_TIMEOUT_MS,
      CHAOS_POLL,
    );
    expect(statuses.map((status) => status.leader)).toEqual(['node1', 'node2', 'node3'].map(() => leader.id));
    expect(statuses[0]!.members.map((member) => member.id).sort()).toEqual(['node1', 'node2', 'node3']);

    const client = await connect({ endpoints: cluster.endpoints(), ttlMs: 5_000, name: 'cluster-test' });
    onTestFinished(() => client.close());
    const lock = await client.acquire('cluster/first', { waitMs: 10_000 });
    expect(lock.token).toBeGreaterThan(0n);
    await lock.release();
  });
});
