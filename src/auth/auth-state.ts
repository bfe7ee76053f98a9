// The replicated users, roles and permissions of a cluster (docs/design.md, "Security"): changed only by 'auth'
// log entries, kept in snapshots, the same on every node. Deterministic, no clock and no I/O: passwords arrive
// already hashed and the token key is chosen by the node that proposes the enable.
import {
  type Permission,
  permissionProblem,
  prefixProblem,
  ROOT_ROLE,
  roleNameProblem,
  userNameProblem,
} from './names.js';

/** One change to the auth state, as a log entry carries it. */
export type AuthChange =
  /** Turns checks on; `tokenKey` (64 hex digits) signs the tokens issued from now on, ending every earlier one. */
  | { readonly op: 'enable'; readonly tokenKey: string }
  | { readonly op: 'disable' }
  /** `passwordHash` '' makes a user that only a client certificate can authenticate. */
  | { readonly op: 'user-add'; readonly user: string; readonly passwordHash: string }
  | { readonly op: 'user-passwd'; readonly user: string; readonly passwordHash: string }
  | { readonly op: 'user-remove'; readonly user: string }
  | { readonly op: 'user-grant'; readonly user: string; readonly role: string }
  | { readonly op: 'user-revoke'; readonly user: string; readonly role: string }
  | { readonly op: 'role-add'; readonly role: string }
  | { readonly op: 'role-remove'; readonly role: string }
  | { readonly op: 'role-grant'; readonly role: string; readonly permission: Permission; readonly prefix: string }
  | { readonly op: 'role-revoke'; readonly role: string; readonly permission: Permission; readonly prefix: string };

/** Codes of the auth state's refusals (a subset of the lock service's LockErrorCode). */
export type AuthErrorCode =
  | 'INVALID_ARGUMENT'
  | 'USER_NOT_FOUND'
  | 'ROLE_NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'NO_ROOT_USER';

/** What applying a change returns. */
export type AuthChangeResult =
  | { readonly status: 'ok' }
  | { readonly status: 'error'; readonly code: AuthErrorCode; readonly message: string };

/** One permission on the lock names that start with `prefix` ('' covers every name). */
export interface Grant {
  readonly permission: Permission;
  readonly prefix: string;
}

/** A user as listed: never its password hash. */
export interface UserView {
  readonly name: string;
  readonly roles: readonly string[];
  /** False: only a client certificate with this common name can authenticate as this user. */
  readonly hasPassword: boolean;
}

/** A role as listed. */
export interface RoleView {
  readonly name: string;
  readonly grants: readonly Grant[];
}

interface UserRecord {
  readonly name: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  /** Unique over the cluster's life: a password change or a removal (and a re-add) makes earlier tokens stale. */
  readonly revision: number;
}

/** What a snapshot carries of the auth state. */
export interface AuthStateData {
  readonly enabled: boolean;
  readonly tokenKey: string;
  readonly revision: number;
  readonly users: readonly UserRecord[];
  readonly roles: readonly RoleView[];
}

const ok: AuthChangeResult = { status: 'ok' };

function fail(code: AuthErrorCode, message: string): AuthChangeResult {
  return { status: 'error', code, message };
}

const TOKEN_KEY = /^[0-9a-f]{64}$/;
const PASSWORD_HASH = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/;

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function sameGrant(a: Grant, b: Grant): boolean {
  return a.permission === b.permission && a.prefix === b.prefix;
}

/** The users, roles and the enabled flag of a cluster. `apply` is the only mutator (besides `restore`). */
export class AuthState {
  private enabledFlag = false;
  private key = '';
  private revision = 0;
  private usersByName = new Map<string, UserRecord>();
  private rolesByName = new Map<string, RoleView>();

  /** Whether calls are checked (before the first enable, every call is allowed). */
  get enabled(): boolean {
    return this.enabledFlag;
  }

  /** The key (hex) tokens are signed with; '' before the first enable. */
  get tokenKey(): string {
    return this.key;
  }

  // ---- queries ----

  user(name: string): UserView | undefined {
    const user = this.usersByName.get(name);
    return user && viewUser(user);
  }

  /** The user's current revision (tokens issued at another one are stale), or undefined when there is no such user. */
  userRevision(name: string): number | undefined {
    return this.usersByName.get(name)?.revision;
  }

  /** The user's password hash ('' when it has none), or undefined when there is no such user. */
  passwordHashOf(name: string): string | undefined {
    return this.usersByName.get(name)?.passwordHash;
  }

  users(): UserView[] {
    return [...this.usersByName.values()].map(viewUser).sort(byName);
  }

  role(name: string): RoleView | undefined {
    return name === ROOT_ROLE ? { name, grants: [] } : this.rolesByName.get(name);
  }

  /** Every role, the built-in root included, by name. */
  roles(): RoleView[] {
    return [{ name: ROOT_ROLE, grants: [] }, ...this.rolesByName.values()].sort(byName);
  }

  /** Whether `user` has the root role. */
  isRoot(user: string): boolean {
    return this.usersByName.get(user)?.roles.includes(ROOT_ROLE) === true;
  }

  /** Whether `user` may do `permission` on the lock `name` (root may do everything). */
  permits(user: string, permission: Permission, name: string): boolean {
    const record = this.usersByName.get(user);
    if (!record) return false;
    for (const roleName of record.roles) {
      if (roleName === ROOT_ROLE) return true;
      const role = this.rolesByName.get(roleName);
      if (role?.grants.some((grant) => grant.permission === permission && name.startsWith(grant.prefix))) return true;
    }
    return false;
  }

  // ---- changes ----

  apply(change: AuthChange): AuthChangeResult {
    switch (change.op) {
      case 'enable':
        return this.enable(change.tokenKey);
      case 'disable':
        this.enabledFlag = false;
        return ok;
      case 'user-add':
        return this.addUser(change.user, change.passwordHash);
      case 'user-passwd':
        return this.withUser(change.user, (user) => this.setUser({ ...user, passwordHash: change.passwordHash }));
      case 'user-remove':
        return this.withUser(change.user, (user) => this.removeUser(user));
      case 'user-grant':
        return this.withUser(change.user, (user) => this.grantRole(user, change.role));
      case 'user-revoke':
        return this.withUser(change.user, (user) => this.revokeRole(user, change.role));
      case 'role-add':
        return this.addRole(change.role);
      case 'role-remove':
        return this.withRole(change.role, (role) => this.removeRole(role));
      case 'role-grant':
      case 'role-revoke': {
        const problem = permissionProblem(change.permission) ?? prefixProblem(change.prefix);
        if (problem) return fail('INVALID_ARGUMENT', problem);
        const grant: Grant = { permission: change.permission, prefix: change.prefix };
        return this.withRole(change.role, (role) =>
          change.op === 'role-grant' ? this.grant(role, grant) : this.revoke(role, grant),
        );
      }
      default:
        return fail('INVALID_ARGUMENT', `unknown auth change ${String((change as { op: unknown }).op)}`);
    }
  }

  private enable(tokenKey: string): AuthChangeResult {
    if (!TOKEN_KEY.test(tokenKey)) return fail('INVALID_ARGUMENT', 'the token key must be 64 lowercase hex digits');
    if (!this.hasRootUser()) {
      return fail('NO_ROOT_USER', 'auth cannot be enabled before a user has the root role: add one and grant it root');
    }
    this.enabledFlag = true;
    this.key = tokenKey;
    return ok;
  }

  /** Whether a user other than `except` has the root role. */
  private hasRootUser(except?: string): boolean {
    for (const user of this.usersByName.values()) {
      if (user.name !== except && user.roles.includes(ROOT_ROLE)) return true;
    }
    return false;
  }

  private addUser(name: string, passwordHash: string): AuthChangeResult {
    const problem = userNameProblem(name) ?? passwordHashProblem(passwordHash);
    if (problem) return fail('INVALID_ARGUMENT', problem);
    if (this.usersByName.has(name)) return fail('ALREADY_EXISTS', `user "${name}" already exists`);
    this.setUser({ name, passwordHash, roles: [], revision: 0 });
    return ok;
  }

  /** Stores `user` at a new revision (any change to a user ends its tokens). */
  private setUser(user: UserRecord): AuthChangeResult {
    if (user.passwordHash !== '' && passwordHashProblem(user.passwordHash)) {
      return fail('INVALID_ARGUMENT', passwordHashProblem(user.passwordHash)!);
    }
    this.revision += 1;
    this.usersByName.set(user.name, { ...user, revision: this.revision });
    return ok;
  }

  private removeUser(user: UserRecord): AuthChangeResult {
    if (this.enabledFlag && user.roles.includes(ROOT_ROLE) && !this.hasRootUser(user.name)) {
      return fail('NO_ROOT_USER', `"${user.name}" is the last root user; disable auth or grant root to another first`);
    }
    this.usersByName.delete(user.name);
    this.revision += 1;
    return ok;
  }

  private grantRole(user: UserRecord, role: string): AuthChangeResult {
    const problem = roleNameProblem(role);
    if (problem) return fail('INVALID_ARGUMENT', problem);
    if (this.role(role) === undefined) return fail('ROLE_NOT_FOUND', `role "${role}" does not exist; add it first`);
    if (user.roles.includes(role)) return ok;
    return this.setUser({ ...user, roles: [...user.roles, role].sort() });
  }

  private revokeRole(user: UserRecord, role: string): AuthChangeResult {
    if (!user.roles.includes(role)) {
      return fail('ROLE_NOT_FOUND', `user "${user.name}" does not have role "${role}"`);
    }
    if (this.enabledFlag && role === ROOT_ROLE && !this.hasRootUser(user.name)) {
      return fail('NO_ROOT_USER', `"${user.name}" is the last root user; disable auth or grant root to another first`);
    }
    return this.setUser({ ...user, roles: user.roles.filter((each) => each !== role) });
  }

  private addRole(name: string): AuthChangeResult {
    const problem = roleNameProblem(name);
    if (problem) return fail('INVALID_ARGUMENT', problem);
    if (this.role(name) !== undefined) return fail('ALREADY_EXISTS', `role "${name}" already exists`);
    this.rolesByName.set(name, { name, grants: [] });
    return ok;
  }

  private removeRole(role: RoleView): AuthChangeResult {
    if (role.name === ROOT_ROLE) return fail('INVALID_ARGUMENT', 'the built-in root role cannot be removed');
    this.rolesByName.delete(role.name);
    for (const user of [...this.usersByName.values()]) {
      if (user.roles.includes(role.name)) {
        this.setUser({ ...user, roles: user.roles.filter((each) => each !== role.name) });
      }
    }
    return ok;
  }

  private grant(role: RoleView, grant: Grant): AuthChangeResult {
    if (role.name === ROOT_ROLE) return fail('INVALID_ARGUMENT', 'the root role may already do everything');
    if (role.grants.some((each) => sameGrant(each, grant))) return ok;
    const grants = [...role.grants, grant].sort((a, b) =>
      a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : a.permission < b.permission ? -1 : 1,
    );
    this.rolesByName.set(role.name, { name: role.name, grants });
    return ok;
  }

  private revoke(role: RoleView, grant: Grant): AuthChangeResult {
    if (!role.grants.some((each) => sameGrant(each, grant))) {
      return fail(
        'INVALID_ARGUMENT',
        `role "${role.name}" has no ${grant.permission} permission on prefix ${JSON.stringify(grant.prefix)}`,
      );
    }
    this.rolesByName.set(role.name, { name: role.name, grants: role.grants.filter((each) => !sameGrant(each, grant)) });
    return ok;
  }

  private withUser(name: string, change: (user: UserRecord) => AuthChangeResult): AuthChangeResult {
    const problem = userNameProblem(name);
    if (problem) return fail('INVALID_ARGUMENT', problem);
    const user = this.usersByName.get(name);
    return user ? change(user) : fail('USER_NOT_FOUND', `user "${name}" does not exist`);
  }

  private withRole(name: string, change: (role: RoleView) => AuthChangeResult): AuthChangeResult {
    const problem = roleNameProblem(name);
    if (problem) return fail('INVALID_ARGUMENT', problem);
    const role = this.role(name);
    return role ? change(role) : fail('ROLE_NOT_FOUND', `role "${name}" does not exist`);
  }

  // ---- snapshot ----

  toData(): AuthStateData {
    return {
      enabled: this.enabledFlag,
      tokenKey: this.key,
      revision: this.revision,
      users: [...this.usersByName.values()],
      roles: [...this.rolesByName.values()],
    };
  }

  /** Replaces the state with `data` (undefined: a snapshot written before auth existed, so no users and auth off). */
  restore(data: AuthStateData | undefined): void {
    this.enabledFlag = data?.enabled ?? false;
    this.key = data?.tokenKey ?? '';
    this.revision = data?.revision ?? 0;
    this.usersByName = new Map((data?.users ?? []).map((user) => [user.name, user]));
    this.rolesByName = new Map((data?.roles ?? []).map((role) => [role.name, role]));
  }
}

function viewUser(user: UserRecord): UserView {
  return { name: user.name, roles: user.roles, hasPassword: user.passwordHash !== '' };
}

/** Null when `hash` is '' (no password) or looks like a hashPassword result, else the reason. */
function passwordHashProblem(hash: unknown): string | null {
  if (hash === '' || (typeof hash === 'string' && hash.length <= 256 && PASSWORD_HASH.test(hash))) return null;
  return 'the password must arrive hashed (scrypt$N$r$p$salt$hash) or be empty';
}
