// The CLI's credentials and auth output without a cluster: where the caller's credentials and a new password come
// from (flags, environment, stdin, a terminal without echo), what `forelock lock` keeps from its command, and the
// tables of users, roles and locks.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatAuthStatus, loginNotice } from '../../src/cli/commands/auth.js';
import { commandEnvironment } from '../../src/cli/commands/lock.js';
import { formatLocks, locksJson } from '../../src/cli/commands/locks.js';
import { formatRoles } from '../../src/cli/commands/role.js';
import { formatUsers, type NewPasswordSources, newPasswordFrom } from '../../src/cli/commands/user.js';
import { authFromFlags, firstLine, promptHidden, type SecretSources } from '../../src/cli/credentials.js';
import type { LockInfo } from '../../src/client/admin.js';

/** Secret sources with `env` and `stdin` as stdin's whole text (reading it is recorded). */
function sources(env: Record<string, string>, stdin = '') {
  const read = { count: 0 };
  const given: SecretSources = {
    env,
    readStdin: async () => {
      read.count++;
      return stdin;
    },
  };
  return { given, read };
}

describe("the caller's credentials", () => {
  it.each([
    [
      '--user with FORELOCK_PASSWORD',
      { user: 'alice' },
      { FORELOCK_PASSWORD: 'pw' },
      '',
      { user: 'alice', password: 'pw' },
    ],
    [
      '--user with --password-stdin (first line)',
      { user: 'alice', passwordStdin: true },
      {},
      'pw\r\nrest',
      { user: 'alice', password: 'pw' },
    ],
    [
      '--user over FORELOCK_AUTH_TOKEN',
      { user: 'alice' },
      { FORELOCK_PASSWORD: 'pw', FORELOCK_AUTH_TOKEN: 't' },
      '',
      { user: 'alice', password: 'pw' },
    ],
    [
      'FORELOCK_AUTH_TOKEN',
      {},
      { FORELOCK_AUTH_TOKEN: 'fl1.a.b', FORELOCK_PASSWORD: 'unused' },
      '',
      { token: 'fl1.a.b' },
    ],
    ['nothing', {}, {}, '', undefined],
  ])('%s', async (_what, flags, env, stdin, expected) => {
    expect(await authFromFlags(flags, sources(env, stdin).given)).toEqual(expected);
  });

  it.each([
    [
      '--user without a password',
      { user: 'alice' },
      {},
      /--user alice needs its password: set FORELOCK_PASSWORD or give --password-stdin/,
    ],
    ['--password-stdin without --user', { passwordStdin: true }, {}, /give --user too/],
    ['an empty stdin', { user: 'alice', passwordStdin: true }, {}, /--password-stdin: stdin held no password/],
    [
      'a bad user name',
      { user: 'no spaces' },
      { FORELOCK_PASSWORD: 'pw' },
      /--user: a user name must be 1-64 characters/,
    ],
  ])('refuses %s', async (_what, flags, env, message) => {
    await expect(authFromFlags(flags, sources(env).given)).rejects.toThrow(message);
  });

  it('the first line of piped text is the password, newline and all else dropped', () => {
    expect(firstLine('secret\n', 'x')).toBe('secret');
    expect(() => firstLine('\nsecret', 'x')).toThrow(/stdin held no password/);
  });
});

/** A terminal that types `keys` once raw mode is on, recording the modes it was put in. */
function terminal(keys: string[]) {
  const input = Object.assign(new PassThrough(), { isTTY: true, modes: [] as boolean[] });
  const typed = [...keys];
  Object.assign(input, {
    setRawMode(mode: boolean) {
      input.modes.push(mode);
      // Each prompt reads one line: the next keys arrive once it listens.
      if (mode) setImmediate(() => input.write(typed.shift() ?? ''));
    },
  });
  const output = new PassThrough();
  let shown = '';
  output.on('data', (chunk) => {
    shown += String(chunk);
  });
  return { input, output, shown: () => shown };
}

describe('a new password', () => {
  const noStdin = (input: NewPasswordSources['terminal'], output: NodeJS.WritableStream): NewPasswordSources => ({
    ...sources({}, 'piped-pw\n').given,
    terminal: input,
    output,
  });

  it('typed twice at a terminal, without echo', async () => {
    const tty = terminal(['s3cr3tX\u007f\r', 's3cr3t\n']);
    const password = await newPasswordFrom('alice', {}, true, noStdin(tty.input, tty.output));
    expect(password).toBe('s3cr3t');
    expect(tty.shown()).toBe('New password for alice: \nType it again: \n');
    expect(tty.input.modes).toEqual([true, false, true, false]);
  });

  it('refused when the two differ', async () => {
    const tty = terminal(['one\r', 'two\r']);
    await expect(newPasswordFrom('alice', {}, false, noStdin(tty.input, tty.output))).rejects.toThrow(
      /the two passwords differ; nothing was changed/,
    );
  });

  it('Ctrl-C aborts the prompt', async () => {
    const tty = terminal(['ab\u0003']);
    await expect(promptHidden('? ', tty.input, tty.output)).rejects.toThrow(/aborted/);
    expect(tty.input.modes).toEqual([true, false]);
  });

  it('from stdin with --new-password-stdin, none with --no-password', async () => {
    const notTty = Object.assign(new PassThrough(), { isTTY: false });
    const from = noStdin(notTty, new PassThrough());
    expect(await newPasswordFrom('alice', { newPasswordStdin: true }, true, from)).toBe('piped-pw');
    expect(await newPasswordFrom('alice', { password: false }, true, from)).toBeNull();
  });

  it.each([
    ['both stdin flags', { newPasswordStdin: true, passwordStdin: true }, true, /cannot both read stdin/],
    [
      '--no-password with --new-password-stdin',
      { newPasswordStdin: true, password: false },
      true,
      /exclude each other/,
    ],
    ['no flag and no terminal', {}, true, /--new-password-stdin \(or --no-password\): stdin is not a terminal/],
    ['--no-password for passwd', { password: false }, false, /--new-password-stdin: stdin is not a terminal/],
    [
      'a prompt after --password-stdin',
      { passwordStdin: true },
      true,
      /--password-stdin took stdin for your own password/,
    ],
  ])('refuses %s', async (_what, flags, allowNone, message) => {
    const notTty = Object.assign(new PassThrough(), { isTTY: false });
    await expect(newPasswordFrom('alice', flags, allowNone, noStdin(notTty, new PassThrough()))).rejects.toThrow(
      message,
    );
  });
});

describe('forelock lock', () => {
  it('keeps FORELOCK_PASSWORD and FORELOCK_AUTH_TOKEN from its command, and everything else', () => {
    const env = { FORELOCK_PASSWORD: 'pw', FORELOCK_AUTH_TOKEN: 't', FORELOCK_ENDPOINTS: 'a:1', PATH: '/bin' };
    expect(commandEnvironment(env)).toEqual({ FORELOCK_ENDPOINTS: 'a:1', PATH: '/bin' });
    expect(env.FORELOCK_PASSWORD).toBe('pw');
  });
});

describe('auth output', () => {
  it('auth status and the login notice', () => {
    expect(formatAuthStatus({ enabled: true, users: 2, roles: 3 })).toBe('auth enabled, 2 users, 3 roles');
    expect(loginNotice(Date.UTC(2026, 0, 1, 0, 10), Date.UTC(2026, 0, 1))).toBe(
      'token expires at 2026-01-01T00:10:00.000Z (in 10m); pass it in FORELOCK_AUTH_TOKEN\n',
    );
  });

  it('users: roles and whether a password is set', () => {
    expect(
      formatUsers([
        { name: 'alice', roles: ['a', 'b'], hasPassword: true },
        { name: 'svc', roles: [], hasPassword: false },
      ]),
    ).toBe(['USER   ROLES  PASSWORD', 'alice  a,b    yes', 'svc    -      no (certificate only)'].join('\n'));
    expect(formatUsers([])).toBe('no users');
  });

  it('roles: one row per grant, prefixes quoted', () => {
    expect(
      formatRoles([
        {
          name: 'jobs',
          grants: [
            { permission: 'read', prefix: '' },
            { permission: 'lock', prefix: 'jobs/' },
          ],
        },
        { name: 'empty', grants: [] },
        { name: 'root', grants: [] },
      ]),
    ).toBe(
      [
        'ROLE   PERMISSION  PREFIX',
        'jobs   read        ""',
        'jobs   lock        "jobs/"',
        'empty  -',
        'root   everything',
      ].join('\n'),
    );
  });

  it("locks: each holder's user, '-' when its session was opened with auth off", () => {
    const holder = {
      session: 's1',
      client: 'c',
      token: 7n,
      fenced: false,
      grantedAtMs: 0,
      mode: 'exclusive',
      preemptible: true,
      metadata: '',
    } as const;
    const locks: LockInfo[] = [
      { name: 'a', mode: 'exclusive', waiters: 0, holders: [{ ...holder, user: 'alice' }] },
      { name: 'b', mode: 'exclusive', waiters: 0, holders: [{ ...holder, user: '' }] },
    ];
    const [header, first, second] = formatLocks(locks).split('\n');
    expect(header).toMatch(/HOLDER\s+USER\s+FENCED/);
    expect(first).toMatch(/c \(s1\)\s+alice\s+no/);
    expect(second).toMatch(/c \(s1\)\s+-\s+no/);
    expect(locksJson(locks).map((lock) => lock.holders[0]?.user)).toEqual(['alice', '']);
  });
});
