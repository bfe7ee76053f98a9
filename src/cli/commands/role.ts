// `forelock role add | remove | list | grant | revoke` (docs/design.md, "Security"; etcd's `etcdctl role`): roles and
// their permissions (lock, read, revoke) on lock-name prefixes.
import type { Command } from 'commander';
import { PERMISSIONS, type Permission, ROOT_ROLE } from '../../auth/names.js';
import type { RoleInfo } from '../../client/admin-auth.js';
import { type ClientFlags, formatTable, runAdmin, toJson, withEndpoints } from '../client-options.js';

/** The human-readable role list: one row per grant (a role without grants gets one row). */
export function formatRoles(roles: readonly RoleInfo[]): string {
  if (roles.length === 0) return 'no roles';
  const rows = roles.flatMap((role) => {
    if (role.grants.length === 0) return [[role.name, role.name === ROOT_ROLE ? 'everything' : '-', '']];
    return role.grants.map((grant) => [role.name, grant.permission, JSON.stringify(grant.prefix)]);
  });
  return formatTable(['ROLE', 'PERMISSION', 'PREFIX'], rows);
}

type RoleFlags = ClientFlags & { json?: boolean };

const PERMISSION_HELP = `${PERMISSIONS.join(', ')}: lock (acquire, release, cancel, campaign, resign), read (see holders and queues), revoke (revoke others' locks)`;

/** Registers `forelock role` and its subcommands. */
export function registerRoleCommand(program: Command): void {
  const role = program
    .command('role')
    .description('roles: add, remove, list, grant and revoke permissions on lock-name prefixes');
  withEndpoints(role.command('add'))
    .description('add a role with no permissions')
    .argument('<role>', 'the role: 1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit')
    .action((name: string, flags: RoleFlags) =>
      runAdmin(flags, async (admin) => {
        await admin.roles.add(name);
        process.stdout.write(`role "${name}" added\n`);
      }),
    );
  withEndpoints(role.command('remove'))
    .description('remove a role (and take it from every user)')
    .argument('<role>', 'the role')
    .action((name: string, flags: RoleFlags) =>
      runAdmin(flags, async (admin) => {
        await admin.roles.remove(name);
        process.stdout.write(`role "${name}" removed\n`);
      }),
    );
  withEndpoints(role.command('list'))
    .description('list the roles and their permissions')
    .option('--json', 'print [{"name","grants":[{"permission","prefix"}]}]')
    .action((flags: RoleFlags) =>
      runAdmin(flags, async (admin) => {
        const roles = await admin.roles.list();
        process.stdout.write(`${flags.json ? toJson(roles) : formatRoles(roles)}\n`);
      }),
    );
  withEndpoints(role.command('grant'))
    .description('let a role do PERMISSION on every lock name starting with PREFIX')
    .argument('<role>', 'the role')
    .argument('<permission>', PERMISSION_HELP)
    .argument('<prefix>', "the lock-name prefix ('' for every name)")
    .action((name: string, permission: string, prefix: string, flags: RoleFlags) =>
      runAdmin(flags, async (admin) => {
        await admin.roles.grant(name, permission as Permission, prefix);
        process.stdout.write(`role "${name}" may ${permission} ${JSON.stringify(prefix)}\n`);
      }),
    );
  withEndpoints(role.command('revoke'))
    .description('take back a permission of a role on a prefix')
    .argument('<role>', 'the role')
    .argument('<permission>', PERMISSION_HELP)
    .argument('<prefix>', 'the lock-name prefix')
    .action((name: string, permission: string, prefix: string, flags: RoleFlags) =>
      runAdmin(flags, async (admin) => {
        await admin.roles.revoke(name, permission as Permission, prefix);
        process.stdout.write(`role "${name}" may no longer ${permission} ${JSON.stringify(prefix)}\n`);
      }),
    );
}
