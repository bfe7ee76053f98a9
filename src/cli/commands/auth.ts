// `forelock login` (a token on stdout, its expiry on stderr) and `forelock auth enable | disable | status [--json]`
// (docs/design.md, "Security"; etcd's `etcdctl auth`).
import type { Command } from 'commander';
import { AdminClient } from '../../client/admin.js';
import type { AuthStatus } from '../../client/admin-auth.js';
import {
  type ClientFlags,
  endpointList,
  runAdmin,
  runCommand,
  tlsFromFlags,
  toJson,
  withEndpoints,
} from '../client-options.js';
import { authFromFlags, PASSWORD_VARIABLE } from '../credentials.js';
import { formatDurationMs } from '../duration.js';

/** The human-readable auth status. */
export function formatAuthStatus(status: AuthStatus): string {
  return `auth ${status.enabled ? 'enabled' : 'disabled'}, ${status.users} users, ${status.roles} roles`;
}

/** What `forelock login` writes on stderr: when the token expires, and how to use it. */
export function loginNotice(expiresAtMs: number, nowMs: number): string {
  return `token expires at ${new Date(expiresAtMs).toISOString()} (in ${formatDurationMs(Math.max(0, expiresAtMs - nowMs))}); pass it in FORELOCK_AUTH_TOKEN\n`;
}

type StatusFlags = ClientFlags & { json?: boolean };

function printAuthStatus(flags: StatusFlags, get: (admin: AdminClient) => Promise<AuthStatus>): Promise<void> {
  return runAdmin(flags, async (admin) => {
    const status = await get(admin);
    process.stdout.write(`${flags.json ? toJson(status) : formatAuthStatus(status)}\n`);
  });
}

/** Registers `forelock login` and `forelock auth`. */
export function registerAuthCommands(program: Command): void {
  withEndpoints(program.command('login'))
    .description(
      `log in as --user (password in ${PASSWORD_VARIABLE} or --password-stdin): prints a token for FORELOCK_AUTH_TOKEN on stdout, its expiry on stderr`,
    )
    .action((flags: ClientFlags) =>
      runCommand(async () => {
        if (flags.user === undefined) {
          throw new RangeError(
            `forelock login needs --user NAME, with the password in ${PASSWORD_VARIABLE} or --password-stdin`,
          );
        }
        const auth = await authFromFlags(flags);
        const tls = await tlsFromFlags(flags);
        // The login itself carries no credentials: Admin.Login needs none.
        const admin = new AdminClient({ endpoints: endpointList(flags.endpoints), ...(tls && { tls }) });
        try {
          const { user, password } = auth as { user: string; password: string };
          const { token, expiresAtMs } = await admin.login(user, password);
          process.stdout.write(`${token}\n`);
          process.stderr.write(loginNotice(expiresAtMs, Date.now()));
        } finally {
          admin.close();
        }
      }),
    );

  const auth = program
    .command('auth')
    .description('turn auth on or off, or show whether it is on (enable needs a user with the root role)');
  withEndpoints(auth.command('status'))
    .description('whether auth is enabled, and how many users and roles exist')
    .option('--json', 'print {"enabled","users","roles"}')
    .action((flags: StatusFlags) => printAuthStatus(flags, (admin) => admin.auth.status()));
  withEndpoints(auth.command('enable'))
    .description(
      'check every call from now on (refused unless a user has the root role); ends every token issued before',
    )
    .option('--json', 'print the resulting status as JSON')
    .action((flags: StatusFlags) => printAuthStatus(flags, (admin) => admin.auth.enable()));
  withEndpoints(auth.command('disable'))
    .description('allow every call again (root only)')
    .option('--json', 'print the resulting status as JSON')
    .action((flags: StatusFlags) => printAuthStatus(flags, (admin) => admin.auth.disable()));
}
