// `forelock user add | passwd | remove | list | grant | revoke` (docs/design.md, "Security"; etcd's `etcdctl user`).
// A new password comes from --new-password-stdin or is typed twice at the terminal without echo: never from a flag's
// value, and never from the caller's own --password-stdin.
import type { Command } from 'commander';
import type { UserInfo } from '../../client/admin-auth.js';
import { type ClientFlags, formatTable, runAdmin, toJson, withEndpoints } from '../client-options.js';
import {
  firstLine,
  processSecretSources,
  promptNewPassword,
  type SecretSources,
  type TerminalInput,
} from '../credentials.js';

/** The flags that say where a new password comes from. */
export interface NewPasswordFlags {
  readonly newPasswordStdin?: boolean;
  /** False with --no-password (commander's negated flag). */
  readonly password?: boolean;
  /** The caller's own password from stdin: stdin cannot give both. */
  readonly passwordStdin?: boolean;
}

/** Where a new password is read: stdin, or the terminal (prompted on `output`). */
export interface NewPasswordSources extends SecretSources {
  readonly terminal: TerminalInput;
  readonly output: NodeJS.WritableStream;
}

const processNewPasswordSources: NewPasswordSources = {
  ...processSecretSources,
  terminal: process.stdin,
  output: process.stderr,
};

/**
 * The new password of user `name` as the flags say: null with --no-password (when `allowNone`), the first line of
 * stdin with --new-password-stdin, else typed twice at the terminal without echo. Refuses what cannot be honoured.
 */
export async function newPasswordFrom(
  name: string,
  flags: NewPasswordFlags,
  allowNone: boolean,
  sources: NewPasswordSources = processNewPasswordSources,
): Promise<string | null> {
  const noPassword = allowNone && flags.password === false;
  if (noPassword && flags.newPasswordStdin)
    throw new RangeError('--no-password and --new-password-stdin exclude each other');
  if (noPassword) return null;
  if (flags.newPasswordStdin) {
    if (flags.passwordStdin) {
      throw new RangeError(
        '--password-stdin and --new-password-stdin cannot both read stdin: give your own password in FORELOCK_PASSWORD',
      );
    }
    return firstLine(await sources.readStdin(), '--new-password-stdin');
  }
  if (flags.passwordStdin) {
    throw new RangeError(
      '--password-stdin took stdin for your own password: give the new one with --new-password-stdin and yours in FORELOCK_PASSWORD',
    );
  }
  if (!sources.terminal.isTTY) {
    throw new RangeError(
      `give the new password with --new-password-stdin${allowNone ? ' (or --no-password)' : ''}: stdin is not a terminal to type it at`,
    );
  }
  return promptNewPassword(name, sources.terminal, sources.output);
}

/** The human-readable user list: one row per user. */
export function formatUsers(users: readonly UserInfo[]): string {
  if (users.length === 0) return 'no users';
  return formatTable(
    ['USER', 'ROLES', 'PASSWORD'],
    users.map((user) => [user.name, user.roles.join(',') || '-', user.hasPassword ? 'yes' : 'no (certificate only)']),
  );
}

type UserFlags = ClientFlags & NewPasswordFlags & { json?: boolean };

/** Registers `forelock user` and its subcommands. */
export function registerUserCommand(program: Command): void {
  const user = program.command('user').description('users: add, change password, remove, list, grant and revoke roles');
  withEndpoints(user.command('add'))
    .description('add a user (its password typed twice when stdin is a terminal)')
    .argument('<name>', 'the user: 1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit')
    .option('--new-password-stdin', "read the new user's password from the first line of stdin")
    .option('--no-password', 'a user without a password: it authenticates only with a client certificate naming it')
    .action((name: string, flags: UserFlags) =>
      runAdmin(flags, async (admin) => {
        const password = await newPasswordFrom(name, flags, true);
        await admin.users.add(name, password === null ? { noPassword: true } : { password });
        process.stdout.write(`user "${name}" added\n`);
      }),
    );
  withEndpoints(user.command('passwd'))
    .description("change a user's password (typed twice when stdin is a terminal); its tokens end")
    .argument('<name>', 'the user')
    .option('--new-password-stdin', 'read the new password from the first line of stdin')
    .action((name: string, flags: UserFlags) =>
      runAdmin(flags, async (admin) => {
        const password = (await newPasswordFrom(name, flags, false)) as string;
        await admin.users.changePassword(name, password);
        process.stdout.write(`password of user "${name}" changed\n`);
      }),
    );
  withEndpoints(user.command('remove'))
    .description('remove a user; its tokens end and its sessions are refused at their next request')
    .argument('<name>', 'the user')
    .action((name: string, flags: UserFlags) =>
      runAdmin(flags, async (admin) => {
        await admin.users.remove(name);
        process.stdout.write(`user "${name}" removed\n`);
      }),
    );
  withEndpoints(user.command('list'))
    .description('list the users and their roles')
    .option('--json', 'print [{"name","roles","hasPassword"}]')
    .action((flags: UserFlags) =>
      runAdmin(flags, async (admin) => {
        const users = await admin.users.list();
        process.stdout.write(`${flags.json ? toJson(users) : formatUsers(users)}\n`);
      }),
    );
  withEndpoints(user.command('grant'))
    .description('grant a role to a user')
    .argument('<name>', 'the user')
    .argument('<role>', 'the role (root: everything)')
    .action((name: string, role: string, flags: UserFlags) =>
      runAdmin(flags, async (admin) => {
        await admin.users.grant(name, role);
        process.stdout.write(`role "${role}" granted to user "${name}"\n`);
      }),
    );
  withEndpoints(user.command('revoke'))
    .description('take a role from a user')
    .argument('<name>', 'the user')
    .argument('<role>', 'the role')
    .action((name: string, role: string, flags: UserFlags) =>
      runAdmin(flags, async (admin) => {
        await admin.users.revoke(name, role);
        process.stdout.write(`role "${role}" revoked from user "${name}"\n`);
      }),
    );
}
