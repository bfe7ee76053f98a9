// Restarts and failovers lose no live session (issue 13, item 4): a single node holding 10,000 locks for 100 SDK
// sessions in this process is stopped and started again on the same data folder and port; in a 3-node cluster holding
// 4,000 locks for 20 sessions a follower is restarted, then the leader stopped. Every session resumes with every one
// of its locks.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/client/client.js';
import type { Lock } from '../../src/client/lock.js';
import type { NodeServer } from '../../src/server/node-server.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, freePort, startTestNode, tempDir } from './server-harness.js';

const SESSIONS = 100;
const LOCKS_PER_SESSION = 100;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a single node restarted while 100 sessions hold 10,000 locks', () => {
  it('sees every session resume with all its locks', async () => {
    const dir = await tempDir('forelock-restart-');
    cleanups.push(dir.remove);
    const listen = `127.0.0.1:${await freePort()}`;
    let node: NodeServer = await startTestNode(dir.path, { listen });
    cleanups.push(() => node.close());
    await waitFor('the node to lead', () => node.services.duties.active, 30_000);

    const clients: Client[] = [];
    cleanups.push(() => Promise.all(clients.map((client) => client.close().catch(() => {}))));
    for (let s = 0; s < SESSIONS; s++) clients.push(await connect({ endpoints: [listen], name: `worker-${s}` }));
    const held: Lock[][] = await Promise.all(
      clients.map((client, s) =>
        Promise.all(
          Array.from({ length: LOCKS_PER_SESSION }, (_, n) => client.acquire(`order/${s}/${n}`, { waitMs: 0 })),
        ),
      ),
    );
    expect(node.machine.lockCount()).toBe(SESSIONS * LOCKS_PER_SESSION);

    await node.close();
    node = await startTestNode(dir.path, { listen });

    // Every client is connected to the restarted node again, or has lost its session.
    await waitFor(
      'every client to be connected again or to have lost its session',
      () => clients.every((client) => client.session.signal.aborted || client.session.connectedTo !== null),
      60_000,
    );
    expect(clients.filter((client) => client.session.signal.aborted).map((client) => client.session.id)).toEqual([]);
    const lost = held.flat().filter((lock) => lock.signal.aborted);
    expect(lost.map((lock) => lock.name)).toEqual([]);
    for (const [s, client] of clients.entries()) {
      const names = node.machine.sessionHolds(client.session.id).map((hold) => hold.name);
      expect(names).toEqual(held[s]!.map((lock) => lock.name).sort());
    }
  }, 180_000);
});

/** Connects `sessions` SDK clients to `endpoints`, each holding `locksEach` locks of its own; returns them and their locks. */
async function holders(
  endpoints: string[],
  sessions: number,
  locksEach: number,
): Promise<{ clients: Client[]; held: Lock[][] }> {
  const clients: Client[] = [];
  cleanups.push(() => Promise.all(clients.map((client) => client.close().catch(() => {}))));
  for (let s = 0; s < sessions; s++) {
    clients.push(await connect({ endpoints, name: `worker-${s}`, connectTimeoutMs: 30_000 }));
  }
  const held = await Promise.all(
    clients.map((client, s) =>
      Promise.all(Array.from({ length: locksEach }, (_, n) => client.acquire(`job/${s}/${n}`, { waitMs: 0 }))),
    ),
  );
  return { clients, held };
}

/** Every client connected to `leader` with every lock it held, as `leader`'s state machine lists them. */
function expectAllResumedOn(leader: NodeServer, clients: Client[], held: Lock[][]): void {
  expect(clients.filter((client) => client.session.signal.aborted).map((client) => client.session.id)).toEqual([]);
  expect(
    held
      .flat()
      .filter((lock) => lock.signal.aborted)
      .map((lock) => lock.name),
  ).toEqual([]);
  for (const [s, client] of clients.entries()) {
    expect(client.session.connectedTo).toBe(addressOf(leader));
    const names = leader.machine.sessionHolds(client.session.id).map((hold) => hold.name);
    expect(names).toEqual(held[s]!.map((lock) => lock.name).sort());
  }
}

describe('a 3-node cluster holding 4,000 locks for 20 sessions', () => {
  it('loses no session or lock when a follower restarts, nor when the leader stops', async () => {
    const dir = await tempDir('forelock-failover-resume-');
    cleanups.push(dir.remove);
    const peers: Record<string, string> = {};
    for (let i = 1; i <= 3; i++) peers[`node${i}`] = `127.0.0.1:${await freePort()}`;
    const start = (id: string) => startTestNode(join(dir.path, id), { id, listen: peers[id]!, peers });
    const running = new Map<string, NodeServer>();
    cleanups.push(() => Promise.all([...running.values()].map((node) => node.close())));
    for (const node of await Promise.all(Object.keys(peers).map(start))) running.set(node.config.id, node);
    const leaderInOffice = (other = '') =>
      waitFor(
        'a leader in office',
        () =>
          [...running.values()].find(
            (node) => node.config.id !== other && node.raft.status().role === 'leader' && node.services.duties.active,
          ),
        30_000,
      );
    const first = await leaderInOffice();
    const { clients, held } = await holders(Object.values(peers), 20, 200);
    expect(first.machine.lockCount()).toBe(4_000);

    const follower = [...running.values()].find((node) => node !== first)!;
    running.delete(follower.config.id);
    await follower.close();
    const restarted = await start(follower.config.id);
    running.set(restarted.config.id, restarted);
    await waitFor('the restarted follower to catch up', () => restarted.machine.lockCount() === 4_000, 60_000);
    expectAllResumedOn(first, clients, held);

    running.delete(first.config.id);
    await first.close();
    const next = await leaderInOffice(first.config.id);
    await waitFor(
      'every client to be connected to the new leader or to have lost its session',
      () => clients.every((client) => client.session.signal.aborted || client.session.connectedTo === addressOf(next)),
      60_000,
    );
    expectAllResumedOn(next, clients, held);
  }, 180_000);
});
