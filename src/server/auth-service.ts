// The Admin service's auth calls (docs/design.md, "Security"): login, status, enable and disable, users and roles.
// Changes are checked here, hashed here (a password never reaches the log) and proposed to the leader as one 'auth'
// entry; a follower forwards them. Login and the listings answer from the node asked, from its applied state.
import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { AuthChange } from '../auth/auth-state.js';
import {
  type Permission,
  passwordProblem,
  permissionProblem,
  prefixProblem,
  roleNameProblem,
  userNameProblem,
} from '../auth/names.js';
import { hashPassword } from '../auth/passwords.js';
import { type AdminCallContext, adminCall, rootOnly } from './admin-call.js';
import type { AdminForwarder } from './admin-forwarder.js';
import { InvalidRequestError } from './errors.js';
import type { LockService } from './lock-service.js';

/** What the auth calls need from the node. */
export interface AuthServiceDeps extends AdminCallContext {
  readonly service: LockService;
  readonly forwarder: AdminForwarder;
}

function check(...problems: (string | null)[]): void {
  for (const problem of problems) if (problem !== null) throw new InvalidRequestError(problem);
}

/** The auth handlers, to add to the Admin service's. */
export function authHandlers(deps: AuthServiceDeps): grpc.UntypedServiceImplementation {
  const { service, forwarder, authenticator } = deps;
  const auth = service.machine.auth;
  const statusReply = async (): Promise<unknown> => ({
    enabled: auth.enabled,
    users: auth.users().length,
    roles: auth.roles().length,
  });
  /** Proposes `change` on the leader; a refusal (unknown user, no root user, ...) is thrown, nothing changed. */
  const propose = async (change: AuthChange): Promise<void> => {
    service.requireLeader();
    await service.proposeAccepted({ type: 'auth', change });
  };
  /** An admin change, root only, forwarded to the leader, audited with `target`. */
  const change = <Request>(
    name: string,
    target: (request: Request) => string,
    handler: (request: Request) => Promise<unknown>,
  ) =>
    adminCall<Request>(deps, {
      name,
      access: rootOnly<Request>(authenticator, name, target),
      handler,
      forwarder,
      auditTarget: target,
    });
  type UserPassword = { user: string; password: string; noPassword: boolean };
  type UserRole = { user: string; role: string };
  type RolePermission = { role: string; permission: string; prefix: string };
  const rolePermission = (request: RolePermission) =>
    `${request.role} ${request.permission} ${JSON.stringify(request.prefix)}`;
  const grantChange = (op: 'role-grant' | 'role-revoke', request: RolePermission): AuthChange => {
    check(roleNameProblem(request.role), permissionProblem(request.permission), prefixProblem(request.prefix));
    return { op, role: request.role, permission: request.permission as Permission, prefix: request.prefix };
  };
  return {
    Login: adminCall<{ user: string; password: string }>(deps, {
      name: 'Login',
      access: 'open',
      handler: async (request, caller) => {
        check(userNameProblem(request.user), passwordProblem(request.password));
        const issued = await authenticator.login(request.user, request.password, caller.identity);
        return { token: issued.token, expiresAtMs: issued.expiresAtMs };
      },
    }),
    AuthStatus: adminCall(deps, { name: 'AuthStatus', access: 'open', handler: statusReply }),
    AuthEnable: change(
      'AuthEnable',
      () => 'auth',
      async () => {
        await propose({ op: 'enable', tokenKey: randomBytes(32).toString('hex') });
        return statusReply();
      },
    ),
    AuthDisable: change(
      'AuthDisable',
      () => 'auth',
      async () => {
        await propose({ op: 'disable' });
        return statusReply();
      },
    ),
    UserAdd: change<UserPassword>(
      'UserAdd',
      (request) => request.user,
      async (request) => {
        check(userNameProblem(request.user), request.noPassword ? null : passwordProblem(request.password));
        if (request.noPassword && request.password !== '') {
          throw new InvalidRequestError('give either a password or no_password, not both');
        }
        const passwordHash = request.noPassword ? '' : await hashPassword(request.password);
        await propose({ op: 'user-add', user: request.user, passwordHash });
        return {};
      },
    ),
    UserChangePassword: change<UserPassword>(
      'UserChangePassword',
      (request) => request.user,
      async (request) => {
        check(userNameProblem(request.user), passwordProblem(request.password));
        await propose({ op: 'user-passwd', user: request.user, passwordHash: await hashPassword(request.password) });
        return {};
      },
    ),
    UserRemove: change<{ user: string }>(
      'UserRemove',
      (request) => request.user,
      async (request) => {
        check(userNameProblem(request.user));
        await propose({ op: 'user-remove', user: request.user });
        return {};
      },
    ),
    UserGrantRole: change<UserRole>(
      'UserGrantRole',
      (request) => `${request.user} ${request.role}`,
      async (request) => {
        check(userNameProblem(request.user), roleNameProblem(request.role));
        await propose({ op: 'user-grant', user: request.user, role: request.role });
        return {};
      },
    ),
    UserRevokeRole: change<UserRole>(
      'UserRevokeRole',
      (request) => `${request.user} ${request.role}`,
      async (request) => {
        check(userNameProblem(request.user), roleNameProblem(request.role));
        await propose({ op: 'user-revoke', user: request.user, role: request.role });
        return {};
      },
    ),
    UserList: adminCall(deps, {
      name: 'UserList',
      access: rootOnly(authenticator, 'UserList', () => 'users'),
      handler: async () => ({ users: auth.users() }),
    }),
    RoleAdd: change<{ role: string }>(
      'RoleAdd',
      (request) => request.role,
      async (request) => {
        check(roleNameProblem(request.role));
        await propose({ op: 'role-add', role: request.role });
        return {};
      },
    ),
    RoleRemove: change<{ role: string }>(
      'RoleRemove',
      (request) => request.role,
      async (request) => {
        check(roleNameProblem(request.role));
        await propose({ op: 'role-remove', role: request.role });
        return {};
      },
    ),
    RoleGrantPermission: change<RolePermission>('RoleGrantPermission', rolePermission, async (request) => {
      await propose(grantChange('role-grant', request));
      return {};
    }),
    RoleRevokePermission: change<RolePermission>('RoleRevokePermission', rolePermission, async (request) => {
      await propose(grantChange('role-revoke', request));
      return {};
    }),
    RoleList: adminCall(deps, {
      name: 'RoleList',
      access: rootOnly(authenticator, 'RoleList', () => 'roles'),
      handler: async () => ({ roles: auth.roles() }),
    }),
  };
}
