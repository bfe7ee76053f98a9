// Restarts lose no live session (issue 13): a single node holding 10,000 locks for 100 SDK sessions in this process
// is stopped and started again on the same data folder and port; every session resumes with every one of its locks.
import { afterEach, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/client/client.js';
import type { Lock } from '../../src/client/lock.js';
import type { NodeServer } from '../../src/server/node-server.js';
import { waitFor } from '../support/wait-for.js';
import { freePort, startTestNode, tempDir } from './server-harness.js';

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
