// Who is calling, and what it may do (docs/design.md, "Security"). With auth disabled every call is allowed, as in
// etcd. With it enabled a call is authenticated by a login token (`authorization: Bearer ...`, checked against the
// replicated auth state: signature, expiry and the user's revision), or else by a verified client certificate
// whose CN names a user; a node certificate (serverAuth) never stands for a user. Every refusal is counted and
// written to the audit trail.
import type { PeerCertificate } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AuthState } from '../auth/auth-state.js';
import type { Permission } from '../auth/names.js';
import { DECOY_PASSWORD_HASH, passwordMatches } from '../auth/passwords.js';
import { AUTH_TOKEN_TTL_MS, issueToken, readToken } from '../auth/tokens.js';
import { audit } from '../security/audit.js';
import { SERVER_AUTH_OID } from '../security/certificates.js';
import type { Clock } from '../util/clock.js';
import { AuthNotEnabledError, PermissionDeniedError, UnauthenticatedError } from './errors.js';
import type { ServerMetrics } from './metrics.js';

/** The metadata key a token travels in, as `Bearer TOKEN` (the HTTP header's name and form). */
export const AUTHORIZATION_METADATA = 'authorization';

/** What of a gRPC call carries the caller's credentials (a unary call, a stream, or a Sessions call of channels). */
export interface CredentialCarrier {
  readonly metadata: grpc.Metadata;
  getAuthContext(): ReturnType<grpc.ServerUnaryCall<unknown, unknown>['getAuthContext']>;
  getPeer(): string;
}

/**
 * A call's credentials as any transport presents them (gRPC metadata and TLS, or an HTTP request): the same rules
 * then authenticate both.
 */
export interface PresentedCredentials {
  /** The `authorization` value (`Bearer TOKEN`), or null. */
  readonly authorization: string | null;
  /** The client's certificate, present only when its TLS handshake verified it against the cluster CA. */
  readonly verifiedCertificate: PeerCertificate | undefined;
  /** The caller's address, for the audit trail of a caller with no identity. */
  readonly peer: string;
}

/** Who is calling. */
export interface Caller {
  /** The authenticated user; null when the call was accepted with auth disabled. */
  readonly user: string | null;
  /** The user's revision when it was authenticated: a later change to the user ends this caller. */
  readonly revision: number;
  /** How the audit trail names it: `user:NAME`, `cn:NAME` or `anonymous@ADDRESS`. */
  readonly identity: string;
}

/** A token just issued by a login. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

/** What the authenticator reads and reports to. */
export interface AuthenticatorDeps {
  /** The replicated auth state (the lock state machine's). */
  readonly auth: AuthState;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: ServerMetrics;
  /** How long a login token lives (`forelock serve --auth-token-ttl`); default AUTH_TOKEN_TTL_MS. */
  readonly tokenTtlMs?: number;
}

/** The credentials a gRPC call carries: its `authorization` metadata and its verified client certificate. */
export function credentialsOf(call: CredentialCarrier): PresentedCredentials {
  const authorization = call.metadata.get(AUTHORIZATION_METADATA)[0];
  return {
    authorization: typeof authorization === 'string' ? authorization : null,
    verifiedCertificate: call.getAuthContext().sslPeerCertificate,
    peer: call.getPeer(),
  };
}

/** The token in an `authorization` value (`Bearer TOKEN`, the scheme in any case as RFC 6750 allows), or null. */
function bearerToken(authorization: string | null): string | null {
  if (authorization === null) return null;
  const scheme = /^bearer\s+/i.exec(authorization);
  return authorization.slice(scheme === null ? 0 : scheme[0].length).trim();
}

/** The CN of a verified certificate, or null. */
function commonNameOf(cert: PeerCertificate | undefined): string | null {
  const commonName = cert?.subject?.CN;
  return typeof commonName === 'string' && commonName !== '' ? commonName : null;
}

/** Whether `cert` is a node's (serverAuth): it speaks for a member, never for a user. */
function isNodeCertificate(cert: PeerCertificate | undefined): boolean {
  return (cert?.ext_key_usage ?? []).includes(SERVER_AUTH_OID);
}

/**
 * How the audit trail names a caller that is no authenticated user: `cn:NAME` (a client certificate), `node:NAME` (a
 * member's certificate: a follower forwarding a call while auth is disabled), else `anonymous@ADDRESS`.
 */
function unauthenticatedIdentity(credentials: PresentedCredentials): string {
  const name = commonNameOf(credentials.verifiedCertificate);
  if (name === null) return `anonymous@${credentials.peer}`;
  return isNodeCertificate(credentials.verifiedCertificate) ? `node:${name}` : `cn:${name}`;
}

/** Authenticates calls and checks their permissions against the replicated auth state. */
export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  /** Whether auth is enabled (calls are checked). */
  get enabled(): boolean {
    return this.deps.auth.enabled;
  }

  /**
   * The caller of `call`. With auth enabled: the token's user, or else the client certificate's; throws
   * UnauthenticatedError when neither holds (and audits it).
   */
  callerOf(call: CredentialCarrier, action: string): Caller {
    return this.callerPresenting(credentialsOf(call), action);
  }

  /** The caller presenting `credentials` (over gRPC or HTTP), as callerOf. */
  callerPresenting(credentials: PresentedCredentials, action: string): Caller {
    const certificate = credentials.verifiedCertificate;
    const certName = isNodeCertificate(certificate) ? null : commonNameOf(certificate);
    const anonymous = unauthenticatedIdentity(credentials);
    if (!this.enabled) return { user: null, revision: 0, identity: anonymous };
    const token = bearerToken(credentials.authorization);
    if (token !== null) {
      const { auth, clock } = this.deps;
      const reading = readToken(auth.tokenKey, token, clock.now());
      if ('problem' in reading) throw this.unauthenticated(anonymous, action, reading.problem);
      const { user, revision } = reading.claims;
      if (auth.userRevision(user) !== revision) {
        throw this.unauthenticated(
          `user:${user}`,
          action,
          'the token is no longer valid: its user was removed or changed; log in again',
        );
      }
      return { user, revision, identity: `user:${user}` };
    }
    if (certName !== null) {
      const revision = this.deps.auth.userRevision(certName);
      if (revision === undefined) {
        throw this.unauthenticated(anonymous, action, `the client certificate names "${certName}", which is no user`);
      }
      return { user: certName, revision, identity: anonymous };
    }
    throw this.unauthenticated(
      anonymous,
      action,
      'auth is enabled: log in (forelock login, FORELOCK_AUTH_TOKEN) or present a client certificate naming a user',
    );
  }

  /**
   * `caller` as it stands now, for a long-lived stream: unchanged while its user is; authenticated again from
   * `call` when it was accepted before auth was enabled. Throws UnauthenticatedError once its user was removed or
   * changed (a new password, another role), so a removed user is locked out at its next request or keepalive.
   */
  current(caller: Caller, call: CredentialCarrier, action: string): Caller {
    if (!this.enabled) return caller;
    if (caller.user === null) return this.callerOf(call, action);
    if (this.deps.auth.userRevision(caller.user) !== caller.revision) {
      throw this.unauthenticated(caller.identity, action, `user "${caller.user}" was removed or changed; log in again`);
    }
    return caller;
  }

  /** Throws PermissionDeniedError (audited) unless `caller` may do `permission` on lock `name`. */
  requirePermission(caller: Caller, action: string, permission: Permission, name: string): void {
    if (this.permits(caller, permission, name)) return;
    throw this.denied(caller, action, name, `${permission} permission on a prefix of "${name}"`);
  }

  /** Whether `caller` may do `permission` on lock `name` (always, with auth disabled). */
  permits(caller: Caller, permission: Permission, name: string): boolean {
    if (!this.enabled) return true;
    return caller.user !== null && this.deps.auth.permits(caller.user, permission, name);
  }

  /** Throws PermissionDeniedError (audited) unless `caller` has the root role (any caller, with auth disabled). */
  requireRoot(caller: Caller, action: string, target: string): void {
    if (!this.enabled || (caller.user !== null && this.deps.auth.isRoot(caller.user))) return;
    throw this.denied(caller, action, target, 'the root role');
  }

  /**
   * A token for `user` after checking `password` against its stored hash (off the event loop). A wrong password
   * and an unknown user are refused alike, in words and in time (a user without a hash is checked against a decoy at
   * the same cost: 4 ms against 106 ms told them apart), so a login does not tell which users exist.
   */
  async login(user: string, password: string, identity: string): Promise<IssuedToken> {
    const { auth } = this.deps;
    if (!auth.enabled) throw new AuthNotEnabledError();
    const hash = auth.passwordHashOf(user);
    const usable = hash !== undefined && hash !== '';
    const matches = (await passwordMatches(password, usable ? hash : DECOY_PASSWORD_HASH)) && usable;
    if (!matches) throw this.unauthenticated(identity, 'Login', 'wrong user name or password');
    return this.tokenFor(user);
  }

  /** A fresh token for `user` at its current revision (a login, or a call this node forwards to the leader). */
  tokenFor(user: string): IssuedToken {
    const { auth, clock } = this.deps;
    const revision = auth.userRevision(user);
    if (revision === undefined) throw new UnauthenticatedError(`user "${user}" does not exist`);
    const expiresAtMs = clock.now() + (this.deps.tokenTtlMs ?? AUTH_TOKEN_TTL_MS);
    return { token: issueToken(auth.tokenKey, { user, revision, expiresAtMs }), expiresAtMs };
  }

  private unauthenticated(identity: string, action: string, reason: string): UnauthenticatedError {
    this.deps.metrics?.authFailures.inc();
    audit(this.deps.log, { identity, action, target: '', result: 'UNAUTHENTICATED', reason });
    return new UnauthenticatedError(reason);
  }

  private denied(caller: Caller, action: string, target: string, lacking: string): PermissionDeniedError {
    this.deps.metrics?.authDenied.inc({ action });
    audit(this.deps.log, { identity: caller.identity, action, target, result: 'PERMISSION_DENIED' });
    return new PermissionDeniedError(
      `${caller.user === null ? 'this caller' : `user "${caller.user}"`} may not ${action} ${JSON.stringify(target)}: it needs ${lacking}`,
    );
  }
}
