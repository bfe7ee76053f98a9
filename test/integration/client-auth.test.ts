// The SDK against a real in-process node with auth (issue 10, items 3-4): a root user enables auth; a user with
// `lock` on jobs/ locks jobs/a through connect({ auth }) but is refused other/a, which stays unlocked; users and roles
// through AdminClient; a token from login(); a call refused as UNAUTHENTICATED is made again after a new login; and
// the password and token stay out of what SDK objects show.
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSessions } from '../../src/cli/bench-runner.js';
import { AdminClient } from '../../src/client/admin.js';
import { type Client, connect } from '../../src/client/client.js';
import {
  AlreadyExistsError,
  AuthNotEnabledError,
  InvalidArgumentError,
  NoRootUserError,
  PermissionDeniedError,
  RoleNotFoundError,
  UnauthenticatedError,
  UserNotFoundError,
} from '../../src/client/errors.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, startCluster, type TestCluster } from './server-harness.js';

const ROOT_PASSWORD = 'root-password-7f3a';
const ALICE_PASSWORD = 'alice-password-19c2';

let cluster: TestCluster;
let endpoints: string[];
let root: AdminClient;
const opened: { close(): unknown }[] = [];

/** A client or admin closed after the tests. */
function closing<T extends { close(): unknown }>(value: T): T {
  opened.push(value);
  return value;
}

beforeAll(async () => {
  cluster = await startCluster(1);
  endpoints = [addressOf(await cluster.leader())];
  // Before auth is enabled every call is allowed: the root user is added without credentials.
  const anonymous = closing(new AdminClient({ endpoints }));
  await expect(anonymous.login('root', ROOT_PASSWORD)).rejects.toBeInstanceOf(AuthNotEnabledError);
  await expect(anonymous.auth.enable()).rejects.toBeInstanceOf(NoRootUserError);
  await anonymous.users.add('root', { password: ROOT_PASSWORD });
  await anonymous.users.grant('root', 'root');
  expect(await anonymous.auth.enable()).toEqual({ enabled: true, users: 1, roles: 1 });
  root = closing(new AdminClient({ endpoints, auth: { user: 'root', password: ROOT_PASSWORD } }));
  await root.roles.add('jobs-locker');
  await root.roles.grant('jobs-locker', 'lock', 'jobs/');
  await root.users.add('alice', { password: ALICE_PASSWORD });
  await root.users.grant('alice', 'jobs-locker');
}, 30_000);

afterAll(async () => {
  for (const value of opened.reverse()) await value.close();
  await cluster?.close();
});

describe('a user with lock on jobs/', () => {
  let alice: Client;

  beforeAll(async () => {
    alice = closing(
      await connect({ endpoints, name: 'alice-worker', auth: { user: 'alice', password: ALICE_PASSWORD } }),
    );
  });

  it('locks jobs/a, and the holder shows its user', async () => {
    const lock = await alice.acquire('jobs/a', { waitMs: 0 });
    const [listed] = await root.listLocks('jobs/');
    expect(listed?.holders.map((h) => [h.client, h.user, h.token])).toEqual([['alice-worker', 'alice', lock.token]]);
    await lock.release();
  });

  it('is refused other/a with the permission it lacks, and other/a stays unlocked', async () => {
    const refusal = await alice.acquire('other/a', { waitMs: 0 }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(PermissionDeniedError);
    expect((refusal as Error).message).toMatch(/lock permission on a prefix of "other\/a"/);
    expect(await root.listLocks('other/')).toEqual([]);
    // The session goes on.
    const lock = await alice.acquire('jobs/b', { waitMs: 0 });
    await lock.release();
  });

  it("may not list users: its admin client carries alice's token, and root's is needed", async () => {
    await expect(alice.admin().users.list()).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});

describe('tokens', () => {
  it('login() gives a token that lives 10 minutes, usable as auth: { token }', async () => {
    const before = Date.now();
    const { token, expiresAtMs } = await root.login('alice', ALICE_PASSWORD);
    expect(token).toMatch(/^fl1\./);
    expect(expiresAtMs).toBeGreaterThanOrEqual(before + 600_000 - 1_000);
    expect(expiresAtMs).toBeLessThanOrEqual(Date.now() + 600_000 + 1_000);
    const withToken = closing(await connect({ endpoints, auth: { token } }));
    const lock = await withToken.acquire('jobs/token', { waitMs: 0 });
    await lock.release();
  });

  it('clients of one process with the same user and password share one login and token', async () => {
    const auth = { user: 'alice', password: ALICE_PASSWORD };
    const [one, two] = await Promise.all([connect({ endpoints, auth }), connect({ endpoints, auth })]);
    closing(one);
    closing(two);
    expect(one.admin().tokens).toBe(two.admin().tokens);
    const other = closing(new AdminClient({ endpoints, auth: { user: 'root', password: ROOT_PASSWORD } }));
    expect(other.tokens).not.toBe(one.admin().tokens);
    const lock = await two.acquire('jobs/shared-login', { waitMs: 0 });
    await lock.release();
  });

  it("forelock bench's sessions log in once between them", async () => {
    const clients = await openSessions(endpoints, 3, 10_000, 'bench-auth', () => {}, 500, true, undefined, {
      user: 'alice',
      password: ALICE_PASSWORD,
    });
    for (const client of clients) closing(client);
    expect(new Set(clients.map((client) => client.admin().tokens)).size).toBe(1);
    const lock = await clients[2]!.acquire('jobs/bench', { waitMs: 0 });
    await lock.release();
  });

  it('no credentials, a wrong password or a forged token are UNAUTHENTICATED, saying how to log in', async () => {
    const noAuth = await connect({ endpoints, connectTimeoutMs: 5_000 }).catch((error: unknown) => error);
    expect(noAuth).toBeInstanceOf(UnauthenticatedError);
    expect((noAuth as Error).message).toMatch(/log in/);
    const wrong = await connect({ endpoints, auth: { user: 'alice', password: 'not-it' } }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UnauthenticatedError);
    const forged = closing(new AdminClient({ endpoints, auth: { token: 'fl1.e30.AAAA' } }));
    await expect(forged.status()).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('a call refused as UNAUTHENTICATED (auth enabled again: every token ends) logs in once more and succeeds', async () => {
    const admin = closing(new AdminClient({ endpoints, auth: { user: 'root', password: ROOT_PASSWORD } }));
    const tokenBefore = await admin.tokens!.current();
    expect((await admin.users.list()).map((u) => u.name)).toEqual(['alice', 'root']);
    await root.auth.disable();
    await root.auth.enable();
    // admin's token is within its life by the client's clock: the node refuses it, and the client logs in again.
    expect((await admin.users.list()).map((u) => u.name)).toEqual(['alice', 'root']);
    expect(await admin.tokens!.current()).not.toBe(tokenBefore);
  });
});

describe('a session whose user changes while it is open', () => {
  it('another role ends its stream at the next keepalive; the SDK logs in again and resumes, its lock kept', async () => {
    await root.users.add('carol', { password: 'carol-password' });
    await root.users.grant('carol', 'jobs-locker');
    const carol = closing(
      await connect({ endpoints, ttlMs: 3_000, auth: { user: 'carol', password: 'carol-password' } }),
    );
    const lock = await carol.acquire('jobs/carol', { waitMs: 0 });
    const tokenBefore = await carol.admin().tokens!.current();
    await root.roles.add('carol-extra');
    await root.users.grant('carol', 'carol-extra');
    await waitFor('a new login after the refusal', async () => (await carol.admin().tokens!.current()) !== tokenBefore);
    await waitFor('the session back on a stream', () => carol.session.connectedTo !== null);
    expect(carol.session.signal.aborted).toBe(false);
    expect(lock.signal.aborted).toBe(false);
    const [listed] = await root.listLocks('jobs/carol');
    expect(listed?.holders.map((holder) => [holder.session, holder.user])).toEqual([[carol.session.id, 'carol']]);
    await lock.release();
    await carol.close();
    await root.users.remove('carol');
    await root.roles.remove('carol-extra');
  });

  it('a new password ends its session: the stream is refused and the old password no longer logs in', async () => {
    const dave = { user: 'dave', password: 'dave-password' };
    await root.users.add('dave', { password: dave.password });
    await root.users.grant('dave', 'jobs-locker');
    const client = closing(await connect({ endpoints, ttlMs: 3_000, auth: dave }));
    const lock = await client.acquire('jobs/dave', { waitMs: 0 });
    await root.users.changePassword('dave', 'dave-new-password');
    await waitFor('the session to end', () => client.session.signal.aborted);
    expect(client.session.signal.reason).toBeInstanceOf(UnauthenticatedError);
    expect(lock.signal.aborted).toBe(true);
    await root.users.remove('dave');
  });
});

describe('users and roles', () => {
  it('lists users and roles with their grants', async () => {
    await root.users.add('cert-only', { noPassword: true });
    expect(await root.users.list()).toEqual([
      { name: 'alice', roles: ['jobs-locker'], hasPassword: true },
      { name: 'cert-only', roles: [], hasPassword: false },
      { name: 'root', roles: ['root'], hasPassword: true },
    ]);
    await root.roles.grant('jobs-locker', 'read', '');
    expect(await root.roles.list()).toEqual([
      {
        name: 'jobs-locker',
        grants: [
          { permission: 'read', prefix: '' },
          { permission: 'lock', prefix: 'jobs/' },
        ],
      },
      { name: 'root', grants: [] },
    ]);
    await root.roles.revoke('jobs-locker', 'read', '');
    await root.users.remove('cert-only');
  });

  it('refusals are typed: unknown user or role, existing names', async () => {
    await expect(root.users.grant('nobody', 'jobs-locker')).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(root.users.grant('alice', 'no-such-role')).rejects.toBeInstanceOf(RoleNotFoundError);
    await expect(root.users.add('alice', { password: 'x' })).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(root.roles.add('jobs-locker')).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it('bad names and permissions are refused before sending, with the rule', async () => {
    const offline = closing(new AdminClient({ endpoints: ['127.0.0.1:1'], timeoutMs: 200 }));
    await expect(offline.users.add('bad name', { password: 'x' })).rejects.toThrow(
      /a user name must be 1-64 characters of A-Z a-z 0-9 \. _ @ -/,
    );
    await expect(offline.users.add('ok', { password: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(offline.roles.grant('r', 'write' as never, 'x/')).rejects.toThrow(/one of lock, read, revoke/);
  });

  it('a changed password ends the old one: a client logging in with it is refused', async () => {
    await root.users.changePassword('alice', 'alice-new-password');
    await expect(root.login('alice', ALICE_PASSWORD)).rejects.toBeInstanceOf(UnauthenticatedError);
    expect((await root.login('alice', 'alice-new-password')).token).toMatch(/^fl1\./);
    await root.users.changePassword('alice', ALICE_PASSWORD);
  });
});

describe('secrets stay out of what SDK objects show', () => {
  it('neither the password nor the token appears in util.inspect or JSON.stringify', async () => {
    const client = closing(await connect({ endpoints, auth: { user: 'alice', password: ALICE_PASSWORD } }));
    const admin = client.admin();
    const token = (await admin.tokens!.current()) as string;
    expect(token).toMatch(/^fl1\./);
    for (const shown of [
      inspect(client, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      inspect(admin, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      inspect(admin, { depth: 4, showHidden: true, customInspect: false }),
      inspect(root, { depth: 4, customInspect: false }),
      JSON.stringify(client),
      JSON.stringify(admin),
      JSON.stringify(root),
    ]) {
      expect(shown).not.toContain(ALICE_PASSWORD);
      expect(shown).not.toContain(ROOT_PASSWORD);
      expect(shown).not.toContain(token);
    }
  });
});
