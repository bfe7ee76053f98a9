// The SDK against three real `forelock serve` processes: SIGKILL of the leader under a held lock and a waiting
// acquire; the client finds the new leader from its endpoint list, resumes its session and keeps going.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/index.js';
import { LocalCluster, type LocalNode } from '../../src/server/local-cluster.js';
import { waitFor } from '../support/wait-for.js';
import { freePort } from './server-harness.js';

/** Process start-up under tsx on a loaded 2-core machine takes seconds: generous deadlines, never sleeps. */
const START_TIMEOUT_MS = 60_000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function processCluster(): Promise<{ cluster: LocalCluster; endpoints: string[] }> {
  const nodes: LocalNode[] = [];
  for (let i = 1; i <= 3; i++) {
    nodes.push({ id: `node${i}`, listen: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` });
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'forelock-client-failover-'));
  const cluster = new LocalCluster(
    nodes,
    dataDir,
    { executable: process.execPath, args: ['--import', 'tsx', 'src/cli/main.ts'] },
    ['--log-level', 'warn'],
  );
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  cleanups.push(() => cluster.stopAll(2_000));
  cluster.startAll();
  await waitFor('a leader', () => cluster.leader().then((leader) => leader ?? undefined), START_TIMEOUT_MS);
  return { cluster, endpoints: nodes.map((n) => n.listen) };
}

describe('failover across real processes', () => {
  it('survives SIGKILL of the leader: the session, its lock and a queued acquire carry over', async () => {
    const { cluster, endpoints } = await processCluster();
    const connectTo = async (name: string): Promise<Client> => {
      const client = await connect({ endpoints, name, ttlMs: 10_000, connectTimeoutMs: START_TIMEOUT_MS });
      cleanups.push(() => client.close());
      return client;
    };
    const holder = await connectTo('holder');
    const waiter = await connectTo('waiter');
    const lock = await holder.acquire('jobs/failover');
    const queued = waiter.acquire('jobs/failover', { waitMs: 60_000 });
    await waitFor('the waiter to queue', async () => (await holder.admin().listLocks('jobs/'))[0]?.waiters === 1);

    const oldLeader = (await cluster.leader())!;
    expect(holder.session.connectedTo).toBe(oldLeader.listen);
    await cluster.stop(oldLeader, 'SIGKILL');
    const newLeader = await waitFor(
      'a new leader',
      () => cluster.leader().then((l) => (l && l.id !== oldLeader.id ? l : undefined)),
      START_TIMEOUT_MS,
    );
    await waitFor(
      'the holder to resume on the new leader',
      () => holder.session.connectedTo === newLeader.listen,
      30_000,
    );
    expect(holder.session.signal.aborted).toBe(false);
    expect(lock.held).toBe(true);
    expect(lock.safeUntil).toBeGreaterThan(Date.now());

    // The queued acquire, re-sent with its request seq on the new leader, is granted once the holder releases.
    await lock.release();
    const next = await queued;
    expect(next.token).toBeGreaterThan(lock.token);
    await next.release();
    const again = await holder.acquire('jobs/failover', { waitMs: 10_000 });
    expect(again.token).toBeGreaterThan(next.token);
  });
});
