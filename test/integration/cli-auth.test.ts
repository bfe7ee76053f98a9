// The auth commands as child processes against a real in-process node (issue 10, items 3-4): a root user added with
// its password on stdin, auth enabled, `login` printing only the token on stdout, roles and users managed with the
// token or --user and FORELOCK_PASSWORD, `lock` keeping the credentials from its command, a denied lock showing the
// server's message, UNAUTHENTICATED saying how to log in, bad names refused before sending, and `locks` showing users.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { type Client, connect } from '../../src/client/client.js';
import { runCli } from './client-harness.js';
import { addressOf, startCluster, type TestCluster } from './server-harness.js';

const ROOT_PASSWORD = 'cli-root-password';
const ALICE_PASSWORD = 'cli-alice-password';

let cluster: TestCluster;
let endpoint: string;
/** The token `forelock login` printed for root. */
let rootToken = '';
let root: AdminClient;
let alice: Client | null = null;

beforeAll(async () => {
  cluster = await startCluster(1);
  endpoint = addressOf(await cluster.leader());
}, 30_000);

afterAll(async () => {
  await alice?.close();
  root?.close();
  await cluster?.close();
});

/** Runs `forelock ARGS` against the node (FORELOCK_ENDPOINTS) with `env` and `stdin`. */
function forelock(args: readonly string[], env: Record<string, string> = {}, stdin?: string) {
  return runCli(args, { FORELOCK_ENDPOINTS: endpoint, ...env }, 60_000, stdin);
}

describe('setting auth up from the CLI', () => {
  it('adds root with its password on stdin, grants it root, and enables auth', async () => {
    const added = await forelock(['user', 'add', 'root', '--new-password-stdin'], {}, `${ROOT_PASSWORD}\n`);
    expect(added).toMatchObject({ code: 0, stdout: 'user "root" added\n', stderr: '' });
    const anonymous = new AdminClient({ endpoints: [endpoint] });
    await anonymous.users.grant('root', 'root');
    anonymous.close();
    const enabled = await forelock(['auth', 'enable', '--json']);
    expect(enabled.code).toBe(0);
    expect(JSON.parse(enabled.stdout)).toEqual({ enabled: true, users: 1, roles: 1 });
  });

  it('without credentials a command is refused as UNAUTHENTICATED, saying how to log in', async () => {
    const refused = await forelock(['user', 'list']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/\[UNAUTHENTICATED\]\n/);
    expect(refused.stderr).toContain(
      'log in with --user NAME and the password in FORELOCK_PASSWORD or --password-stdin',
    );
  });

  it('login prints the token alone on stdout and its expiry on stderr', async () => {
    const login = await forelock(['login', '--user', 'root'], { FORELOCK_PASSWORD: ROOT_PASSWORD });
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(/^fl1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    expect(login.stderr).toMatch(/^token expires at \S+Z \(in (9m\d+s|10m)\); pass it in FORELOCK_AUTH_TOKEN\n$/);
    expect(login.stderr).not.toContain(ROOT_PASSWORD);
    rootToken = login.stdout.trim();
    root = new AdminClient({ endpoints: [endpoint], auth: { token: rootToken } });
    expect(await root.auth.status()).toEqual({ enabled: true, users: 1, roles: 1 });
  });

  it('manages roles with the token and users with --user and FORELOCK_PASSWORD', async () => {
    const asRoot = { FORELOCK_AUTH_TOKEN: rootToken };
    expect(await forelock(['role', 'add', 'jobs-locker'], asRoot)).toMatchObject({ code: 0, stderr: '' });
    await root.roles.grant('jobs-locker', 'lock', 'jobs/');
    const added = await forelock(
      ['user', 'add', 'alice', '--new-password-stdin', '--user', 'root'],
      { FORELOCK_PASSWORD: ROOT_PASSWORD },
      `${ALICE_PASSWORD}\n`,
    );
    expect(added).toMatchObject({ code: 0, stdout: 'user "alice" added\n' });
    expect(
      await forelock(
        ['user', 'grant', 'alice', 'jobs-locker', '--password-stdin', '--user', 'root'],
        {},
        `${ROOT_PASSWORD}\n`,
      ),
    ).toMatchObject({ code: 0, stdout: 'role "jobs-locker" granted to user "alice"\n' });
    expect(JSON.parse((await forelock(['user', 'list', '--json'], asRoot)).stdout)).toEqual([
      { name: 'alice', roles: ['jobs-locker'], hasPassword: true },
      { name: 'root', roles: ['root'], hasPassword: true },
    ]);
    expect(JSON.parse((await forelock(['role', 'list', '--json'], asRoot)).stdout)).toEqual([
      { name: 'jobs-locker', grants: [{ permission: 'lock', prefix: 'jobs/' }] },
      { name: 'root', grants: [] },
    ]);
  });

  it('bad names and permissions are refused before sending, with the rule; nothing changes', async () => {
    const asRoot = { FORELOCK_AUTH_TOKEN: rootToken };
    const badUser = await forelock(['user', 'add', 'bad name', '--no-password'], asRoot);
    expect(badUser.code).toBe(1);
    expect(badUser.stderr).toContain('a user name must be 1-64 characters of A-Z a-z 0-9 . _ @ -');
    const badPermission = await forelock(['role', 'grant', 'jobs-locker', 'write', 'jobs/'], asRoot);
    expect(badPermission.code).toBe(1);
    expect(badPermission.stderr).toContain('a permission must be one of lock, read, revoke, got "write"');
    expect((await root.users.list()).map((user) => user.name)).toEqual(['alice', 'root']);
    expect((await root.roles.list()).find((role) => role.name === 'jobs-locker')?.grants).toEqual([
      { permission: 'lock', prefix: 'jobs/' },
    ]);
  });
});

describe('locks as a user with lock on jobs/', () => {
  const asAlice = () => ({ FORELOCK_PASSWORD: ALICE_PASSWORD, FORELOCK_AUTH_TOKEN: rootToken });

  it('forelock lock jobs/a runs its command without FORELOCK_PASSWORD or FORELOCK_AUTH_TOKEN', async () => {
    const run = await forelock(
      [
        'lock',
        'jobs/a',
        '--user',
        'alice',
        '--',
        'sh',
        '-c',
        'echo "[$FORELOCK_PASSWORD][$FORELOCK_AUTH_TOKEN][$FORELOCK_LOCK]"',
      ],
      asAlice(),
    );
    expect(run).toMatchObject({ code: 0, stdout: '[][][jobs/a]\n', stderr: '' });
  });

  it("forelock lock other/a is refused with the server's message, and other/a stays unlocked", async () => {
    const run = await forelock(['lock', 'other/a', '--user', 'alice', '--', 'true'], asAlice());
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /user "alice" may not \w+ "other\/a": it needs lock permission on a prefix of "other\/a" \[PERMISSION_DENIED\]/,
    );
    expect(await root.listLocks('other/')).toEqual([]);
  });

  it("forelock locks shows each holder's user", async () => {
    alice = await connect({
      endpoints: [endpoint],
      name: 'alice-sdk',
      auth: { user: 'alice', password: ALICE_PASSWORD },
    });
    const lock = await alice.acquire('jobs/held', { waitMs: 0 });
    const table = await forelock(['locks', '--prefix', 'jobs/'], { FORELOCK_AUTH_TOKEN: rootToken });
    expect(table.stdout).toMatch(/^NAME\s+MODE\s+TOKEN\s+HOLDER\s+USER\s+FENCED/);
    expect(table.stdout).toMatch(
      new RegExp(`jobs/held\\s+exclusive\\s+${lock.token}\\s+alice-sdk \\(\\S+\\)\\s+alice\\s+no`),
    );
  });
});
