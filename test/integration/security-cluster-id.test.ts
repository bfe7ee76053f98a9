// The cluster id on every peer stream, without TLS (docs/design.md, principle 8): a node of another cluster (another
// --cluster-token over the same addresses) is refused with one clear log line and cannot disturb the leader; a node
// that joins adopts the id of the cluster that adds it, and keeps it in identity.json.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { deriveClusterId } from '../../src/raft/cluster-id.js';
import { waitFor } from '../support/wait-for.js';
import {
  type LoggedCluster,
  type LoggedNode,
  logEntries,
  startLoggedCluster,
  startLoggedNode,
} from './security-harness.js';
import { freePort, tempDir } from './server-harness.js';

let cluster: LoggedCluster;

beforeAll(async () => {
  // node3 was started with another token: it founds another cluster on the same addresses.
  cluster = await startLoggedCluster(['node1', 'node2', 'node3'], (id) => ({
    clusterToken: id === 'node3' ? 'beta' : 'alpha',
  }));
  await cluster.leader();
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

describe('a node of another cluster', () => {
  it('derives its id from the founding peers and token', () => {
    const node1 = cluster.nodes.get('node1')!.server;
    expect(node1.raft.identity.clusterId).toBe(deriveClusterId(cluster.peers, 'alpha'));
    expect(cluster.nodes.get('node3')!.server.raft.identity.clusterId).toBe(deriveClusterId(cluster.peers, 'beta'));
  });

  it('is refused by both sides with one log line each, and the leader and its term stay', async () => {
    const leader = await cluster.leader();
    const { term, leaderId } = leader.raft.status();
    const alpha = deriveClusterId(cluster.peers, 'alpha');
    const beta = deriveClusterId(cluster.peers, 'beta');
    const node3 = cluster.nodes.get('node3')!;
    const refusedBy = (node: LoggedNode) => logEntries(node, 'refused a peer stream');
    // node3 keeps campaigning in its own cluster; its messages never reach node1 or node2.
    for (const id of ['node1', 'node2']) {
      const entries = await waitFor(`${id} refusing node3`, () => {
        const found = refusedBy(cluster.nodes.get(id)!).filter((e) => e.peer === 'node3');
        return found.length > 0 ? found : undefined;
      });
      expect(entries).toHaveLength(1);
      expect(entries[0]!.reason).toBe(`node3 belongs to cluster ${beta}, this node to cluster ${alpha}`);
    }
    const fromNode3 = await waitFor('node3 refusing node1', () =>
      refusedBy(node3).find((e) => e.peer === 'node1' || e.peer === 'node2'),
    );
    expect(fromNode3.reason).toMatch(new RegExp(`belongs to cluster ${alpha}, this node to cluster ${beta}`));
    // It campaigns (PreVote keeps its term) and never hears of a leader.
    await waitFor('node3 to campaign', () => node3.server.raft.status().role.endsWith('candidate') || undefined);
    expect(node3.server.raft.status().leaderId).toBeNull();
    const after = (await cluster.leader()).raft.status();
    expect(after.leaderId).toBe(leaderId);
    expect(after.term).toBe(term);
    // Every refusal is counted, not only the ones logged.
    const counted = await cluster.nodes.get('node1')!.server.services.metrics.peerRefusals.get();
    const inbound = counted.values.find((v) => v.labels.direction === 'inbound')?.value ?? 0;
    expect(inbound).toBeGreaterThanOrEqual(1);
  });
});

describe('a joining node', () => {
  it('adopts the id of the cluster that adds it and records it', async () => {
    const dir = await tempDir('forelock-join-');
    const address = `127.0.0.1:${await freePort()}`;
    const alpha = deriveClusterId(cluster.peers, 'alpha');
    let joiner: LoggedNode | undefined;
    try {
      joiner = await startLoggedNode(join(dir.path, 'node4'), {
        id: 'node4',
        listen: address,
        join: true,
        peers: { node1: cluster.peers.node1!, node2: cluster.peers.node2! },
      });
      expect(joiner.server.raft.identity.clusterId).toBe('');
      const admin = new AdminClient({ endpoints: [cluster.peers.node1!, cluster.peers.node2!] });
      try {
        await admin.addMember('node4', address);
      } finally {
        admin.close();
      }
      await waitFor(
        'node4 to adopt the cluster id',
        () => joiner!.server.raft.identity.clusterId === alpha || undefined,
      );
      const recorded = JSON.parse(await readFile(join(dir.path, 'node4', 'identity.json'), 'utf8'));
      expect(recorded.clusterId).toBe(alpha);
      await waitFor('node4 to follow the leader', () => joiner!.server.raft.status().leaderId ?? undefined);
    } finally {
      await joiner?.server.close();
      await dir.remove();
    }
  });
});
