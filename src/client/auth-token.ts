// The SDK's credentials (docs/design.md, "Security"): the login token every call carries as `authorization: Bearer
// TOKEN` metadata. Given a user and password, it logs in before the first call, again once a token has lived 80% of
// its life (on the injected clock), and once more when a call is refused as UNAUTHENTICATED. While the cluster has
// auth disabled (the login answers AUTH_NOT_ENABLED) calls carry no token, as every call is allowed. The password and the
// token live in ES private fields, so util.inspect and JSON.stringify of an SDK object never show them (principle 8).
// The clients of one process with the same user, password and cluster share one source: one login, one token, and so
// one Sessions stream per node for all their sessions (stub-pool.ts).
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { AUTH_TOKEN_TTL_MS } from '../auth/tokens.js';
import type { Clock } from '../util/clock.js';
import { AuthNotEnabledError, InvalidArgumentError } from './errors.js';

/** How a client authenticates: a token from `forelock login`, or a user and password it logs in with (and renews). */
export type AuthOptions = { readonly token: string } | { readonly user: string; readonly password: string };

/** A token a login returned, and when it expires (the issuing node's epoch ms). */
export interface LoginResult {
  readonly token: string;
  readonly expiresAtMs: number;
}

/** How a TokenSource logs in (Admin.Login on any reachable node). */
export type LoginCall = (user: string, password: string) => Promise<LoginResult>;

/** The share of a token's life after which the next call logs in again first. */
export const RENEW_AT_LIFE_SHARE = 0.8;

/** The metadata key a token travels in (the server's AUTHORIZATION_METADATA). */
const AUTHORIZATION_METADATA = 'authorization';

/** Call metadata carrying `token` (`authorization: Bearer TOKEN`); empty metadata for no token. */
export function authorizationMetadata(token: string | null): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token !== null) metadata.set(AUTHORIZATION_METADATA, `Bearer ${token}`);
  return metadata;
}

/** `auth` checked: a non-empty token, or a user name and a password (thrown InvalidArgumentError otherwise). */
export function checkedAuth(auth: AuthOptions): AuthOptions {
  if (typeof auth !== 'object' || auth === null)
    throw new InvalidArgumentError('auth must be { token } or { user, password }');
  if ('token' in auth) {
    if (typeof auth.token !== 'string' || auth.token === '') {
      throw new InvalidArgumentError('auth.token must be a non-empty string (from forelock login)');
    }
    return auth;
  }
  if (typeof auth.user !== 'string' || auth.user === '' || typeof auth.password !== 'string' || auth.password === '') {
    throw new InvalidArgumentError('auth must be { token } or { user, password } with a non-empty user and password');
  }
  return auth;
}

/** The token a client's calls carry, logged in for and renewed when it was given a user and password. */
export class TokenSource {
  /** The user it logs in as; null when it was given a token. */
  readonly user: string | null;
  readonly #password: string | null;
  #token: string | null;
  /** Whether a login answered AUTH_NOT_ENABLED (calls carry no token until one is refused as UNAUTHENTICATED). */
  #authDisabled = false;
  /** When the next call logs in again first (the injected clock; never for a given token). */
  #renewAtMs = Number.POSITIVE_INFINITY;
  /** The login in flight: concurrent calls share it. */
  #login: Promise<string | null> | null = null;

  constructor(
    auth: AuthOptions,
    private readonly login: LoginCall,
    private readonly clock: Clock,
  ) {
    const checked = checkedAuth(auth);
    if ('token' in checked) {
      this.user = null;
      this.#password = null;
      this.#token = checked.token;
    } else {
      this.user = checked.user;
      this.#password = checked.password;
      this.#token = null;
    }
  }

  /**
   * The token to send now: logs in first when there is none yet or the current one has lived 80% of its life. Null
   * when the cluster said auth is disabled (the call needs none). A failed login throws its error.
   */
  async current(): Promise<string | null> {
    if (this.#authDisabled || (this.#token !== null && this.clock.now() < this.#renewAtMs)) return this.#token;
    return this.#loginOnce();
  }

  /**
   * After a call made with `refused` (current()'s answer) was answered UNAUTHENTICATED: true when the call may be
   * made again with current() (a newer token is there, or a new login gave one), false for a given token, which
   * cannot be renewed. A failed login throws its error (a wrong password, a removed user). Callers make a call once
   * more at most, so a token refused right after its login ends the call.
   */
  async renewAfterRefusal(refused: string | null): Promise<boolean> {
    if (this.#password === null) return false;
    if (this.#token !== null && this.#token !== refused) return true;
    this.#authDisabled = false;
    await this.#loginOnce();
    return true;
  }

  /** What JSON.stringify shows: the user, never the password or the token. */
  toJSON(): { user: string | null } {
    return { user: this.user };
  }

  /** What console.log and util.inspect show: the user, never the password or the token. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `TokenSource { user: ${this.user === null ? 'null (a given token)' : JSON.stringify(this.user)} }`;
  }

  #loginOnce(): Promise<string | null> {
    if (this.#password === null) return Promise.resolve(this.#token);
    this.#login ??= this.#logIn(this.user as string, this.#password).finally(() => {
      this.#login = null;
    });
    return this.#login;
  }

  async #logIn(user: string, password: string): Promise<string | null> {
    const sentAtMs = this.clock.now();
    let result: LoginResult;
    try {
      result = await this.login(user, password);
    } catch (error) {
      if (!(error instanceof AuthNotEnabledError)) throw error;
      this.#authDisabled = true;
      this.#token = null;
      return null;
    }
    const { token, expiresAtMs } = result;
    // The expiry is on the node's clock (its --auth-token-ttl sets the life): a life that has already passed by this
    // clock (clocks apart) is taken as the default one; a refusal after all is met by the login after a refusal.
    const reportedLifeMs = expiresAtMs - sentAtMs;
    const lifeMs = reportedLifeMs > 0 ? reportedLifeMs : AUTH_TOKEN_TTL_MS;
    this.#token = token;
    this.#renewAtMs = sentAtMs + lifeMs * RENEW_AT_LIFE_SHARE;
    return token;
  }
}

/** What a shared TokenSource logs in with: a client of its own, closed when its last holder lets go. */
export interface LoginClient {
  readonly login: LoginCall;
  close(): void;
}

interface SharedSource {
  readonly tokens: TokenSource;
  readonly client: LoginClient;
  holders: number;
}

const sharedSources = new Map<string, SharedSource>();

/** A TokenSource held by one client, and how that client gives it back. */
export interface HeldTokenSource {
  readonly tokens: TokenSource;
  release(): void;
}

/**
 * The TokenSource of a client authenticating with `auth` against the cluster `scope` names (its endpoints and TLS
 * identity; null: a source of its own). Clients with the same user, password and scope share one, which logs in with
 * the client `makeLoginClient` makes for it; a token or an unshared source logs in with `login`.
 */
export function holdTokenSource(
  auth: AuthOptions,
  scope: string | null,
  login: LoginCall,
  makeLoginClient: () => LoginClient,
  clock: Clock,
): HeldTokenSource {
  const checked = checkedAuth(auth);
  if ('token' in checked || scope === null)
    return { tokens: new TokenSource(checked, login, clock), release: () => {} };
  // The map's key holds a digest of the password, never the password itself.
  const digest = createHash('sha256').update(checked.password, 'utf8').digest('hex');
  const key = JSON.stringify([scope, checked.user, digest]);
  let shared = sharedSources.get(key);
  if (shared === undefined) {
    const client = makeLoginClient();
    shared = { tokens: new TokenSource(checked, client.login, clock), client, holders: 0 };
    sharedSources.set(key, shared);
  }
  shared.holders++;
  const entry = shared;
  let released = false;
  return {
    tokens: entry.tokens,
    release: () => {
      if (released) return;
      released = true;
      entry.holders--;
      if (entry.holders > 0) return;
      sharedSources.delete(key);
      entry.client.close();
    },
  };
}
