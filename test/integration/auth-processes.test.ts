// Auth with real processes and real certificates (issue 10; docs/design.md, "Security"): a 3-node TLS cluster of
// `forelock serve` processes with auth enabled and login tokens living 5 s. A user granted `lock` and `read` on jobs/
// locks there and nowhere else, and every call beyond its grants is refused, audited, and changes nothing; HTTP takes
// the same credentials; tokens expire, and a changed or removed user is locked out, its open stream at its next
// keepalive; users survive a restart of every node and reach a new member through a snapshot.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { type Client, connect } from '../../src/client/client.js';
import { waitFor } from '../support/wait-for.js';
import {
  type AuditLine,
  type AuthPki,
  adminCall,
  adminRefusal,
  type ClientPem,
  type Credentials,
  createAuthPki,
  httpsGet,
  type LoggedServe,
  sessionStream,
  snapshotAs,
  startLoggedServe,
} from './auth-harness.js';
import { type NodeAddresses, nodeAddresses, peersOf, START_TIMEOUT_MS } from './forelock-processes.js';
import { tempDir } from './server-harness.js';

const WORKER_PASSWORD = 'worker-pass-1';

let dir: { path: string; remove: () => Promise<void> };
let pki: AuthPki;
let founders: NodeAddresses[];
let joiner: NodeAddresses;
const running = new Map<string, LoggedServe>();
/** Root by its client certificate (CN admin), as etcd takes a certificate's CN: no password, no token to expire. */
let admin: Credentials;
/** A client certificate naming no user: its holder is whoever its token says. */
let gateway: ClientPem;
/** The root user's SDK session, holding jobs/b and other/x for the whole file. */
let rootClient: Client;

function startFounder(node: NodeAddresses): LoggedServe {
  const serve = startLoggedServe(node, [
    '--data',
    join(dir.path, node.id),
    '--peers',
    peersOf(founders),
    '--auth-token-ttl',
    '5s',
    '--metrics-auth',
    // Frequent snapshots: the log a new member would need is compacted away, so it catches up by a snapshot.
    '--snapshot-every-entries',
    '20',
    ...pki.tlsFlags(node.id),
  ]);
  running.set(node.id, serve);
  return serve;
}

async function stopAll(): Promise<void> {
  for (const [id, serve] of running) {
    await serve.process.stop();
    running.delete(id);
  }
}

/** The running node that says it leads, asked as root. */
function leader(): Promise<LoggedServe> {
  return waitFor(
    'a leader',
    async () => {
      for (const serve of running.values()) {
        const status = await adminCall<{ id: string; leader: string }>(serve.node.listen, admin, 'Status');
        if (status.leader !== '' && status.leader === status.id) return serve;
      }
      return undefined;
    },
    START_TIMEOUT_MS,
    { retryErrors: true, intervalMs: 200 },
  );
}

async function followers(): Promise<LoggedServe[]> {
  const lead = await leader();
  return [...running.values()].filter((serve) => serve !== lead);
}

/** A fresh token of `user` (tokens live 5 s here, so each use logs in again). */
async function login(address: string, user: string, password: string): Promise<string> {
  return (await adminCall<{ token: string }>(address, { pem: gateway }, 'Login', { user, password })).token;
}

async function worker(address: string): Promise<Credentials> {
  return { pem: gateway, token: await login(address, 'worker', WORKER_PASSWORD) };
}

type Holder = { session: string; token: string; user: string };
type LockInfo = { name: string; holders: Holder[] };

/** What a refused call must not change: locks and holders, members, the leader, users, roles, auth. */
async function clusterState(address: string): Promise<Record<string, unknown>> {
  const status = await adminCall<{ leader: string; members: { id: string; address: string; role: string }[] }>(
    address,
    admin,
    'Status',
  );
  const { locks } = await adminCall<{ locks: LockInfo[] }>(address, admin, 'ListLocks', {
    prefix: '',
    after: '',
    limit: 1_000,
  });
  return {
    leader: status.leader,
    members: status.members.map((member) => `${member.id}=${member.address} ${member.role}`).sort(),
    locks: locks.map((lock) => ({
      name: lock.name,
      holders: lock.holders.map((holder) => `${holder.session} ${holder.token} ${holder.user}`),
    })),
    users: await adminCall(address, admin, 'UserList'),
    roles: await adminCall(address, admin, 'RoleList'),
    auth: await adminCall(address, admin, 'AuthStatus'),
  };
}

/** Waits until `serve` has logged an audit line matching `expected`. */
function audited(serve: LoggedServe, expected: Partial<AuditLine>): Promise<AuditLine> {
  return waitFor(`${serve.node.id} to audit ${JSON.stringify(expected)}`, () =>
    serve
      .audits()
      .find((line) => Object.entries(expected).every(([key, value]) => line[key as keyof AuditLine] === value)),
  );
}

beforeAll(async () => {
  dir = await tempDir('forelock-auth-');
  const nodes = await nodeAddresses(4, 'n');
  founders = nodes.slice(0, 3);
  joiner = nodes[3]!;
  pki = await createAuthPki(
    join(dir.path, 'pki'),
    nodes.map((node) => node.id),
    ['admin', 'gateway', 'carol'],
    ['admin'],
  );
  admin = { pem: await pki.certificate('admin') };
  gateway = await pki.certificate('gateway');
  for (const node of founders) startFounder(node);
  const lead = (await leader()).node.listen;
  // Before auth is enabled every call is allowed (as in etcd): set up users and roles, then enable.
  for (const [method, request] of [
    ['UserAdd', { user: 'admin', noPassword: true }],
    ['UserGrantRole', { user: 'admin', role: 'root' }],
    // A root user named like a node: a node's own certificate must still never stand for it.
    ['UserAdd', { user: 'n1', noPassword: true }],
    ['UserGrantRole', { user: 'n1', role: 'root' }],
    ['RoleAdd', { role: 'jobs' }],
    ['RoleGrantPermission', { role: 'jobs', permission: 'lock', prefix: 'jobs/' }],
    ['RoleGrantPermission', { role: 'jobs', permission: 'read', prefix: 'jobs/' }],
    ['UserAdd', { user: 'worker', password: WORKER_PASSWORD }],
    ['UserGrantRole', { user: 'worker', role: 'jobs' }],
    ['AuthEnable', {}],
  ] as const) {
    await adminCall(lead, admin, method, request);
  }
  rootClient = await connect({ endpoints: founders.map((node) => node.listen), tls: admin.pem });
  await rootClient.acquire('jobs/b');
  await rootClient.acquire('other/x');
}, START_TIMEOUT_MS * 2);

afterAll(async () => {
  await rootClient?.close();
  await stopAll();
  await dir?.remove();
});

describe('a user holding lock on jobs/', () => {
  it('locks jobs/a but not other/a, and cannot revoke, change members, transfer leadership or grant itself more', async () => {
    const lead = await leader();
    const stream = sessionStream(lead.node.listen, await worker(lead.node.listen));
    try {
      stream.send({ open: { clientName: 'worker', ttlMs: 60_000 } });
      await stream.next('opened');
      stream.send({ acquire: { requestSeq: '1', name: 'other/a', waitMs: 0 } });
      const refused = (await stream.next('error')).error as { code: string; message: string };
      expect(refused.code).toBe('PERMISSION_DENIED');
      expect(refused.message).toContain('it needs lock permission on a prefix of "other/a"');
      stream.send({ acquire: { requestSeq: '2', name: 'jobs/a', waitMs: 0 } });
      expect(((await stream.next('acquire')).acquire as { status: string }).status).toBe('GRANTED');

      const before = await clusterState(lead.node.listen);
      expect((before.locks as { name: string }[]).map((lock) => lock.name)).toEqual(['jobs/a', 'jobs/b', 'other/x']);
      const [follower, otherFollower] = await followers();
      const denials: [LoggedServe, string, Record<string, unknown>, string, string][] = [
        [lead, 'Revoke', { name: 'jobs/b' }, 'Revoke', 'revoke permission on a prefix of "jobs/b"'],
        // A follower checks before it forwards: the worker gains nothing by asking one.
        [follower!, 'Revoke', { name: 'jobs/b', force: true }, 'Revoke --force', 'the root role'],
        [lead, 'AddMember', { id: 'n9', address: '127.0.0.1:9' }, 'AddMember', 'the root role'],
        [lead, 'RemoveMember', { id: otherFollower!.node.id }, 'RemoveMember', 'the root role'],
        [lead, 'TransferLeadership', { id: follower!.node.id }, 'TransferLeadership', 'the root role'],
        [lead, 'UserGrantRole', { user: 'worker', role: 'root' }, 'UserGrantRole', 'the root role'],
        [
          lead,
          'RoleGrantPermission',
          { role: 'jobs', permission: 'lock', prefix: '' },
          'RoleGrantPermission',
          'the root role',
        ],
        [lead, 'UserAdd', { user: 'mallory', password: 'mallory-pass' }, 'UserAdd', 'the root role'],
        [lead, 'AuthDisable', {}, 'AuthDisable', 'the root role'],
      ];
      for (const [node, method, request, action, lacking] of denials) {
        const refusal = await adminRefusal(node.node.listen, await worker(node.node.listen), method, request);
        expect(refusal.code, method).toBe(grpc.status.PERMISSION_DENIED);
        expect(refusal.details).toContain(`user "worker" may not ${action}`);
        expect(refusal.details).toContain(lacking);
        await audited(node, { identity: 'user:worker', action, result: 'PERMISSION_DENIED' });
      }
      await audited(lead, {
        identity: 'user:worker',
        action: 'acquire',
        target: 'other/a',
        result: 'PERMISSION_DENIED',
      });
      const snapshot = await snapshotAs(lead.node.listen, await worker(lead.node.listen));
      expect(snapshot.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(snapshot.details).toContain('user "worker" may not Snapshot');
      await audited(lead, { identity: 'user:worker', action: 'Snapshot', result: 'PERMISSION_DENIED' });
      // Each refusal is written once, under the worker's name: none of them as an anonymous caller.
      for (const serve of running.values()) {
        expect(serve.audits().filter((line) => line.identity.startsWith('anonymous@'))).toEqual([]);
      }
      expect(await clusterState(lead.node.listen)).toEqual(before);
      // Neither the password nor a token reaches any node's log.
      for (const serve of running.values()) {
        const output = JSON.stringify(serve.entries());
        expect(output).not.toContain(WORKER_PASSWORD);
        expect(output).not.toContain('fl1.');
      }
      // Closed, so that jobs/a is free again for the tests below.
      stream.send({ close: {} });
      expect((await stream.ended).code).toBe(grpc.status.OK);
    } finally {
      stream.cancel();
    }
  });
});

describe('HTTP with auth enabled', () => {
  it('takes a Bearer token or a client certificate naming a user, filters /v1/locks, keeps the probes open', async () => {
    const lead = await leader();
    const http = lead.node.http;
    const ca = admin.pem.ca;
    // Tokens live 5 s here: each part of this test logs in afresh.
    let token = (await worker(lead.node.listen)).token!;
    for (const path of ['/livez', '/readyz', '/healthz']) expect((await httpsGet(http, path, { ca })).status).toBe(200);

    // /metrics asks for root (--metrics-auth): none, the worker, a node's certificate, another CA's "admin" refused.
    const anonymous = await httpsGet(http, '/metrics', { ca });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="forelock"');
    expect(JSON.parse(anonymous.body)).toMatchObject({
      code: 'UNAUTHENTICATED',
      hint: expect.stringContaining('Authorization: Bearer TOKEN'),
    });
    const byWorker = await httpsGet(http, '/metrics', { ca, token });
    expect(byWorker.status).toBe(403);
    expect(JSON.parse(byWorker.body)).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((await httpsGet(http, '/metrics', { ca, pem: await pki.certificate('n1') })).status).toBe(401);
    expect((await httpsGet(http, '/metrics', { ca, pem: await pki.foreign('admin') })).status).toBe(401);
    const byRoot = await httpsGet(http, '/metrics', { ca, pem: admin.pem });
    expect(byRoot.status).toBe(200);
    expect(byRoot.body).toContain('forelock_auth_denied_total{action="GET /metrics"} 1');

    // /v1/*: a certificate alone (naming no user) is not enough; a token shows only what the user may read.
    token = (await worker(lead.node.listen)).token!;
    expect((await httpsGet(http, '/v1/locks', { ca, pem: gateway })).status).toBe(401);
    expect((await httpsGet(http, '/v1/status', { ca, pem: gateway })).status).toBe(401);
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'AB' : 'AA'}`;
    expect((await httpsGet(http, '/v1/locks', { ca, pem: gateway, token: forged })).status).toBe(401);
    // The worker's signature under claims naming the root user: refused, the signature covers the claims.
    const [scheme, claims, signature] = token.split('.') as [string, string, string];
    const [, revision, expiresAtMs] = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as unknown[];
    const asAdmin = Buffer.from(JSON.stringify(['admin', revision, expiresAtMs])).toString('base64url');
    const tampered = await httpsGet(http, '/metrics', { ca, token: `${scheme}.${asAdmin}.${signature}` });
    expect(tampered.status).toBe(401);
    expect(JSON.parse(tampered.body).error).toContain('not issued by this cluster');
    const oversized = await httpsGet(http, '/v1/locks', { ca, pem: gateway, token: 'x'.repeat(4_096) });
    expect(oversized.status).toBe(401);
    expect(JSON.parse(oversized.body).error).toContain('longer than 1024 characters');
    const status = await httpsGet(http, '/v1/status', { ca, pem: gateway, token });
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body).leader).toBe(lead.node.id);
    const names = (body: string): string[] => (JSON.parse(body) as { name: string }[]).map((lock) => lock.name);
    const visible = await httpsGet(http, '/v1/locks', { ca, pem: gateway, token });
    expect(visible.status).toBe(200);
    expect(names(visible.body)).toEqual(['jobs/b']);
    const page = JSON.parse((await httpsGet(http, '/v1/locks?limit=10', { ca, pem: gateway, token })).body);
    expect(page).toMatchObject({ locks: [{ name: 'jobs/b', holders: [{ user: 'admin' }] }], nextAfter: null });
    expect(names((await httpsGet(http, '/v1/locks', { ca, pem: admin.pem })).body)).toEqual(['jobs/b', 'other/x']);
    // With TLS, /v1/* still needs a certificate from the cluster CA, token or not.
    expect((await httpsGet(http, '/v1/locks', { ca, pem: await pki.foreign('admin'), token })).status).toBe(403);

    await audited(lead, { identity: 'user:worker', action: 'GET /metrics', result: 'PERMISSION_DENIED' });
    await audited(lead, { action: 'GET /v1/locks', result: 'UNAUTHENTICATED' });
  });
});

describe('locked out', () => {
  it('a token expires after --auth-token-ttl', async () => {
    const lead = (await leader()).node.listen;
    const issuedAfter = Date.now();
    const reply = await adminCall<{ token: string; expiresAtMs: number }>(lead, { pem: gateway }, 'Login', {
      user: 'worker',
      password: WORKER_PASSWORD,
    });
    expect(reply.expiresAtMs).toBeGreaterThanOrEqual(issuedAfter + 5_000);
    expect(reply.expiresAtMs).toBeLessThanOrEqual(Date.now() + 5_000);
    const holder = { pem: gateway, token: reply.token };
    expect(await adminCall(lead, holder, 'Status')).toHaveProperty('leader');
    const expired = await waitFor(
      'the token to expire',
      async () => {
        const refusal = await adminCall(lead, holder, 'Status').then(
          () => null,
          (error: grpc.ServiceError) => error,
        );
        return refusal;
      },
      30_000,
      { intervalMs: 250 },
    );
    expect(expired.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(expired.details).toContain('the token has expired; log in again');
  });

  it('a new password ends the old token at the next call and its open stream at the next keepalive', async () => {
    const lead = await leader();
    const address = lead.node.listen;
    await adminCall(address, admin, 'UserAdd', { user: 'pat', password: 'pat-pass-1' });
    await adminCall(address, admin, 'UserGrantRole', { user: 'pat', role: 'jobs' });
    const pat = { pem: gateway, token: await login(address, 'pat', 'pat-pass-1') };
    const stream = sessionStream(address, pat);
    try {
      stream.send({ open: { clientName: 'pat', ttlMs: 60_000 } });
      const opened = (await stream.next('opened')).opened as { sessionId: string; secret: string };
      stream.send({ acquire: { requestSeq: '1', name: 'jobs/p', waitMs: 0 } });
      expect(((await stream.next('acquire')).acquire as { status: string }).status).toBe('GRANTED');
      stream.send({ keepalive: { seq: '1', clientTimeMs: Date.now(), rttMs: 0 } });
      await stream.next('keepalive');

      await adminCall(address, admin, 'UserChangePassword', { user: 'pat', password: 'pat-pass-2' });
      const refusal = await adminRefusal(address, pat, 'Status');
      expect(refusal.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(refusal.details).toContain('no longer valid');
      stream.send({ keepalive: { seq: '2', clientTimeMs: Date.now(), rttMs: 0 } });
      const end = await stream.ended;
      expect(end.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(end.details).toContain('user "pat" was removed or changed; log in again');
      await audited(lead, { identity: 'user:pat', action: 'keepalive', result: 'UNAUTHENTICATED' });

      // A stolen session secret is not enough: another user may not resume pat's session (which keeps its lock).
      const thief = sessionStream(address, await worker(address));
      thief.send({ open: { clientName: 'pat', ttlMs: 60_000, sessionId: opened.sessionId, secret: opened.secret } });
      const resumeRefused = await thief.ended;
      expect(resumeRefused.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(resumeRefused.details).toContain(`session ${opened.sessionId} was opened by user "pat"`);
      const { locks } = await adminCall<{ locks: LockInfo[] }>(address, admin, 'ListLocks', {
        prefix: 'jobs/p',
        after: '',
        limit: 10,
      });
      expect(locks.map((lock) => lock.holders.map((holder) => [lock.name, holder.session, holder.user]))).toEqual([
        [['jobs/p', opened.sessionId, 'pat']],
      ]);
    } finally {
      stream.cancel();
    }
    const oldPassword = await adminRefusal(address, { pem: gateway }, 'Login', { user: 'pat', password: 'pat-pass-1' });
    expect(oldPassword.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await login(address, 'pat', 'pat-pass-2')).toMatch(/^fl1\./);
  });

  it("a removed user's SDK session is ended by its own next keepalive, and its calls are refused", async () => {
    const lead = await leader();
    const address = lead.node.listen;
    await adminCall(address, admin, 'UserAdd', { user: 'carol', noPassword: true });
    await adminCall(address, admin, 'UserGrantRole', { user: 'carol', role: 'jobs' });
    const carol = await pki.certificate('carol');
    const client = await connect({ endpoints: founders.map((node) => node.listen), tls: carol });
    const carolAdmin = new AdminClient({ endpoints: founders.map((node) => node.listen), tls: carol });
    try {
      const lock = await client.acquire('jobs/c');
      expect((await carolAdmin.status()).leader).toBe(lead.node.id);
      await adminCall(address, admin, 'UserRemove', { user: 'carol' });
      // The SDK sends nothing but its keepalives: one of them meets the removal (within one keepalive interval).
      await waitFor(
        "carol's stream ended by its keepalive",
        () =>
          lead
            .audits()
            .find(
              (line) =>
                line.identity === 'cn:carol' && line.action === 'keepalive' && line.result === 'UNAUTHENTICATED',
            ),
        30_000,
      );
      await expect(carolAdmin.status()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      // Its session expires as any silent one does, and the lock goes with it.
      await waitFor('the lock lost', () => lock.signal.aborted, 60_000);
      await waitFor(
        'jobs/c free',
        async () => {
          const listed = await adminCall<{ locks: LockInfo[] }>(address, admin, 'ListLocks', {
            prefix: 'jobs/c',
            after: '',
            limit: 10,
          });
          return listed.locks.length === 0;
        },
        60_000,
        { intervalMs: 250 },
      );
    } finally {
      carolAdmin.close();
      await client.close();
    }
  });
});

describe('the SDK given a user and password', () => {
  it('keeps its session and its Admin calls working after its first token has expired', async () => {
    const endpoints = founders.map((node) => node.listen);
    const auth = { user: 'worker', password: WORKER_PASSWORD };
    const client = await connect({ endpoints, tls: gateway, auth });
    const admin = new AdminClient({ endpoints, tls: gateway, auth });
    try {
      const lock = await client.acquire('jobs/renewed');
      expect((await admin.listLocks('jobs/renewed')).map((info) => info.name)).toEqual(['jobs/renewed']);
      // A token issued after both clients' first ones: once it is refused as expired, theirs have expired too.
      const probe = await admin.login('worker', WORKER_PASSWORD);
      const probeAdmin = new AdminClient({ endpoints, tls: gateway, auth: { token: probe.token } });
      try {
        await waitFor(
          'the probe token to expire',
          () =>
            probeAdmin.status().then(
              () => false,
              (error: { code?: string }) => error.code === 'UNAUTHENTICATED',
            ),
          30_000,
          { intervalMs: 250 },
        );
      } finally {
        probeAdmin.close();
      }
      expect((await admin.status()).leader).not.toBe('');
      expect(lock.signal.aborted).toBe(false);
      const second = await client.acquire('jobs/renewed-2');
      expect(second.token).toBeGreaterThan(lock.token);
      await second.release();
      await lock.release();
    } finally {
      admin.close();
      await client.close();
    }
  });
});

describe('users are replicated state', () => {
  it('survive a restart of every node, and reach a new member through a snapshot', async () => {
    const lead = (await leader()).node.listen;
    const users = await adminCall(lead, admin, 'UserList');
    const roles = await adminCall(lead, admin, 'RoleList');
    expect((users as { users: { name: string }[] }).users.map((user) => user.name)).toEqual([
      'admin',
      'n1',
      'pat',
      'worker',
    ]);

    await stopAll();
    for (const node of founders) startFounder(node);
    const restarted = await leader();
    for (const serve of running.values()) {
      const address = serve.node.listen;
      // Login answers from the node asked: each one kept the users and their password hashes.
      await waitFor('the node to know worker', () => login(address, 'worker', WORKER_PASSWORD), START_TIMEOUT_MS, {
        retryErrors: true,
      });
      expect(await adminCall(address, admin, 'UserList')).toEqual(users);
      expect(await adminCall(address, admin, 'RoleList')).toEqual(roles);
      expect(await adminCall(address, admin, 'AuthStatus')).toMatchObject({ enabled: true });
    }
    const denied = await adminRefusal(restarted.node.listen, await worker(restarted.node.listen), 'Revoke', {
      name: 'other/x',
    });
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);

    // More entries than --snapshot-every-entries: the leader's log no longer starts at 1.
    const churn = await connect({ endpoints: founders.map((node) => node.listen), tls: admin.pem });
    try {
      for (let i = 0; i < 15; i++) await (await churn.acquire(`churn/${i}`)).release();
    } finally {
      await churn.close();
    }
    const newcomer = startLoggedServe(joiner, [
      '--data',
      join(dir.path, joiner.id),
      '--join',
      // The members it answers before it has their addresses from the log.
      '--peers',
      peersOf(founders),
      '--snapshot-every-entries',
      '1000000',
      ...pki.tlsFlags(joiner.id),
    ]);
    running.set(joiner.id, newcomer);
    await adminCall((await leader()).node.listen, admin, 'AddMember', {
      id: joiner.id,
      address: joiner.listen,
      learner: true,
    });
    await waitFor('the new member to know worker', () => login(joiner.listen, 'worker', WORKER_PASSWORD), 60_000, {
      retryErrors: true,
    });
    expect(await adminCall(joiner.listen, admin, 'UserList')).toEqual(users);
    expect(await adminCall(joiner.listen, admin, 'RoleList')).toEqual(roles);
    // It takes no snapshot of its own (every 1,000,000 entries): the one it holds was installed from the leader.
    const snapshots = await readdir(join(dir.path, joiner.id, 'snapshots'));
    expect(snapshots.filter((name) => name.startsWith('snap-'))).toHaveLength(1);
  });
});
