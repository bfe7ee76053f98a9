// An operator's revoke of an ordinary lock is due at the end of its holder's promise; when the leader that scheduled
// it goes before then, the next leader (which learned it from the log) still carries it out, no earlier than it was
// due, while the holder's session lives on.
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient, type Client, connect, LockLostError } from '../../src/index.js';
import type { LockEvent } from '../../src/lock/commands.js';
import { startCluster, type TestCluster, waitFor } from './server-harness.js';

let cluster: TestCluster | undefined;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await cluster?.close();
  cluster = undefined;
});

describe('a scheduled operator revoke across a leader change', () => {
  it('is replicated, and the new leader revokes the hold once it is due', async () => {
    cluster = await startCluster(3);
    const oldLeader = await cluster.leader();
    const endpoints = Object.values(cluster.peers);
    const holder: Client = await connect({ endpoints, name: 'holder', ttlMs: 6_000, connectTimeoutMs: 20_000 });
    cleanups.push(() => holder.close());
    const admin = new AdminClient({ endpoints });
    cleanups.push(() => admin.close());
    const lock = await holder.acquire('maint/db');

    const [scheduled] = await admin.revoke('maint/db', { reason: 'disk swap' });
    expect(scheduled).toMatchObject({ session: holder.session.id, token: lock.token, immediate: false });
    // Replicated with the hold: every node applies it.
    for (const node of cluster.nodes) {
      await waitFor(
        `${node.config.id} to list the scheduled revoke`,
        () => node.machine.pendingRevocations().length > 0,
      );
      expect(node.machine.pendingRevocations()).toEqual([
        {
          name: 'maint/db',
          sessionId: holder.session.id,
          token: lock.token,
          fenced: false,
          cause: 'operator',
          reason: 'disk swap',
          revokeAtMs: scheduled?.revokeAtMs,
        },
      ]);
    }

    await cluster.stop(oldLeader);
    const newLeader = await cluster.leader();
    expect(newLeader).not.toBe(oldLeader);
    const revoked: Extract<LockEvent, { type: 'revoked' }>[] = [];
    cleanups.push(newLeader.machine.onEvent((event) => event.type === 'revoked' && revoked.push(event)));

    // The holder keeps renewing its session with the new leader; only the revoke can take its lock.
    await waitFor('the holder to lose its lock', () => lock.signal.aborted, 30_000);
    const reason = lock.signal.reason as LockLostError;
    expect(reason).toBeInstanceOf(LockLostError);
    expect(reason.lossCause).toBe('revoked');
    expect(reason.message).toContain('operator: disk swap');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ name: 'maint/db', token: lock.token, cause: 'operator', reason: 'disk swap' });
    expect(revoked[0]!.atMs).toBeGreaterThanOrEqual(scheduled!.revokeAtMs);
    expect(holder.session.signal.aborted).toBe(false);
    expect(newLeader.machine.lock('maint/db')).toBeUndefined();
    expect(newLeader.machine.pendingRevocations()).toEqual([]);
  });
});
