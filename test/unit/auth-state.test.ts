// The replicated auth state: users, roles and permissions change only through 'auth' commands, refusals change
// nothing, the last root user is kept while auth is on, and a snapshot carries everything. A fast-check property
// feeds random changes and checks the permission answer against a plain model of the rules.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AuthChange, AuthState } from '../../src/auth/auth-state.js';
import { PERMISSIONS, type Permission } from '../../src/auth/names.js';
import { LockStateMachine } from '../../src/lock/state-machine.js';

const HASH = 'scrypt$16384$8$1$c2FsdA$aGFzaA';
const KEY = 'ab'.repeat(32);

function applied(state: AuthState, ...changes: AuthChange[]): void {
  for (const change of changes) expect(state.apply(change)).toEqual({ status: 'ok' });
}

describe('AuthState', () => {
  it('refuses to enable before a user has the root role, and enables once one has', () => {
    const state = new AuthState();
    expect(state.apply({ op: 'enable', tokenKey: KEY })).toMatchObject({ status: 'error', code: 'NO_ROOT_USER' });
    expect(state.enabled).toBe(false);
    applied(
      state,
      { op: 'user-add', user: 'admin', passwordHash: HASH },
      { op: 'user-grant', user: 'admin', role: 'root' },
    );
    applied(state, { op: 'enable', tokenKey: KEY });
    expect(state.enabled).toBe(true);
    expect(state.tokenKey).toBe(KEY);
  });

  it('grants by prefix: lock on jobs/ covers jobs/a, not other/a, and not read', () => {
    const state = new AuthState();
    applied(
      state,
      { op: 'user-add', user: 'alice', passwordHash: HASH },
      { op: 'role-add', role: 'jobs' },
      { op: 'role-grant', role: 'jobs', permission: 'lock', prefix: 'jobs/' },
      { op: 'user-grant', user: 'alice', role: 'jobs' },
    );
    expect(state.permits('alice', 'lock', 'jobs/a')).toBe(true);
    expect(state.permits('alice', 'lock', 'other/a')).toBe(false);
    expect(state.permits('alice', 'read', 'jobs/a')).toBe(false);
    expect(state.permits('alice', 'revoke', 'jobs/a')).toBe(false);
    expect(state.permits('nobody', 'lock', 'jobs/a')).toBe(false);
    applied(state, { op: 'role-revoke', role: 'jobs', permission: 'lock', prefix: 'jobs/' });
    expect(state.permits('alice', 'lock', 'jobs/a')).toBe(false);
  });

  it('root may do everything on every name', () => {
    const state = new AuthState();
    applied(
      state,
      { op: 'user-add', user: 'admin', passwordHash: '' },
      { op: 'user-grant', user: 'admin', role: 'root' },
    );
    for (const permission of PERMISSIONS) expect(state.permits('admin', permission, 'any/name')).toBe(true);
    expect(state.isRoot('admin')).toBe(true);
  });

  it('moves a user to a new revision on every change, and never reuses one after a removal', () => {
    const state = new AuthState();
    applied(state, { op: 'user-add', user: 'bob', passwordHash: HASH });
    const first = state.userRevision('bob')!;
    applied(state, { op: 'user-passwd', user: 'bob', passwordHash: HASH });
    const second = state.userRevision('bob')!;
    expect(second).toBeGreaterThan(first);
    applied(state, { op: 'user-remove', user: 'bob' }, { op: 'user-add', user: 'bob', passwordHash: HASH });
    expect(state.userRevision('bob')!).toBeGreaterThan(second);
  });

  it('keeps the last root user while auth is on', () => {
    const state = new AuthState();
    applied(
      state,
      { op: 'user-add', user: 'admin', passwordHash: HASH },
      { op: 'user-grant', user: 'admin', role: 'root' },
      { op: 'enable', tokenKey: KEY },
    );
    expect(state.apply({ op: 'user-remove', user: 'admin' })).toMatchObject({ code: 'NO_ROOT_USER' });
    expect(state.apply({ op: 'user-revoke', user: 'admin', role: 'root' })).toMatchObject({ code: 'NO_ROOT_USER' });
    expect(state.isRoot('admin')).toBe(true);
    applied(state, { op: 'disable' }, { op: 'user-remove', user: 'admin' });
    expect(state.users()).toEqual([]);
  });

  it('refuses bad input with a clear error and changes nothing', () => {
    const state = new AuthState();
    applied(state, { op: 'user-add', user: 'alice', passwordHash: HASH }, { op: 'role-add', role: 'ops' });
    const before = JSON.stringify(state.toData());
    const refusals: [AuthChange, string][] = [
      [{ op: 'user-add', user: '', passwordHash: HASH }, 'INVALID_ARGUMENT'],
      [{ op: 'user-add', user: 'bad name', passwordHash: HASH }, 'INVALID_ARGUMENT'],
      [{ op: 'user-add', user: 'x'.repeat(65), passwordHash: HASH }, 'INVALID_ARGUMENT'],
      [{ op: 'user-add', user: 'alice', passwordHash: HASH }, 'ALREADY_EXISTS'],
      [{ op: 'user-add', user: 'carol', passwordHash: 'plain-text' }, 'INVALID_ARGUMENT'],
      [{ op: 'user-grant', user: 'alice', role: 'nope' }, 'ROLE_NOT_FOUND'],
      [{ op: 'user-grant', user: 'ghost', role: 'ops' }, 'USER_NOT_FOUND'],
      [{ op: 'user-revoke', user: 'alice', role: 'ops' }, 'ROLE_NOT_FOUND'],
      [{ op: 'user-remove', user: 'ghost' }, 'USER_NOT_FOUND'],
      [{ op: 'role-add', role: 'ops' }, 'ALREADY_EXISTS'],
      [{ op: 'role-add', role: 'root' }, 'ALREADY_EXISTS'],
      [{ op: 'role-remove', role: 'root' }, 'INVALID_ARGUMENT'],
      [{ op: 'role-grant', role: 'root', permission: 'lock', prefix: '' }, 'INVALID_ARGUMENT'],
      [{ op: 'role-grant', role: 'ops', permission: 'write' as Permission, prefix: '' }, 'INVALID_ARGUMENT'],
      [{ op: 'role-grant', role: 'ops', permission: 'lock', prefix: 'p'.repeat(513) }, 'INVALID_ARGUMENT'],
      [{ op: 'role-revoke', role: 'ops', permission: 'lock', prefix: 'never-granted/' }, 'INVALID_ARGUMENT'],
      [{ op: 'role-remove', role: 'ghost' }, 'ROLE_NOT_FOUND'],
      [{ op: 'enable', tokenKey: 'short' }, 'INVALID_ARGUMENT'],
      [{ op: 'bogus' } as unknown as AuthChange, 'INVALID_ARGUMENT'],
    ];
    for (const [change, code] of refusals) {
      const result = state.apply(change);
      expect(result, JSON.stringify(change)).toMatchObject({ status: 'error', code });
      expect((result as { message: string }).message.length).toBeGreaterThan(10);
    }
    expect(JSON.stringify(state.toData())).toBe(before);
  });

  it('removing a role takes it from its users', () => {
    const state = new AuthState();
    applied(
      state,
      { op: 'user-add', user: 'alice', passwordHash: HASH },
      { op: 'role-add', role: 'ops' },
      { op: 'role-grant', role: 'ops', permission: 'read', prefix: '' },
      { op: 'user-grant', user: 'alice', role: 'ops' },
      { op: 'role-remove', role: 'ops' },
    );
    expect(state.user('alice')!.roles).toEqual([]);
    expect(state.permits('alice', 'read', 'x')).toBe(false);
  });

  it('is replicated by the lock state machine and kept in its snapshots; older snapshots restore with auth off', () => {
    const machine = new LockStateMachine();
    const changes: AuthChange[] = [
      { op: 'user-add', user: 'admin', passwordHash: HASH },
      { op: 'user-grant', user: 'admin', role: 'root' },
      { op: 'role-add', role: 'jobs' },
      { op: 'role-grant', role: 'jobs', permission: 'lock', prefix: 'jobs/' },
      { op: 'enable', tokenKey: KEY },
    ];
    for (const change of changes) {
      expect(machine.applyEntry({ atMs: 1, command: { type: 'auth', change } })).toEqual({ status: 'ok' });
    }
    const restored = new LockStateMachine();
    restored.restore(machine.snapshot());
    expect(restored.auth.toData()).toEqual(machine.auth.toData());
    expect(restored.auth.enabled).toBe(true);
    expect(restored.auth.permits('admin', 'revoke', 'x')).toBe(true);
    // A snapshot written before auth existed has no `auth` field.
    const legacy = new AuthState();
    legacy.restore(undefined);
    expect(legacy.enabled).toBe(false);
    expect(legacy.users()).toEqual([]);
  });
});

/** The permission rule in its plainest form, from the data alone. */
function modelPermits(state: AuthState, user: string, permission: Permission, name: string): boolean {
  const data = state.toData();
  const record = data.users.find((each) => each.name === user);
  if (!record) return false;
  if (record.roles.includes('root')) return true;
  return record.roles.some((roleName) =>
    data.roles
      .find((role) => role.name === roleName)
      ?.grants.some((grant) => grant.permission === permission && name.startsWith(grant.prefix)),
  );
}

describe('AuthState property', () => {
  const users = fc.constantFrom('alice', 'bob', 'carol', '', 'bad name', 'x'.repeat(70));
  const roles = fc.constantFrom('root', 'jobs', 'ops', 'nope', '', 'bad/role');
  const permissions = fc.constantFrom<Permission>('lock', 'read', 'revoke', 'write' as Permission);
  const prefixes = fc.constantFrom('', 'jobs/', 'jobs/a', 'other/');
  const change: fc.Arbitrary<AuthChange> = fc.oneof(
    fc.record({ op: fc.constant('user-add' as const), user: users, passwordHash: fc.constantFrom(HASH, '', 'bad') }),
    fc.record({ op: fc.constant('user-passwd' as const), user: users, passwordHash: fc.constantFrom(HASH, 'bad') }),
    fc.record({ op: fc.constant('user-remove' as const), user: users }),
    fc.record({ op: fc.constant('user-grant' as const), user: users, role: roles }),
    fc.record({ op: fc.constant('user-revoke' as const), user: users, role: roles }),
    fc.record({ op: fc.constant('role-add' as const), role: roles }),
    fc.record({ op: fc.constant('role-remove' as const), role: roles }),
    fc.record({
      op: fc.constantFrom('role-grant' as const, 'role-revoke' as const),
      role: roles,
      permission: permissions,
      prefix: fc.oneof(prefixes, fc.string({ maxLength: 8 })),
    }),
    fc.record({ op: fc.constant('enable' as const), tokenKey: fc.constantFrom(KEY, 'zz') }),
    fc.record({ op: fc.constant('disable' as const) }),
  );

  it('answers permissions as the plain rule does, keeps a root user while enabled, and a refusal changes nothing', () => {
    fc.assert(
      fc.property(
        fc.array(change, { maxLength: 40 }),
        fc.array(fc.tuple(users, permissions, fc.constantFrom('jobs/a', 'jobs/b', 'other/a', 'x')), { maxLength: 10 }),
        (changes, questions) => {
          const state = new AuthState();
          for (const each of changes) {
            const before = JSON.stringify(state.toData());
            const result = state.apply(each);
            if (result.status === 'error') expect(JSON.stringify(state.toData())).toBe(before);
            if (state.enabled) expect(state.users().some((user) => user.roles.includes('root'))).toBe(true);
          }
          for (const [user, permission, name] of questions) {
            expect(state.permits(user, permission, name)).toBe(modelPermits(state, user, permission, name));
          }
          const copy = new AuthState();
          copy.restore(state.toData());
          expect(copy.toData()).toEqual(state.toData());
        },
      ),
      { numRuns: 300, seed: 20261207 },
    );
  });
});
