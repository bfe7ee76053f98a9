// The SDK's login and renewal (src/client/auth-token.ts) on a manual clock with a fake login: it logs in before the
// first call, again once a token has lived 80% of its life, once more after an UNAUTHENTICATED answer, and never
// shows the password or the token.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { authorizationMetadata, holdTokenSource, type LoginResult, TokenSource } from '../../src/client/auth-token.js';
import { AuthNotEnabledError, InvalidArgumentError, UnauthenticatedError } from '../../src/client/errors.js';
import { ManualClock } from '../../src/util/clock.js';

const PASSWORD = 'correct horse battery staple';
const LIFE_MS = 600_000;

/** A login that issues token-1, token-2, ... living LIFE_MS on `clock`, and records each call. */
function fakeLogin(clock: ManualClock) {
  const calls: { user: string; password: string }[] = [];
  let refuse: Error | null = null;
  const login = async (user: string, password: string): Promise<LoginResult> => {
    calls.push({ user, password });
    if (refuse) throw refuse;
    return { token: `token-${calls.length}`, expiresAtMs: clock.now() + LIFE_MS };
  };
  return { calls, login, refuseWith: (error: Error) => (refuse = error) };
}

describe('TokenSource with a user and password', () => {
  it('logs in before the first call and reuses the token until 80% of its life has passed', async () => {
    const clock = new ManualClock(1_000_000);
    const { calls, login } = fakeLogin(clock);
    const tokens = new TokenSource({ user: 'alice', password: PASSWORD }, login, clock);
    expect(calls).toEqual([]);
    expect(await tokens.current()).toBe('token-1');
    expect(calls).toEqual([{ user: 'alice', password: PASSWORD }]);
    clock.advance(LIFE_MS * 0.8 - 1);
    expect(await tokens.current()).toBe('token-1');
    expect(calls).toHaveLength(1);
    clock.advance(1);
    expect(await tokens.current()).toBe('token-2');
    expect(calls).toHaveLength(2);
    // The renewed token's life counts from its own login.
    clock.advance(LIFE_MS * 0.8 - 1);
    expect(await tokens.current()).toBe('token-2');
    clock.advance(1);
    expect(await tokens.current()).toBe('token-3');
  });

  it('concurrent calls share one login', async () => {
    const clock = new ManualClock(0);
    const { calls, login } = fakeLogin(clock);
    const tokens = new TokenSource({ user: 'alice', password: PASSWORD }, login, clock);
    const answers = await Promise.all([tokens.current(), tokens.current(), tokens.current()]);
    expect(answers).toEqual(['token-1', 'token-1', 'token-1']);
    expect(calls).toHaveLength(1);
  });

  it("follows the node's token life (--auth-token-ttl): a 5 s token is renewed after 4 s", async () => {
    const clock = new ManualClock(0);
    let logins = 0;
    const tokens = new TokenSource(
      { user: 'alice', password: PASSWORD },
      async () => ({ token: `t${++logins}`, expiresAtMs: clock.now() + 5_000 }),
      clock,
    );
    expect(await tokens.current()).toBe('t1');
    clock.advance(3_999);
    expect(await tokens.current()).toBe('t1');
    clock.advance(1);
    expect(await tokens.current()).toBe('t2');
  });

  it('a node whose clock is far off gets the documented 10-minute life instead of its own', async () => {
    const clock = new ManualClock(5_000_000);
    let logins = 0;
    // Each token "expired" before it was asked for, by this clock.
    const tokens = new TokenSource(
      { user: 'alice', password: PASSWORD },
      async () => ({ token: `t${++logins}`, expiresAtMs: 1 }),
      clock,
    );
    expect(await tokens.current()).toBe('t1');
    clock.advance(480_000 - 1);
    expect(await tokens.current()).toBe('t1');
    clock.advance(1);
    expect(await tokens.current()).toBe('t2');
  });

  it('after a refusal: logs in again, unless a newer token is already there', async () => {
    const clock = new ManualClock(0);
    const { calls, login } = fakeLogin(clock);
    const tokens = new TokenSource({ user: 'alice', password: PASSWORD }, login, clock);
    expect(await tokens.current()).toBe('token-1');
    // Refusals of one token heard together: one login between them.
    expect(await Promise.all([tokens.renewAfterRefusal('token-1'), tokens.renewAfterRefusal('token-1')])).toEqual([
      true,
      true,
    ]);
    expect(await tokens.current()).toBe('token-2');
    expect(calls).toHaveLength(2);
    // A call still carrying token-1 when it is refused retries with the newer token, without a login.
    expect(await tokens.renewAfterRefusal('token-1')).toBe(true);
    expect(calls).toHaveLength(2);
    // A later refusal of the current token (its user changed meanwhile) logs in again.
    expect(await tokens.renewAfterRefusal('token-2')).toBe(true);
    expect(await tokens.current()).toBe('token-3');
  });

  it('a login refused after a refusal throws its error (a removed user, a changed password)', async () => {
    const clock = new ManualClock(0);
    const { login, refuseWith } = fakeLogin(clock);
    const tokens = new TokenSource({ user: 'alice', password: PASSWORD }, login, clock);
    await tokens.current();
    refuseWith(new UnauthenticatedError('wrong user name or password'));
    await expect(tokens.renewAfterRefusal('token-1')).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('sends no token while auth is disabled, and logs in once a call is refused as UNAUTHENTICATED', async () => {
    const clock = new ManualClock(0);
    let enabled = false;
    let logins = 0;
    const tokens = new TokenSource(
      { user: 'alice', password: PASSWORD },
      async () => {
        logins++;
        if (!enabled) throw new AuthNotEnabledError('auth is not enabled');
        return { token: 'after-enable', expiresAtMs: clock.now() + LIFE_MS };
      },
      clock,
    );
    expect(await tokens.current()).toBeNull();
    clock.advance(LIFE_MS * 5);
    expect(await tokens.current()).toBeNull();
    expect(logins).toBe(1);
    enabled = true;
    expect(await tokens.renewAfterRefusal(null)).toBe(true);
    expect(await tokens.current()).toBe('after-enable');
    expect(logins).toBe(2);
  });

  it('shows the user, never the password or the token', async () => {
    const clock = new ManualClock(0);
    const { login } = fakeLogin(clock);
    const tokens = new TokenSource({ user: 'alice', password: PASSWORD }, login, clock);
    const token = await tokens.current();
    for (const shown of [
      inspect(tokens, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      inspect(tokens, { depth: Number.POSITIVE_INFINITY, showHidden: true, customInspect: false }),
      JSON.stringify(tokens),
      JSON.stringify({ nested: tokens }),
    ]) {
      expect(shown).toContain('alice');
      expect(shown).not.toContain(PASSWORD);
      expect(shown).not.toContain(token);
    }
  });
});

describe('TokenSource with a given token', () => {
  it('sends it as is, never logs in, and gives up on a refusal', async () => {
    const clock = new ManualClock(0);
    const { calls, login } = fakeLogin(clock);
    const tokens = new TokenSource({ token: 'fl1.given.mac' }, login, clock);
    clock.advance(LIFE_MS * 10);
    expect(await tokens.current()).toBe('fl1.given.mac');
    expect(await tokens.renewAfterRefusal('fl1.given.mac')).toBe(false);
    expect(calls).toEqual([]);
    expect(inspect(tokens)).not.toContain('fl1.given.mac');
  });

  it.each([[{ token: '' }], [{ user: '', password: 'x' }], [{ user: 'alice', password: '' }], [null]])(
    'refuses %j',
    (auth) => {
      expect(() => new TokenSource(auth as never, fakeLogin(new ManualClock(0)).login, new ManualClock(0))).toThrow(
        InvalidArgumentError,
      );
    },
  );
});

describe('authorizationMetadata', () => {
  it('carries the token as a bearer token, and nothing without one', () => {
    expect(authorizationMetadata('abc').get('authorization')).toEqual(['Bearer abc']);
    expect(authorizationMetadata(null).get('authorization')).toEqual([]);
  });
});

describe('holdTokenSource', () => {
  /** A factory of login clients that records what it made and closed. */
  function loginClients(clock: ManualClock) {
    const made = { count: 0, closed: 0 };
    const make = () => {
      made.count++;
      return { login: fakeLogin(clock).login, close: () => made.closed++ };
    };
    return { made, make };
  }
  const unusedLogin = async (): Promise<LoginResult> => {
    throw new Error('the shared login client logs in');
  };

  it('clients of one cluster with the same user and password share one source and one login', async () => {
    const clock = new ManualClock(0);
    const { made, make } = loginClients(clock);
    const auth = { user: 'alice', password: PASSWORD };
    const first = holdTokenSource(auth, 'cluster-a', unusedLogin, make, clock);
    const second = holdTokenSource({ ...auth }, 'cluster-a', unusedLogin, make, clock);
    expect(second.tokens).toBe(first.tokens);
    expect(await second.tokens.current()).toBe(await first.tokens.current());
    expect(made.count).toBe(1);
    // Another password, user or cluster: a source of its own.
    const others = [
      holdTokenSource({ user: 'alice', password: 'other' }, 'cluster-a', unusedLogin, make, clock),
      holdTokenSource({ user: 'bob', password: PASSWORD }, 'cluster-a', unusedLogin, make, clock),
      holdTokenSource(auth, 'cluster-b', unusedLogin, make, clock),
    ];
    expect(new Set([first.tokens, ...others.map((held) => held.tokens)]).size).toBe(4);
    // The login client closes with the last holder.
    first.release();
    first.release();
    expect(made.closed).toBe(0);
    second.release();
    expect(made.closed).toBe(1);
    for (const held of others) held.release();
    expect(made.closed).toBe(4);
  });

  it('a token, or no scope, is never shared', () => {
    const clock = new ManualClock(0);
    const { made, make } = loginClients(clock);
    const a = holdTokenSource({ token: 't' }, 'cluster-a', unusedLogin, make, clock);
    const b = holdTokenSource({ token: 't' }, 'cluster-a', unusedLogin, make, clock);
    const c = holdTokenSource({ user: 'alice', password: PASSWORD }, null, unusedLogin, make, clock);
    const d = holdTokenSource({ user: 'alice', password: PASSWORD }, null, unusedLogin, make, clock);
    expect(a.tokens).not.toBe(b.tokens);
    expect(c.tokens).not.toBe(d.tokens);
    expect(made.count).toBe(0);
  });
});
