// TLS on the one port (docs/design.md, principle 8), with real certificates: clients need a certificate from the
// cluster CA, peers one that names a current member, and a refused caller changes nothing.
import { readFile } from 'node:fs/promises';
import { get } from 'node:https';
import { inspect } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { connect } from '../../src/client/client.js';
import { CLUSTER_ID_METADATA, PEER_ID_METADATA, PeerTransport } from '../../src/raft/transport.js';
import type { Message } from '../../src/raft/types.js';
import { tlsPeerAuthenticator } from '../../src/security/peer-certificates.js';
import { ServerTls } from '../../src/security/server-tls.js';
import { loadProto, RAFT_PROTO } from '../../src/util/proto.js';
import { waitFor } from '../support/wait-for.js';
import { createTestPki, type LoggedCluster, logEntries, startLoggedCluster, type TestPki } from './security-harness.js';

let pki: TestPki;
let cluster: LoggedCluster;
let endpoints: string[];

const pem = (path: string): Promise<Buffer> => readFile(path);
const tlsOf = async (ca: string, cert?: { cert: string; key: string }) => ({
  ca: await pem(ca),
  ...(cert === undefined ? {} : { cert: await pem(cert.cert), key: await pem(cert.key) }),
});

beforeAll(async () => {
  pki = await createTestPki();
  cluster = await startLoggedCluster(['node1', 'node2', 'node3'], (id) => ({
    tlsCert: pki.node(id).cert,
    tlsKey: pki.node(id).key,
    tlsCa: pki.ca,
  }));
  endpoints = Object.values(cluster.peers);
  await cluster.leader();
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  await pki?.remove();
});

/** What a refused caller must not have changed: sessions on the leader, its term and commit index. */
async function clusterState(): Promise<{ sessions: number; term: number; leader: string | null; commit: number }> {
  const leader = await cluster.leader();
  const status = leader.raft.status();
  return {
    sessions: leader.machine.sessions().length,
    term: status.term,
    leader: status.leaderId,
    commit: status.commitIndex,
  };
}

describe('TLS between clients and the cluster', () => {
  it('serves a client with a certificate from the cluster CA: session, lock, admin', async () => {
    const tls = await tlsOf(pki.ca, pki.client('alice'));
    const client = await connect({ endpoints, tls, connectTimeoutMs: 10_000 });
    try {
      const lock = await client.acquire('tls/a');
      expect(lock.token).toBeGreaterThan(0n);
      await lock.release();
      const admin = new AdminClient({ endpoints, tls });
      try {
        expect((await admin.status()).leader).not.toBeNull();
      } finally {
        admin.close();
      }
      // The key never shows in an inspected or serialized SDK object.
      const keyText = String(tls.key).split('\n')[1] as string;
      expect(inspect(client, { depth: 8 })).not.toContain(keyText);
    } finally {
      await client.close();
    }
  });

  it.each([
    ['a plaintext client', async () => undefined],
    ['a TLS client without a certificate', () => tlsOf(pki.ca)],
    ['a client with a certificate from another CA', () => tlsOf(pki.ca, pki.other('alice'))],
    ['a client with an expired certificate', () => tlsOf(pki.ca, pki.client('bob'))],
  ])('refuses %s, and nothing changes', async (_what, tlsFor) => {
    const before = await clusterState();
    const tls = await tlsFor();
    await expect(connect({ endpoints, connectTimeoutMs: 1_500, ...(tls && { tls }) })).rejects.toThrow();
    const admin = new AdminClient({ endpoints, timeoutMs: 1_500, ...(tls && { tls }) });
    try {
      await expect(admin.status()).rejects.toThrow();
    } finally {
      admin.close();
    }
    expect(await clusterState()).toEqual(before);
  });

  it('serves HTTPS: probes and /metrics need no client certificate, /v1/* one from the cluster CA', async () => {
    const leader = await cluster.leader();
    const ca = await pem(pki.ca);
    const alice = pki.client('alice');
    const other = pki.other('alice');
    const statusOf = (path: string, cert?: { cert: string; key: string }) =>
      (async () => {
        const identity = cert === undefined ? {} : { cert: await pem(cert.cert), key: await pem(cert.key) };
        return new Promise<number>((resolve, reject) => {
          get({ host: '127.0.0.1', port: leader.httpAddress.port, path, ca, ...identity }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          }).on('error', reject);
        });
      })();
    for (const path of ['/livez', '/readyz', '/healthz', '/metrics']) expect(await statusOf(path)).toBe(200);
    expect(await statusOf('/v1/status')).toBe(403);
    expect(await statusOf('/v1/locks', other)).toBe(403);
    expect(await statusOf('/v1/status', alice)).toBe(200);
    expect(await statusOf('/v1/locks', alice)).toBe(200);
  });
});

describe('peers authenticated as members', () => {
  /**
   * A rogue node dialing every member with `cert`, claiming to be `claimedId`, sending what would depose the leader
   * (a vote request and an append from a far higher term) and a timeout-now. Resolves with the refusals it was told.
   */
  async function rogue(claimedId: string, cert: { cert: string; key: string }): Promise<Map<string, string>> {
    const leader = await cluster.leader();
    const tls = await ServerTls.load({ certFile: cert.cert, keyFile: cert.key, caFile: pki.ca });
    const refusals = new Map<string, string>();
    const transport = new PeerTransport({
      selfId: claimedId,
      authenticator: tlsPeerAuthenticator(tls),
      membership: {
        clusterId: () => leader.raft.identity.clusterId,
        adoptClusterId: async () => {},
        isMember: () => true,
      },
      onMessage: () => {},
      onRefused: (peer, direction, reason) => {
        if (direction === 'outbound') refusals.set(peer, reason);
      },
    });
    try {
      transport.setPeers(cluster.peers);
      const term = leader.raft.status().term + 100;
      const others = Object.keys(cluster.peers).filter((id) => id !== claimedId);
      // Resent until every node answered with a refusal: the links come up asynchronously.
      return await waitFor(`refusals from ${others.join(', ')}`, () => {
        const messages: Message[] = others.flatMap((to): Message[] => [
          { type: 'vote', from: claimedId, to, term, lastLogIndex: 1e9, lastLogTerm: term },
          { type: 'append', from: claimedId, to, term, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 1e9 },
          { type: 'timeout-now', from: claimedId, to, term },
        ]);
        transport.send(messages);
        transport.flush();
        return others.every((id) => refusals.has(id)) ? refusals : undefined;
      });
    } finally {
      transport.close();
    }
  }

  it.each([
    ['a node with a valid certificate that is not a member', 'node9', () => pki.node('node9'), /not a member/],
    [
      'a member certificate used by a node claiming another member',
      'node2',
      () => pki.node('node9'),
      /does not name member node2/,
    ],
    ['a client certificate named after a member', 'node3', () => pki.client('node3-client'), /client certificate/],
  ])('refuses %s; the leader, term and log are unchanged', async (_what, claimedId, cert, reason) => {
    const before = await clusterState();
    const refusals = await rogue(claimedId, cert());
    for (const text of refusals.values()) expect(text).toMatch(reason);
    expect(await clusterState()).toEqual(before);
    // Each node that refused says so in one log line naming why.
    for (const id of refusals.keys()) {
      const reasons = logEntries(cluster.nodes.get(id)!, 'refused a peer stream').map((entry) => entry.reason);
      expect(reasons).toEqual(expect.arrayContaining([expect.stringMatching(reason)]));
    }
  });

  it('refuses a peer with a certificate from another CA at the handshake', async () => {
    const before = await clusterState();
    const other = pki.other('node1');
    const { forelock } = loadProto(RAFT_PROTO) as unknown as {
      forelock: { raft: { RaftPeer: grpc.ServiceClientConstructor } };
    };
    const credentials = grpc.credentials.createSsl(await pem(pki.ca), await pem(other.key), await pem(other.cert));
    const client = new forelock.raft.RaftPeer(cluster.peers.node2!, credentials);
    try {
      const metadata = new grpc.Metadata();
      metadata.set(CLUSTER_ID_METADATA, (await cluster.leader()).raft.identity.clusterId);
      metadata.set(PEER_ID_METADATA, 'node1');
      const call = (
        client as unknown as { Stream(m: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown> }
      ).Stream(metadata);
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        call.on('status', resolve);
        call.on('error', () => {});
      });
      expect(status.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
    expect(await clusterState()).toEqual(before);
  });
});

describe('the audit trail of admin actions', () => {
  /** The audit entries a node logged for `action`. */
  const audits = (id: string, action: string) =>
    logEntries(cluster.nodes.get(id)!, 'audit')
      .map((entry) => entry.audit as Record<string, string>)
      .filter((entry) => entry.action === action);

  it('names the client certificate, the action, the target and the result, refusals included', async () => {
    const tls = await tlsOf(pki.ca, pki.client('alice'));
    const leader = await cluster.leader();
    const leaderId = leader.raft.status().id;
    const holder = await connect({ endpoints, tls });
    // Straight to the leader: a follower would forward the call, and the leader would audit the follower.
    const admin = new AdminClient({ endpoints: [cluster.peers[leaderId]!], tls });
    try {
      await holder.acquire('audit/a', { fenced: true });
      await admin.revoke('audit/a', { force: true });
      await expect(admin.removeMember('node42')).rejects.toThrow();
      await waitFor('the audit lines', () => audits(leaderId, 'RemoveMember').length > 0 || undefined);
      expect(audits(leaderId, 'Revoke')).toContainEqual({
        identity: 'cn:alice',
        action: 'Revoke',
        target: 'audit/a --force',
        result: 'ok',
      });
      expect(audits(leaderId, 'RemoveMember')).toContainEqual({
        identity: 'cn:alice',
        action: 'RemoveMember',
        target: 'node42',
        result: 'MEMBER_NOT_FOUND',
      });
    } finally {
      admin.close();
      await holder.close();
    }
  });

  it('is written by a follower that forwards the call, and by the leader under the follower node name', async () => {
    const tls = await tlsOf(pki.ca, pki.client('alice'));
    const leader = await cluster.leader();
    const leaderId = leader.raft.status().id;
    const followerId = Object.keys(cluster.peers).find((id) => id !== leaderId)!;
    const admin = new AdminClient({ endpoints: [cluster.peers[followerId]!], tls });
    try {
      await admin.revoke('audit/nobody-holds-this').catch(() => {});
      const forwarded = await waitFor('the audit line of the follower', () =>
        audits(followerId, 'Revoke').find((entry) => entry.target === 'audit/nobody-holds-this'),
      );
      expect(forwarded).toMatchObject({ identity: 'cn:alice', forwardedTo: cluster.peers[leaderId] });
      const atLeader = await waitFor('the audit line of the leader', () =>
        audits(leaderId, 'Revoke').find((entry) => entry.target === 'audit/nobody-holds-this'),
      );
      expect(atLeader.identity).toBe(`node:${followerId}`);
      expect(atLeader.result).toBe(forwarded.result);
    } finally {
      admin.close();
    }
  });
});
