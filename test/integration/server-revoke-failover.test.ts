// An operator's revoke of an ordinary lock is due at the end of its holder's promise. The holder is told at once (a
// Pre-emption Request with no grace beyond that promise), so its safe period ends first; and when the leader that
// scheduled the revoke goes before it is due, the next leader (which learned it from the log) still carries it out,
// no earlier than it was due, while the holder's session lives on.
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient, connect, LockLostError } from '../../src/index.js';
import type { LockEvent } from '../../src/lock/commands.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, openSession, RawSession, startCluster, type TestCluster } from './server-harness.js';

let cluster: TestCluster | undefined;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await cluster?.close();
  cluster = undefined;
});

/** Keepalives every `intervalMs` on whatever stream `current()` returns (the client's pacing, not synchronization). */
function keepAlive(current: () => RawSession, intervalMs: number): void {
  let seq = 0;
  const timer = setInterval(() => {
    seq += 1;
    current().send({ keepalive: { seq: String(seq), clientTimeMs: Date.now(), rttMs: 0 } });
  }, intervalMs);
  cleanups.push(() => clearInterval(timer));
}

describe('a scheduled operator revoke', () => {
  it('is replicated, and a new leader revokes the hold once it is due', async () => {
    cluster = await startCluster(3);
    const oldLeader = await cluster.leader();
    const endpoints = Object.values(cluster.peers);
    const admin = new AdminClient({ endpoints });
    cleanups.push(() => admin.close());
    // A holder that keeps renewing its session and never hands the lock back on its own.
    const holder = await openSession(addressOf(oldLeader), { ttlMs: 6_000 });
    let stream = holder.stream;
    keepAlive(() => stream, 1_000);
    stream.send({ acquire: { requestSeq: '1', name: 'maint/db', waitMs: 0, fenced: false, preemptible: true } });
    const token = BigInt(((await stream.next('acquire')).acquire as { token: string }).token);

    const [scheduled] = await admin.revoke('maint/db', { reason: 'disk swap' });
    expect(scheduled).toMatchObject({ session: holder.opened.sessionId, token, immediate: false });
    const revokeAtMs = scheduled!.revokeAtMs;
    const request = (await stream.next('preemption')).preemption as Record<string, unknown>;
    expect(request).toMatchObject({ resourceId: 'maint/db', token: String(token), revokeAtMs, reason: 'disk swap' });
    expect(request.graceMs).toBeGreaterThan(0);
    for (const node of cluster.nodes) {
      await waitFor(
        `${node.config.id} to apply the scheduled revoke`,
        () => node.machine.pendingRevocations().length > 0,
      );
      expect(node.machine.pendingRevocations()).toEqual([
        {
          name: 'maint/db',
          sessionId: holder.opened.sessionId,
          token,
          fenced: false,
          cause: 'operator',
          reason: 'disk swap',
          revokeAtMs,
        },
      ]);
    }

    await cluster.stop(oldLeader);
    const newLeader = await cluster.leader();
    expect(newLeader).not.toBe(oldLeader);
    const revoked: Extract<LockEvent, { type: 'revoked' }>[] = [];
    cleanups.push(newLeader.machine.onEvent((event) => event.type === 'revoked' && revoked.push(event)));
    stream = new RawSession(addressOf(newLeader));
    stream.send({ open: { sessionId: holder.opened.sessionId, secret: holder.opened.secret } });
    await stream.next('opened');

    const notice = (await stream.next('revoked', () => true, 30_000)).revoked as Record<string, unknown>;
    expect(notice).toMatchObject({ resourceId: 'maint/db', token: String(token), cause: 'operator' });
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ name: 'maint/db', token, cause: 'operator', reason: 'disk swap' });
    expect(revoked[0]!.atMs).toBeGreaterThanOrEqual(revokeAtMs);
    expect(newLeader.machine.session(holder.opened.sessionId)).toBeDefined();
    expect(newLeader.machine.lock('maint/db')).toBeUndefined();
    expect(newLeader.machine.pendingRevocations()).toEqual([]);
    stream.cancel();
  });

  it("ends the SDK holder's safe period by the revocation time, though its session keeps being renewed", async () => {
    cluster = await startCluster(1);
    await cluster.leader();
    const endpoints = Object.values(cluster.peers);
    const client = await connect({ endpoints, name: 'holder', ttlMs: 6_000, connectTimeoutMs: 20_000 });
    cleanups.push(() => client.close());
    const admin = new AdminClient({ endpoints });
    cleanups.push(() => admin.close());
    const lock = await client.acquire('maint/cache');
    const requests: string[] = [];
    lock.onPreemption((notice) => requests.push(notice.reason));

    const [scheduled] = await admin.revoke('maint/cache', { reason: 'resize' });
    const revokeAtMs = scheduled!.revokeAtMs;
    await waitFor('the Pre-emption Request', () => requests.length === 1);
    expect(requests).toEqual(['resize']);
    expect(lock.safeUntil).toBeLessThanOrEqual(revokeAtMs);
    // A later keepalive answer carries the session past the revocation time; the lock's safe period stays capped.
    await waitFor('the session to be renewed past the revocation', () => client.session.safeUntil > revokeAtMs, 10_000);
    expect(lock.safeUntil).toBeLessThanOrEqual(revokeAtMs);
    await waitFor('the lock to be lost', () => lock.signal.aborted, 15_000);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(client.session.signal.aborted).toBe(false);
  });
});
