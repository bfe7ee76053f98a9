// Health and status on real nodes: /livez answers while the process serves, /readyz only with a leader and the
// committed entries applied; `status` shows the leader's replication view (a stopped member is unreachable, its lag
// grows) and each node's applied index; the operational metrics are in base units.
import { afterEach, describe, expect, it } from 'vitest';
import { statusJson } from '../../src/cli/commands/status.js';
import { AdminClient } from '../../src/client/admin.js';
import { connect } from '../../src/client/client.js';
import { notReadyReason } from '../../src/server/http.js';
import type { NodeServer } from '../../src/server/node-server.js';
import type { StatusJson } from '../../src/server/wire.js';
import { forelockVersion } from '../../src/util/version.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, startCluster, type TestCluster } from './server-harness.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function httpGet(node: NodeServer, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${node.httpAddress.port}${path}`);
  return { status: response.status, body: await response.text() };
}

/** The value of one sample line of /metrics (`name{labels}` as printed), or undefined when absent. */
async function sample(node: NodeServer, series: string): Promise<number | undefined> {
  const text = (await httpGet(node, '/metrics')).body;
  const line = text.split('\n').find((each) => each.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function cluster3(): Promise<TestCluster> {
  const cluster = await startCluster(3);
  cleanups.push(() => cluster.close());
  return cluster;
}

/** Acquires and releases a lock through `node`: the cluster commits. */
async function commitOn(node: NodeServer, name: string): Promise<void> {
  const client = await connect({ endpoints: [addressOf(node)], openTimeoutMs: 5_000 });
  try {
    await (await client.acquire(name, { waitMs: 5_000 })).release();
  } finally {
    await client.close();
  }
}

describe('readiness', () => {
  it.each([
    [{ leaderId: null, commitIndex: 5, appliedIndex: 5 }, 'no leader known'],
    [{ leaderId: 'n1', commitIndex: 7, appliedIndex: 5 }, 'applied index 5 behind commit index 7'],
    [{ leaderId: 'n1', commitIndex: 7, appliedIndex: 7 }, null],
  ])('%j is %s', (status, reason) => {
    expect(notReadyReason(status as never)).toBe(reason);
  });
});

describe('health endpoints and status of a 3-node cluster', () => {
  it('live and ready with a leader; status names the unreachable member and its lag; no quorum: live, not ready', async () => {
    const cluster = await cluster3();
    const leader = await cluster.leader();
    const followers = cluster.nodes.filter((node) => node !== leader);
    const [stopped, survivor] = followers as [NodeServer, NodeServer];
    for (const node of cluster.nodes) {
      await waitFor('every node ready', async () => (await httpGet(node, '/readyz')).status === 200);
      expect((await httpGet(node, '/livez')).status).toBe(200);
    }
    const admin = new AdminClient({ endpoints: [addressOf(leader)], timeoutMs: 5_000 });
    cleanups.push(() => admin.close());
    const healthy = statusJson(await admin.status());
    expect(healthy).toMatchObject({ id: leader.config.id, leader: leader.config.id });
    expect(healthy.appliedIndex).toBeGreaterThanOrEqual(1);
    for (const member of healthy.members) {
      expect(member).toMatchObject({ reachable: true, lagEntries: expect.any(Number) });
      expect(member.matchIndex).toBeGreaterThanOrEqual(1);
    }

    await cluster.stop(stopped);
    await commitOn(leader, 'health/after-stop');
    const degraded = await waitFor('the leader to see the stopped member unreachable', async () => {
      const status = statusJson(await admin.status());
      const member = status.members.find((each) => each.id === stopped.config.id);
      return member?.reachable === false && (member.lagEntries ?? 0) > 0 ? status : undefined;
    });
    const stoppedMember = degraded.members.find((each) => each.id === stopped.config.id)!;
    expect(stoppedMember).toMatchObject({ role: 'follower', reachable: false });
    expect(degraded.members.find((each) => each.id === survivor.config.id)).toMatchObject({ reachable: true });
    expect(await sample(leader, `forelock_peer_lag_entries{peer="${stopped.config.id}"}`)).toBe(
      stoppedMember.lagEntries,
    );
    // A follower answers /v1/status for itself: its own applied index, and no replication view.
    const fromFollower = JSON.parse((await httpGet(survivor, '/v1/status')).body) as StatusJson;
    expect(fromFollower.id).toBe(survivor.config.id);
    expect(fromFollower.appliedIndex).toBeGreaterThanOrEqual(1);
    expect(fromFollower.members.map((member) => member.reachable)).toEqual([null, null, null]);

    // Without a quorum the leader steps down: every survivor still serves (live) but is not ready.
    await cluster.stop(survivor);
    await waitFor('the lone survivor to know no leader', async () => (await httpGet(leader, '/readyz')).status === 503);
    const notReady = JSON.parse((await httpGet(leader, '/readyz')).body) as Record<string, unknown>;
    expect(notReady).toMatchObject({ ok: false, leader: null, reason: 'no leader known' });
    expect((await httpGet(leader, '/livez')).status).toBe(200);
    expect(await sample(leader, 'forelock_has_leader')).toBe(0);
  });
});

describe('operational metrics, in base units', () => {
  it('has the leader, counts leader changes, names the build, times fsyncs and acquire waits', async () => {
    const cluster = await cluster3();
    const leader = await cluster.leader();
    await commitOn(leader, 'metrics/first');
    const text = (await httpGet(leader, '/metrics')).body;
    expect(await sample(leader, 'forelock_has_leader')).toBe(1);
    expect(await sample(leader, 'forelock_leader_changes_total')).toBeGreaterThanOrEqual(1);
    expect(await sample(leader, `forelock_build_info{version="${forelockVersion()}"}`)).toBe(1);
    expect(await sample(leader, 'forelock_fsync_duration_seconds_count')).toBeGreaterThan(0);
    expect(await sample(leader, 'forelock_acquire_wait_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(await sample(leader, 'forelock_apply_lag_entries')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^forelock_peer_lag_entries\{peer="node\d"\} \d+$/m);
    expect(text).toMatch(/^forelock_event_loop_delay_seconds \d/m);
    expect(text).toMatch(/^forelock_event_loop_stall_max_seconds \d/m);
    expect(text).not.toContain('forelock_event_loop_delay_ms');
    // A follower has no peers to lag: the gauge has no series there.
    const follower = cluster.nodes.find((node) => node !== leader)!;
    expect((await httpGet(follower, '/metrics')).body).not.toMatch(/^forelock_peer_lag_entries\{/m);
    // A transfer is one more leader seen.
    const before = (await sample(follower, 'forelock_leader_changes_total')) ?? 0;
    await leader.raft.transferLeadership(follower.config.id);
    await waitFor('the follower to lead', () => follower.raft.status().role === 'leader');
    await waitFor(
      'the change counted',
      async () => ((await sample(follower, 'forelock_leader_changes_total')) ?? 0) === before + 1,
    );
  });
});
