// The Python example client (examples/python/, stubs generated from the .proto by grpc_tools when the test runs)
// against a real 3-node cluster on 127.0.0.1, next to the Node SDK: a lock handed back and forth between them with
// rising fencing tokens, and a failover while Python holds a lock. Skips, saying why, only when no python3 can
// import grpc and grpc_tools (.ci/run installs Debian's python3-grpcio and python3-grpc-tools).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect, ForelockError } from '../../src/index.js';
import { PythonClient, pythonWithGrpc } from '../support/python-client.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, startCluster, type TestCluster } from './server-harness.js';

const found = pythonWithGrpc();
if ('missing' in found) console.warn(`python-client.test.ts skipped: ${found.missing}`);

describe.skipIf('missing' in found)('the Python example client on a 3-node cluster', () => {
  let cluster: TestCluster;
  let endpoints: string[];
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    cluster = await startCluster(3);
    await cluster.leader();
    endpoints = Object.values(cluster.peers);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await cluster?.close();
  });

  async function python(name: string): Promise<PythonClient> {
    const client = new PythonClient((found as { python: string }).python);
    cleanups.push(() => client.stop());
    await client.ready();
    await client.request('connect', { endpoints, name, ttl_ms: 5_000 });
    return client;
  }

  async function node(name: string): Promise<Client> {
    const client = await connect({ endpoints, name, ttlMs: 5_000, backoff: { initialMs: 10, maxMs: 100 } });
    cleanups.push(() => client.close());
    return client;
  }

  it('hands a lock from Python to the Node SDK and back, each grant with a higher fencing token', async () => {
    const py = await python('py-handover');
    const js = await node('js-handover');
    const first = await py.request('acquire', { name: 'handover/lock', fenced: true });
    const waiting = js.acquire('handover/lock', { waitMs: 20_000, fenced: true });
    await waitFor('the Node SDK to queue behind Python', async () => {
      const [lock] = await js.admin().listLocks('handover/lock');
      return lock !== undefined && lock.waiters === 1;
    });
    await py.request('release', { name: 'handover/lock' });
    const second = await waiting;
    expect(second.token).toBeGreaterThan(BigInt(String(first.token)));

    const pyWaits = py.send('acquire', { name: 'handover/lock', wait_ms: 20_000, fenced: true });
    await waitFor('Python to queue behind the Node SDK', async () => {
      const [lock] = await js.admin().listLocks('handover/lock');
      return lock !== undefined && lock.waiters === 1;
    });
    await second.release();
    const third = await py.answer(pyWaits);
    expect(BigInt(String(third.token))).toBeGreaterThan(second.token);
    expect((await py.request('close')).reason).toBe('closed');
  });

  it('keeps its lock through a failover: resumes on the new leader with the same token; the SDK meanwhile finds it busy', async () => {
    const py = await python('py-failover');
    const held = await py.request('acquire', { name: 'failover/python', fenced: true });
    const before = await py.request('state');
    const oldLeader = cluster.nodes.find((n) => addressOf(n) === before.connected_to)!;
    expect(oldLeader.raft.status().role).toBe('leader');

    await cluster.stop(oldLeader);
    const resumed = await py.event('resumed', () => true, 30_000);
    expect(resumed.connected_to).not.toBe(before.connected_to);
    const after = await py.request('state');
    expect(after).toMatchObject({ session_id: before.session_id, held: { 'failover/python': held.token } });
    await waitFor('the resumed session to be safe again', async () => (await py.request('state')).safe === true);

    const js = await node('js-failover');
    const busy = await js.acquire('failover/python', { waitMs: 0 }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(ForelockError);
    expect((busy as ForelockError).code).toBe('LOCK_BUSY');
    await py.request('release', { name: 'failover/python' });
    const next = await js.acquire('failover/python', { waitMs: 10_000 });
    expect(next.token).toBeGreaterThan(BigInt(String(held.token)));
    await next.release();
    expect((await py.request('close')).reason).toBe('closed');
  });
});
