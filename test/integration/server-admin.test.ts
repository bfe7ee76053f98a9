// Admin calls and the HTTP endpoint against a real single-node server on 127.0.0.1.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeServer } from '../../src/server/node-server.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, adminClient, openSession, startTestNode, tempDir } from './server-harness.js';

let node: NodeServer;
let address: string;
let admin: ReturnType<typeof adminClient>;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir('forelock-server-admin-');
  removeDir = dir.remove;
  node = await startTestNode(dir.path);
  address = addressOf(node);
  admin = adminClient(address);
  await waitFor('a leader', () => node.services.duties.active);
});

afterAll(async () => {
  admin?.close();
  await node?.close();
  await removeDir?.();
});

async function held(name: string, options: Record<string, unknown> = {}, ttlMs = 10_000) {
  const session = await openSession(address, { ttlMs });
  session.stream.send({ acquire: { requestSeq: '1', name, waitMs: 0, ...options } });
  const grant = (await session.stream.next('acquire')).acquire as { token: string; status: string };
  expect(grant.status).toBe('GRANTED');
  return { ...session, token: grant.token };
}

async function httpGet(path: string): Promise<{ status: number; body: string; type: string | null }> {
  const response = await fetch(`http://127.0.0.1:${node.httpAddress.port}${path}`);
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

describe('Status and ListLocks', () => {
  it('Status reports the local view: id, leader, term, indexes, members, session and lock counts', async () => {
    const reply = await admin.call('Status', {});
    expect(reply).toMatchObject({
      id: 'node1',
      leader: 'node1',
      leaderAddress: address,
      members: [{ id: 'node1', address, role: 'leader' }],
    });
    expect(Number(reply.commitIndex)).toBeGreaterThan(0);
  });

  it('ListLocks lists holders with tokens as decimal strings and the waiter count, filtered by prefix', async () => {
    const a = await held('list/a', { fenced: true, preemptible: true, metadata: 'candidate-a' });
    const waiter = await openSession(address);
    waiter.stream.send({ acquire: { requestSeq: '1', name: 'list/a', waitMs: 10_000 } });
    await waiter.stream.next('acquire');
    await held('other/b');
    const reply = await admin.call<{ locks: Record<string, unknown>[] }>('ListLocks', { prefix: 'list/' });
    expect(reply.locks).toEqual([
      {
        name: 'list/a',
        mode: 'EXCLUSIVE',
        waiters: 1,
        holders: [
          expect.objectContaining({
            session: a.opened.sessionId,
            client: expect.stringMatching(/^test-/),
            token: a.token,
            fenced: true,
            mode: 'EXCLUSIVE',
            preemptible: true,
            metadata: 'candidate-a',
          }),
        ],
      },
    ]);
  });
});

describe('Revoke (docs/design.md, principle 2)', () => {
  it('revokes a fenced lock at once, pushes a RevocationNotice and grants the next waiter a higher token', async () => {
    const holder = await held('revoke/fenced', { fenced: true });
    const waiter = await openSession(address);
    waiter.stream.send({ acquire: { requestSeq: '1', name: 'revoke/fenced', waitMs: 10_000 } });
    await waiter.stream.next('acquire');
    const reply = await admin.call<{ revoked: Record<string, unknown>[] }>('Revoke', {
      name: 'revoke/fenced',
      reason: 'maintenance',
    });
    expect(reply.revoked).toEqual([
      expect.objectContaining({ session: holder.opened.sessionId, token: holder.token, immediate: true }),
    ]);
    const notice = (await holder.stream.next('revoked')).revoked;
    expect(notice).toMatchObject({
      resourceId: 'revoke/fenced',
      token: holder.token,
      cause: 'operator',
      reason: 'maintenance',
    });
    const grant = (await waiter.stream.next('acquire')).acquire as { status: string; token: string };
    expect(grant.status).toBe('GRANTED');
    expect(BigInt(grant.token)).toBeGreaterThan(BigInt(holder.token));
  });

  it('revokes an ordinary lock only at the end of the promise already given, even while the holder renews', async () => {
    const holder = await held('revoke/ordinary', {}, 3_000);
    holder.stream.send({ keepalive: { seq: '1', clientTimeMs: Date.now(), rttMs: 0 } });
    const answer = (await holder.stream.next('keepalive')).keepalive as {
      serverReceiveMs: number;
      guaranteeMs: number;
    };
    const promisedUntil = answer.serverReceiveMs + answer.guaranteeMs;
    const reply = await admin.call<{ revoked: { revokeAtMs: number; immediate: boolean }[] }>('Revoke', {
      name: 'revoke/ordinary',
    });
    const [revocation] = reply.revoked;
    expect(revocation?.immediate).toBe(false);
    expect(revocation?.revokeAtMs).toBeGreaterThanOrEqual(promisedUntil);
    // The holder keeps renewing (every 300 ms, well within its 3 s TTL): its session stays alive, but answers
    // after the request no longer extend this lock's promise.
    let seq = 1;
    const renewing = setInterval(() => {
      seq += 1;
      holder.stream.send({ keepalive: { seq: String(seq), clientTimeMs: Date.now(), rttMs: 0 } });
    }, 300);
    const notice = await holder.stream.next('revoked', () => true, 10_000).finally(() => clearInterval(renewing));
    expect(holder.stream.unread().some((frame) => frame.frame === 'ended')).toBe(false);
    expect(notice.serverTimeMs).toBeGreaterThanOrEqual(revocation!.revokeAtMs);
    expect(notice.revoked).toMatchObject({ resourceId: 'revoke/ordinary', cause: 'operator', token: holder.token });
    expect(node.machine.lock('revoke/ordinary')).toBeUndefined();
    expect(node.machine.session(holder.opened.sessionId)).toBeDefined();
  });

  it('revokes an ordinary lock at once with force', async () => {
    const holder = await held('revoke/force');
    const reply = await admin.call<{ revoked: { immediate: boolean }[] }>('Revoke', {
      name: 'revoke/force',
      force: true,
    });
    expect(reply.revoked).toEqual([expect.objectContaining({ immediate: true })]);
    expect((await holder.stream.next('revoked')).revoked).toMatchObject({ cause: 'operator-force' });
  });

  it('revokes one holder of a shared lock when a session is named', async () => {
    const a = await held('revoke/shared', { mode: 'SHARED', fenced: true });
    const b = await held('revoke/shared', { mode: 'SHARED', fenced: true });
    const reply = await admin.call<{ revoked: { session: string }[] }>('Revoke', {
      name: 'revoke/shared',
      session: b.opened.sessionId,
    });
    expect(reply.revoked.map((each) => each.session)).toEqual([b.opened.sessionId]);
    await b.stream.next('revoked');
    expect(node.machine.lock('revoke/shared')?.holders.map((h) => h.sessionId)).toEqual([a.opened.sessionId]);
  });

  it('answers NOT_FOUND for a lock nobody holds', async () => {
    await expect(admin.call('Revoke', { name: 'revoke/nobody' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: expect.stringContaining('not held'),
    });
  });
});

describe('HTTP', () => {
  it('GET /healthz is 200 with JSON when there is a leader', async () => {
    const response = await httpGet('/healthz');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ ok: true, id: 'node1', role: 'leader', leader: 'node1' });
  });

  it('GET /v1/status has the shape of `forelock status --json`', async () => {
    const body = JSON.parse((await httpGet('/v1/status')).body);
    expect(Object.keys(body).sort()).toEqual(['appliedIndex', 'commitIndex', 'id', 'leader', 'members', 'term']);
    expect(body.members).toEqual([
      { id: 'node1', address, role: 'leader', reachable: true, matchIndex: expect.any(Number), lagEntries: 0 },
    ]);
  });

  it('GET /v1/locks has the shape of `forelock locks --json` with tokens as strings and grantedAt in epoch ms', async () => {
    const holder = await held('http/lock', { fenced: true });
    const locks = JSON.parse((await httpGet('/v1/locks')).body) as Record<string, unknown>[];
    const lock = locks.find((each) => each.name === 'http/lock');
    expect(lock).toEqual({
      name: 'http/lock',
      mode: 'exclusive',
      holders: [
        {
          session: holder.opened.sessionId,
          client: expect.stringMatching(/^test-/),
          user: '',
          token: holder.token,
          fenced: true,
          grantedAt: expect.any(Number),
        },
      ],
      waiters: 0,
    });
    const [holderJson] = (lock as { holders: { grantedAt: number }[] }).holders;
    const grantedAt = holderJson!.grantedAt;
    expect(Math.abs(grantedAt - Date.now())).toBeLessThan(60_000);
  });

  it('GET /metrics serves Prometheus text with the Raft, session, lock and latency metrics', async () => {
    await held('metrics/lock');
    const response = await httpGet('/metrics');
    expect(response.type).toContain('text/plain');
    for (const name of [
      'forelock_raft_role{role="leader"} 1',
      'forelock_raft_term',
      'forelock_raft_commit_index',
      'forelock_sessions',
      'forelock_connected_sessions',
      'forelock_locks',
      'forelock_grants_total',
      'forelock_releases_total',
      'forelock_session_expiries_total',
      'forelock_revocations_total',
      'forelock_keepalives_total',
      'forelock_proposal_latency_seconds_bucket',
      'forelock_event_loop_delay_seconds',
      'forelock_has_leader 1',
      'forelock_leader_changes_total',
      'forelock_build_info{version=',
      'forelock_fsync_duration_seconds_bucket',
      'forelock_apply_lag_entries',
      'forelock_acquire_wait_seconds_bucket',
      'process_cpu_seconds_total',
    ]) {
      expect(response.body).toContain(name);
    }
    expect(response.body).toMatch(/forelock_grants_total [1-9]/);
    expect(response.body).toMatch(/forelock_connected_sessions [1-9]/);
  });

  it('POST /test/faults is 404 unless started with --test-fault-injection', async () => {
    const response = await fetch(`http://127.0.0.1:${node.httpAddress.port}/test/faults`, {
      method: 'POST',
      body: JSON.stringify({ peer: 'node2', delayMs: 100 }),
    });
    expect(response.status).toBe(404);
  });
});
