// The AdminClient's auth calls (docs/design.md, "Security"): `admin.auth` (status, enable, disable), `admin.users` and
// `admin.roles`, typed. Arguments are checked with the server's own rules (src/auth/names.ts) before anything is
// sent; changes follow the leader, status and listings answer on any node.
import {
  type Permission,
  passwordProblem,
  permissionProblem,
  prefixProblem,
  roleNameProblem,
  userNameProblem,
} from '../auth/names.js';
import { InvalidArgumentError } from './errors.js';
import type { AdminMethods } from './wire.js';

/** How the auth calls reach the cluster: the AdminClient's leader-following call. */
export type AdminCall = <M extends keyof AdminMethods>(
  method: M,
  request: AdminMethods[M][0],
  options: { leaderOnly: boolean },
) => Promise<AdminMethods[M][1]>;

/** Whether auth is enabled, and how many users and roles exist (the built-in root role included). */
export interface AuthStatus {
  readonly enabled: boolean;
  readonly users: number;
  readonly roles: number;
}

/** A user as `users.list()` shows it: never its password or hash. */
export interface UserInfo {
  readonly name: string;
  /** Its roles, sorted. */
  readonly roles: string[];
  /** False for a user that authenticates only with a client certificate naming it. */
  readonly hasPassword: boolean;
}

/** One permission of a role on the lock names starting with `prefix` ('' covers every name). */
export interface RoleGrant {
  readonly permission: Permission;
  readonly prefix: string;
}

/** A role as `roles.list()` shows it (root, which may do everything, has no grants). */
export interface RoleInfo {
  readonly name: string;
  readonly grants: RoleGrant[];
}

/** A new user's credentials: a password, or none (it authenticates with a client certificate naming it). */
export type NewUserCredentials = { readonly password: string } | { readonly noPassword: true };

/** Throws InvalidArgumentError with the first rule broken, before anything is sent. */
function check(...problems: (string | null)[]): void {
  for (const problem of problems) if (problem !== null) throw new InvalidArgumentError(problem);
}

/** `admin.auth`: whether calls are checked. */
export class AuthAdmin {
  constructor(private readonly call: AdminCall) {}

  /** Whether auth is enabled, from the node that answers. */
  status(): Promise<AuthStatus> {
    return this.call('AuthStatus', {}, { leaderOnly: false }).then(statusFromWire);
  }

  /** Turns auth on (NoRootUserError unless a user has the root role); tokens issued before end. Root only. */
  enable(): Promise<AuthStatus> {
    return this.call('AuthEnable', {}, { leaderOnly: true }).then(statusFromWire);
  }

  /** Turns auth off: every call is allowed again. Root only. */
  disable(): Promise<AuthStatus> {
    return this.call('AuthDisable', {}, { leaderOnly: true }).then(statusFromWire);
  }
}

/** `admin.users`: users and their roles. Every call needs the root role once auth is enabled. */
export class UserAdmin {
  constructor(private readonly call: AdminCall) {}

  /** Adds `name` with a password (stored only as a scrypt hash) or with none (AlreadyExistsError if it exists). */
  async add(name: string, credentials: NewUserCredentials): Promise<void> {
    const noPassword = 'noPassword' in credentials && credentials.noPassword === true;
    const password = noPassword ? '' : (credentials as { password: string }).password;
    check(userNameProblem(name), noPassword ? null : passwordProblem(password));
    await this.call('UserAdd', { user: name, password, noPassword }, { leaderOnly: true });
  }

  /** Gives `name` a new password; its tokens end (UserNotFoundError for an unknown user). */
  async changePassword(name: string, password: string): Promise<void> {
    check(userNameProblem(name), passwordProblem(password));
    await this.call('UserChangePassword', { user: name, password, noPassword: false }, { leaderOnly: true });
  }

  /** Removes `name`; its tokens end and its streams are refused at their next request or keepalive. */
  async remove(name: string): Promise<void> {
    check(userNameProblem(name));
    await this.call('UserRemove', { user: name }, { leaderOnly: true });
  }

  /** Grants `role` to `name` (RoleNotFoundError for an unknown role). */
  async grant(name: string, role: string): Promise<void> {
    check(userNameProblem(name), roleNameProblem(role));
    await this.call('UserGrantRole', { user: name, role }, { leaderOnly: true });
  }

  /** Takes `role` from `name`. */
  async revoke(name: string, role: string): Promise<void> {
    check(userNameProblem(name), roleNameProblem(role));
    await this.call('UserRevokeRole', { user: name, role }, { leaderOnly: true });
  }

  /** Every user, by name, from the node that answers. */
  async list(): Promise<UserInfo[]> {
    const reply = await this.call('UserList', {}, { leaderOnly: false });
    return reply.users.map((user) => ({ name: user.name, roles: [...user.roles], hasPassword: user.hasPassword }));
  }
}

/** `admin.roles`: roles and their permissions by lock-name prefix. Every call needs the root role once auth is on. */
export class RoleAdmin {
  constructor(private readonly call: AdminCall) {}

  /** Adds `role` with no permissions (AlreadyExistsError if it exists; root is built in). */
  async add(role: string): Promise<void> {
    check(roleNameProblem(role));
    await this.call('RoleAdd', { role }, { leaderOnly: true });
  }

  /** Removes `role` (and takes it from every user). */
  async remove(role: string): Promise<void> {
    check(roleNameProblem(role));
    await this.call('RoleRemove', { role }, { leaderOnly: true });
  }

  /** Lets `role` do `permission` on every lock name starting with `prefix` ('' covers every name). */
  async grant(role: string, permission: Permission, prefix: string): Promise<void> {
    check(roleNameProblem(role), permissionProblem(permission), prefixProblem(prefix));
    await this.call('RoleGrantPermission', { role, permission, prefix }, { leaderOnly: true });
  }

  /** Takes back a grant of `grant()`. */
  async revoke(role: string, permission: Permission, prefix: string): Promise<void> {
    check(roleNameProblem(role), permissionProblem(permission), prefixProblem(prefix));
    await this.call('RoleRevokePermission', { role, permission, prefix }, { leaderOnly: true });
  }

  /** Every role, the built-in root included, by name, from the node that answers. */
  async list(): Promise<RoleInfo[]> {
    const reply = await this.call('RoleList', {}, { leaderOnly: false });
    return reply.roles.map((role) => ({
      name: role.name,
      grants: role.grants.map((grant) => ({ permission: grant.permission as Permission, prefix: grant.prefix })),
    }));
  }
}

function statusFromWire(reply: AdminMethods['AuthStatus'][1]): AuthStatus {
  return { enabled: reply.enabled, users: reply.users, roles: reply.roles };
}
