// A leader crash under TLS: the SDK fails over to another member over mutual TLS, its session and lock live on (same
// token), and the new leader grants the next holder a higher token (docs/design.md, principles 1 and 8).
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { waitFor } from '../support/wait-for.js';
import { createTestPki, type LoggedCluster, startLoggedCluster, type TestPki } from './security-harness.js';

let pki: TestPki;
let cluster: LoggedCluster;

beforeAll(async () => {
  pki = await createTestPki();
  cluster = await startLoggedCluster(['node1', 'node2', 'node3'], (id) => ({
    tlsCert: pki.node(id).cert,
    tlsKey: pki.node(id).key,
    tlsCa: pki.ca,
  }));
  await cluster.leader();
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  await pki?.remove();
});

describe('failover over TLS', () => {
  it('keeps the session and its lock across a leader crash, and the next grant has a higher token', async () => {
    const alice = pki.client('alice');
    const tls = { ca: await readFile(pki.ca), cert: await readFile(alice.cert), key: await readFile(alice.key) };
    const endpoints = Object.values(cluster.peers);
    const holder = await connect({ endpoints, tls, ttlMs: 5_000 });
    const other = await connect({ endpoints, tls, ttlMs: 5_000 });
    try {
      const lock = await holder.acquire('failover/a');
      const oldLeader = (await cluster.leader()).raft.status().id;
      await cluster.stop(oldLeader);
      const newLeader = await cluster.leader();
      expect(newLeader.raft.status().id).not.toBe(oldLeader);
      // The holder resumes on the new leader: the lock is still its own, at the same token.
      await waitFor('the session resumed on the new leader', () =>
        newLeader.machine.sessions().find((s) => s.sessionId === holder.session.id && s.held.includes('failover/a')),
      );
      expect(lock.held).toBe(true);
      expect(newLeader.machine.locks().find((l) => l.name === 'failover/a')?.holders[0]?.token).toBe(lock.token);
      await lock.release();
      const next = await other.acquire('failover/a');
      expect(next.token).toBeGreaterThan(lock.token);
    } finally {
      await holder.close();
      await other.close();
    }
  });
});
