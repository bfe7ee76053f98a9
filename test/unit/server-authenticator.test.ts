// Authentication and permission checks on the replicated auth state: tokens (signature, expiry, revision, size,
// format), client certificates (a node's never stands for a user), logins (a wrong password and an unknown user look
// alike), and every refusal counted and written to the audit trail. A fast-check property feeds random tokens.
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AuthState } from '../../src/auth/auth-state.js';
import { DECOY_PASSWORD_HASH, hashPassword, passwordMatches } from '../../src/auth/passwords.js';
import { AUTH_TOKEN_TTL_MS, issueToken, MAX_TOKEN_LENGTH } from '../../src/auth/tokens.js';
import { SERVER_AUTH_OID } from '../../src/security/certificates.js';
import { Authenticator, type CredentialCarrier } from '../../src/server/authenticator.js';
import { ManualClock } from '../../src/util/clock.js';
import { testServerMetrics } from './test-server-metrics.js';

const KEY = 'cd'.repeat(32);
const T0 = 1_800_000_000_000;

function call(
  options: { token?: string; cn?: string; node?: boolean } = {},
): CredentialCarrier & { metadata: grpc.Metadata } {
  const metadata = new grpc.Metadata();
  if (options.token !== undefined) metadata.set('authorization', `Bearer ${options.token}`);
  const cert =
    options.cn === undefined
      ? undefined
      : { subject: { CN: options.cn }, ext_key_usage: options.node ? [SERVER_AUTH_OID] : ['1.3.6.1.5.5.7.3.2'] };
  return {
    metadata,
    getAuthContext: () => ({ sslPeerCertificate: cert }) as never,
    getPeer: () => '127.0.0.1:5555',
  };
}

async function setup() {
  const clock = new ManualClock(T0);
  const auth = new AuthState();
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const metrics = testServerMetrics();
  const hash = await hashPassword('s3cret-pass');
  for (const change of [
    { op: 'user-add', user: 'admin', passwordHash: hash },
    { op: 'user-grant', user: 'admin', role: 'root' },
    { op: 'user-add', user: 'alice', passwordHash: hash },
    { op: 'user-add', user: 'certonly', passwordHash: '' },
    { op: 'role-add', role: 'jobs' },
    { op: 'role-grant', role: 'jobs', permission: 'lock', prefix: 'jobs/' },
    { op: 'user-grant', user: 'alice', role: 'jobs' },
    { op: 'enable', tokenKey: KEY },
  ] as const) {
    expect(auth.apply(change)).toEqual({ status: 'ok' });
  }
  const authenticator = new Authenticator({ auth, clock, log, metrics });
  const audits = () => lines.filter((line) => line.msg === 'audit').map((line) => line.audit);
  const count = async (name: string) =>
    (await metrics.registry.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#'));
  return { clock, auth, authenticator, audits, count, metrics };
}

describe('Authenticator', () => {
  it('allows every call while auth is disabled', () => {
    const authenticator = new Authenticator({
      auth: new AuthState(),
      clock: new ManualClock(T0),
      log: pino({ level: 'silent' }),
    });
    const caller = authenticator.callerOf(call(), 'Status');
    expect(caller.user).toBeNull();
    expect(() => authenticator.requireRoot(caller, 'AddMember', 'n4')).not.toThrow();
    expect(authenticator.permits(caller, 'lock', 'anything')).toBe(true);
  });

  it('logs in with the right password only; a wrong password and an unknown user are refused alike', async () => {
    const { authenticator, audits } = await setup();
    const issued = await authenticator.login('alice', 's3cret-pass', 'anonymous@x');
    expect(issued.expiresAtMs).toBe(T0 + AUTH_TOKEN_TTL_MS);
    expect(authenticator.callerOf(call({ token: issued.token }), 'Status').user).toBe('alice');
    const wrong = await authenticator.login('alice', 'nope', 'anonymous@x').catch((e: Error) => e);
    const unknown = await authenticator.login('ghost', 's3cret-pass', 'anonymous@x').catch((e: Error) => e);
    const noPassword = await authenticator.login('certonly', '', 'anonymous@x').catch((e: Error) => e);
    for (const error of [wrong, unknown, noPassword]) {
      expect(error).toMatchObject({ code: 'UNAUTHENTICATED', message: 'wrong user name or password' });
    }
    expect(audits().filter((a) => (a as { result: string }).result === 'UNAUTHENTICATED')).toHaveLength(3);
  });

  it('checks a login for a user without a hash against a decoy of the same cost, which no password matches', async () => {
    const real = (await hashPassword('s3cret-pass')).split('$');
    const decoy = DECOY_PASSWORD_HASH.split('$');
    // Same scheme and cost parameters (N, r, p), and salt and key of the same sizes: the check costs the same.
    expect(decoy.slice(0, 4)).toEqual(real.slice(0, 4));
    expect(decoy.slice(4).map((part) => part.length)).toEqual(real.slice(4).map((part) => part.length));
    for (const password of ['', 's3cret-pass', 'x'.repeat(64)]) {
      expect(await passwordMatches(password, DECOY_PASSWORD_HASH)).toBe(false);
    }
  });

  it('issues tokens that live as long as the node was told (--auth-token-ttl), and no longer', async () => {
    const { auth, clock } = await setup();
    const authenticator = new Authenticator({ auth, clock, log: pino({ level: 'silent' }), tokenTtlMs: 5_000 });
    const issued = await authenticator.login('alice', 's3cret-pass', 'anonymous@x');
    expect(issued.expiresAtMs).toBe(T0 + 5_000);
    clock.advance(4_999);
    expect(authenticator.callerOf(call({ token: issued.token }), 'Status').user).toBe('alice');
    clock.advance(1);
    expect(() => authenticator.callerOf(call({ token: issued.token }), 'Status')).toThrow(/expired/);
  });

  it('authenticates credentials presented over HTTP by the same rules as a gRPC call', async () => {
    const { authenticator } = await setup();
    const { token } = authenticator.tokenFor('alice');
    const presented = (authorization: string | null, cn?: string, node = false) => ({
      authorization,
      verifiedCertificate:
        cn === undefined
          ? undefined
          : ({ subject: { CN: cn }, ext_key_usage: node ? [SERVER_AUTH_OID] : ['1.3.6.1.5.5.7.3.2'] } as never),
      peer: '127.0.0.1:6000',
    });
    expect(authenticator.callerPresenting(presented(`Bearer ${token}`), 'GET /v1/locks')).toMatchObject({
      user: 'alice',
      identity: 'user:alice',
    });
    expect(authenticator.callerPresenting(presented(`bearer  ${token}`), 'GET /v1/locks').user).toBe('alice');
    expect(authenticator.callerPresenting(presented(null, 'admin'), 'GET /v1/locks').user).toBe('admin');
    expect(() => authenticator.callerPresenting(presented(null, 'node1', true), 'GET /v1/locks')).toThrow(
      /auth is enabled/,
    );
    expect(() => authenticator.callerPresenting(presented(`Basic ${token}`), 'GET /v1/locks')).toThrow(/malformed/);
    expect(() => authenticator.callerPresenting(presented(null), 'GET /v1/locks')).toThrow(/auth is enabled/);
  });

  it('refuses expired, forged, malformed, oversized and stale tokens, and counts each', async () => {
    const { authenticator, clock, auth, count } = await setup();
    const { token } = authenticator.tokenFor('alice');
    const refusals: [string, RegExp][] = [
      ['garbage', /malformed/],
      ['fl1.e30.AAAA', /not issued by this cluster/],
      [
        issueToken('ee'.repeat(32), { user: 'alice', revision: auth.userRevision('alice')!, expiresAtMs: T0 + 1e6 }),
        /not issued/,
      ],
      ['x'.repeat(MAX_TOKEN_LENGTH + 1), /longer than/],
      [issueToken(KEY, { user: 'alice', revision: 0, expiresAtMs: T0 + 1e6 }), /no longer valid/],
      [issueToken(KEY, { user: 'ghost', revision: 1, expiresAtMs: T0 + 1e6 }), /no longer valid/],
    ];
    for (const [bad, message] of refusals) {
      expect(() => authenticator.callerOf(call({ token: bad }), 'Status')).toThrow(message);
    }
    clock.advance(AUTH_TOKEN_TTL_MS);
    expect(() => authenticator.callerOf(call({ token }), 'Status')).toThrow(/expired/);
    expect(await count('forelock_auth_failures_total')).toEqual(['forelock_auth_failures_total 7']);
  });

  it('ends a token when its user changes password or is removed, and all tokens when auth is enabled again', async () => {
    const { authenticator, auth } = await setup();
    const first = authenticator.tokenFor('alice').token;
    const caller = authenticator.callerOf(call({ token: first }), 'Status');
    expect(auth.apply({ op: 'user-passwd', user: 'alice', passwordHash: auth.passwordHashOf('admin')! })).toEqual({
      status: 'ok',
    });
    expect(() => authenticator.callerOf(call({ token: first }), 'Status')).toThrow(/removed or changed/);
    // A stream authenticated before the change is locked out at its next frame.
    expect(() => authenticator.current(caller, call({ token: first }), 'keepalive')).toThrow(/removed or changed/);
    const second = authenticator.tokenFor('alice').token;
    expect(auth.apply({ op: 'disable' })).toEqual({ status: 'ok' });
    expect(auth.apply({ op: 'enable', tokenKey: 'ef'.repeat(32) })).toEqual({ status: 'ok' });
    expect(() => authenticator.callerOf(call({ token: second }), 'Status')).toThrow(/not issued by this cluster/);
  });

  it('takes a client certificate CN as the user, never a node certificate, and never an unknown name', async () => {
    const { authenticator } = await setup();
    expect(authenticator.callerOf(call({ cn: 'certonly' }), 'Status')).toMatchObject({
      user: 'certonly',
      identity: 'cn:certonly',
    });
    expect(() => authenticator.callerOf(call({ cn: 'admin', node: true }), 'Status')).toThrow(/auth is enabled/);
    expect(() => authenticator.callerOf(call({ cn: 'stranger' }), 'Status')).toThrow(/which is no user/);
    expect(() => authenticator.callerOf(call(), 'Status')).toThrow(/auth is enabled/);
  });

  it('denies what a role lacks, naming the permission, and audits and counts each denial', async () => {
    const { authenticator, audits, count } = await setup();
    const alice = authenticator.callerOf(call({ token: authenticator.tokenFor('alice').token }), 'Status');
    expect(() => authenticator.requirePermission(alice, 'acquire', 'lock', 'jobs/a')).not.toThrow();
    expect(() => authenticator.requirePermission(alice, 'acquire', 'lock', 'other/a')).toThrow(
      'user "alice" may not acquire "other/a": it needs lock permission on a prefix of "other/a"',
    );
    expect(() => authenticator.requirePermission(alice, 'Revoke', 'revoke', 'jobs/a')).toThrow(
      /PERMISSION|needs revoke/,
    );
    expect(() => authenticator.requireRoot(alice, 'AddMember', 'n4')).toThrow(/needs the root role/);
    const admin = authenticator.callerOf(call({ token: authenticator.tokenFor('admin').token }), 'Status');
    expect(() => authenticator.requireRoot(admin, 'AddMember', 'n4')).not.toThrow();
    expect(audits()).toEqual([
      { identity: 'user:alice', action: 'acquire', target: 'other/a', result: 'PERMISSION_DENIED' },
      { identity: 'user:alice', action: 'Revoke', target: 'jobs/a', result: 'PERMISSION_DENIED' },
      { identity: 'user:alice', action: 'AddMember', target: 'n4', result: 'PERMISSION_DENIED' },
    ]);
    expect(await count('forelock_auth_denied_total')).toEqual([
      'forelock_auth_denied_total{action="acquire"} 1',
      'forelock_auth_denied_total{action="Revoke"} 1',
      'forelock_auth_denied_total{action="AddMember"} 1',
    ]);
  });

  it('property: any random token or header is refused with UNAUTHENTICATED, never a throw of another kind', async () => {
    const { authenticator } = await setup();
    const valid = authenticator.tokenFor('alice').token;
    const mutated = fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.string({ minLength: 1, maxLength: 1 }))
      .map(([at, char]) => valid.slice(0, at) + char + valid.slice(at + 1))
      .filter((token) => token !== valid);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 2000 }), mutated), (token) => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', token);
        try {
          authenticator.callerOf({ ...call(), metadata }, 'Status');
          return false;
        } catch (error) {
          return (error as { code?: string }).code === 'UNAUTHENTICATED';
        }
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});
