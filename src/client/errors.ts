// The SDK's typed errors (one class per failure, each with a stable `code` and `retriable`) and the ONE place that
// maps the server's RequestError codes and gRPC statuses to them (nats.js errors, kafkajs retriable flags).
import { status as GrpcStatus, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { type ErrorCode, ForelockError } from '../util/errors.js';

/** The node contacted is not the Raft leader; `leaderAddress` names the leader when it knows one. */
export class NotLeaderError extends ForelockError {
  constructor(
    message: string,
    readonly leaderAddress?: string,
    options?: { cause?: unknown },
  ) {
    super(message, 'NOT_LEADER', true, options);
  }
}

/** No endpoint could be reached (or none answered as leader) in time. */
export class UnavailableError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'UNAVAILABLE', true, options);
  }
}

/** A wait ran out (an acquire's `waitMs`, an admin call's deadline, a connect timeout). */
export class TimeoutError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'TIMEOUT', true, options);
  }
}

/** The caller aborted the operation through its `signal`. Named `AbortError` like the DOM's. */
export class AbortError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ABORTED', false, options);
  }
}

/** The request was malformed (lock name, TTL, mode, metadata size...); the message says what to fix. */
export class InvalidArgumentError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'INVALID_ARGUMENT', false, options);
  }
}

/** A try-lock (`waitMs: 0`) found the lock taken. */
export class LockBusyError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'LOCK_BUSY', true, options);
  }
}

/** This session already holds the lock (there is no silent re-entrancy). */
export class AlreadyHeldError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ALREADY_HELD', false, options);
  }
}

/** This session is already waiting for the lock. */
export class AlreadyWaitingError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ALREADY_WAITING', false, options);
  }
}

/** Waiting would close a cycle in the waits-for graph; the message names the cycle. */
export class DeadlockError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'DEADLOCK', false, options);
  }
}

/** The session does not hold the lock it tried to release. */
export class NotHeldError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'NOT_HELD', false, options);
  }
}

/** The token sent is not the lock's current one (a newer grant superseded it). */
export class StaleTokenError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'STALE_TOKEN', false, options);
  }
}

/** The lock has too many waiters already; retry later. */
export class TooManyWaitersError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'TOO_MANY_WAITERS', true, options);
  }
}

/** This client name has too many open sessions. */
export class TooManySessionsError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'TOO_MANY_SESSIONS', false, options);
  }
}

/** An admin call named a lock that does not exist. */
export class LockNotFoundError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'LOCK_NOT_FOUND', false, options);
  }
}

/**
 * The caller may not do this: a wrong session secret on resume, or with auth enabled a user lacking the permission
 * the message names (the server's words: the permission and the prefix it lacked).
 */
export class PermissionDeniedError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'PERMISSION_DENIED', false, options);
  }
}

/**
 * Auth is enabled and the call carried no valid credentials: none, a wrong password, an expired or forged token, a
 * removed or changed user. Log in (`connect({ auth: { user, password } })`, `forelock login`) or present a client
 * certificate naming a user.
 */
export class UnauthenticatedError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'UNAUTHENTICATED', false, options);
  }
}

/** A login while auth is disabled: every call is allowed without one (`forelock auth enable` turns auth on). */
export class AuthNotEnabledError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'AUTH_NOT_ENABLED', false, options);
  }
}

/** A user call named a user that does not exist; `forelock user list` shows them. */
export class UserNotFoundError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'USER_NOT_FOUND', false, options);
  }
}

/** A role call named a role that does not exist; `forelock role list` shows them. */
export class RoleNotFoundError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ROLE_NOT_FOUND', false, options);
  }
}

/** The user, role, grant or permission to add exists already. */
export class AlreadyExistsError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ALREADY_EXISTS', false, options);
  }
}

/** Auth cannot be enabled (or the last root user removed while it is) with no user holding the root role. */
export class NoRootUserError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'NO_ROOT_USER', false, options);
  }
}

/** Why a session ended, as the client learned it. */
export type SessionEndReason = 'expired' | 'closed' | 'not-found' | 'promise-passed';

/** The session is gone (expired, closed, unknown to the cluster, or its promise passed with no renewal). */
export class SessionExpiredError extends ForelockError {
  constructor(
    message: string,
    readonly reason: SessionEndReason,
    options?: { cause?: unknown },
  ) {
    super(message, 'SESSION_EXPIRED', false, options);
  }
}

/** Why a lock was lost. */
export type LockLossCause = 'revoked' | 'session-ended' | 'safe-period-passed' | 'not-resumed';

/** The lock is no longer held (revoked, its session ended, or its safe period passed without a renewal). */
export class LockLostError extends ForelockError {
  constructor(
    message: string,
    readonly lossCause: LockLossCause,
    options?: { cause?: unknown },
  ) {
    super(message, 'LOCK_LOST', false, options);
  }
}

/** The reason `lock.signal` carries after a normal `release()`. */
export class LockReleasedError extends ForelockError {
  constructor(message: string) {
    super(message, 'LOCK_RELEASED', false);
  }
}

/** A membership or leadership call named a member the cluster does not have; check the id with `status`. */
export class MemberNotFoundError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'MEMBER_NOT_FOUND', false, options);
  }
}

/**
 * The leader refused a membership change that would be unsafe now (a voter that could cost the quorum, a learner not
 * caught up, a removal leaving no quorum of started members); the message says why and what to do.
 */
export class MembershipChangeRefusedError extends ForelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'INVALID_CONF_CHANGE', false, options);
  }
}

/** The client was closed; create a new one with `connect()`. */
export class ClientClosedError extends ForelockError {
  constructor(message: string) {
    super(message, 'CLIENT_CLOSED', false);
  }
}

/** A server failure the SDK has no dedicated class for; `serverCode` is what the server sent. */
export class ServerError extends ForelockError {
  constructor(
    message: string,
    readonly serverCode: string,
    retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, 'SERVER_ERROR', retriable, options);
  }
}

type ErrorFactory = (message: string, cause: unknown) => ForelockError;

// The server's stable codes (src/lock/commands.ts LockErrorCode, plus the server's own) -> typed errors.
const BY_SERVER_CODE: Readonly<Record<string, ErrorFactory>> = {
  NOT_LEADER: (m, cause) => new NotLeaderError(m, undefined, { cause }),
  UNAVAILABLE: (m, cause) => new UnavailableError(m, { cause }),
  INVALID_ARGUMENT: (m, cause) => new InvalidArgumentError(m, { cause }),
  LOCK_BUSY: (m, cause) => new LockBusyError(m, { cause }),
  ALREADY_HELD: (m, cause) => new AlreadyHeldError(m, { cause }),
  ALREADY_WAITING: (m, cause) => new AlreadyWaitingError(m, { cause }),
  DEADLOCK: (m, cause) => new DeadlockError(m, { cause }),
  NOT_HELD: (m, cause) => new NotHeldError(m, { cause }),
  STALE_TOKEN: (m, cause) => new StaleTokenError(m, { cause }),
  TOO_MANY_WAITERS: (m, cause) => new TooManyWaitersError(m, { cause }),
  TOO_MANY_SESSIONS: (m, cause) => new TooManySessionsError(m, { cause }),
  LOCK_NOT_FOUND: (m, cause) => new LockNotFoundError(m, { cause }),
  TIMEOUT: (m, cause) => new TimeoutError(m, { cause }),
  PERMISSION_DENIED: (m, cause) => new PermissionDeniedError(m, { cause }),
  UNAUTHENTICATED: (m, cause) => new UnauthenticatedError(m, { cause }),
  AUTH_NOT_ENABLED: (m, cause) => new AuthNotEnabledError(m, { cause }),
  USER_NOT_FOUND: (m, cause) => new UserNotFoundError(m, { cause }),
  ROLE_NOT_FOUND: (m, cause) => new RoleNotFoundError(m, { cause }),
  ALREADY_EXISTS: (m, cause) => new AlreadyExistsError(m, { cause }),
  NO_ROOT_USER: (m, cause) => new NoRootUserError(m, { cause }),
  SESSION_NOT_FOUND: (m, cause) => new SessionExpiredError(m, 'not-found', { cause }),
  SESSION_EXPIRED: (m, cause) => new SessionExpiredError(m, 'expired', { cause }),
  MEMBER_NOT_FOUND: (m, cause) => new MemberNotFoundError(m, { cause }),
  INVALID_CONF_CHANGE: (m, cause) => new MembershipChangeRefusedError(m, { cause }),
} satisfies Partial<Record<ErrorCode, ErrorFactory>>;

/** A RequestError frame of the session stream (or any `{ code, message, retriable }`) as a typed error. */
export function errorFromServerCode(failure: { code: string; message: string; retriable?: boolean }): ForelockError {
  const factory = BY_SERVER_CODE[failure.code];
  if (factory) return factory(failure.message, failure);
  return new ServerError(`${failure.code}: ${failure.message}`, failure.code, failure.retriable ?? false, {
    cause: failure,
  });
}

// The metadata keys src/server/grpc-status.ts attaches to a refused call.
const CODE_METADATA_KEY = 'forelock-error-code';
const LEADER_ADDRESS_METADATA_KEY = 'forelock-leader-address';

function metadataValue(metadata: Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  return value === undefined || String(value) === '' ? undefined : String(value);
}

/** True when `err` looks like a gRPC call failure (`code` is a grpc status number). */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/** A failed gRPC call as a typed error: the server's stable code when it sent one we know, else the gRPC status. */
export function errorFromGrpc(err: ServiceError): ForelockError {
  const message = err.details || err.message;
  const serverCode = metadataValue(err.metadata, CODE_METADATA_KEY);
  if (serverCode === 'NOT_LEADER') {
    return new NotLeaderError(message, metadataValue(err.metadata, LEADER_ADDRESS_METADATA_KEY), { cause: err });
  }
  if (serverCode !== undefined && serverCode in BY_SERVER_CODE)
    return errorFromServerCode({ code: serverCode, message });
  switch (err.code) {
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.CANCELLED:
      return new UnavailableError(message, { cause: err });
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new TimeoutError(message, { cause: err });
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE:
      return new InvalidArgumentError(message, { cause: err });
    case GrpcStatus.NOT_FOUND:
      return new LockNotFoundError(message, { cause: err });
    case GrpcStatus.PERMISSION_DENIED:
      return new PermissionDeniedError(message, { cause: err });
    case GrpcStatus.UNAUTHENTICATED:
      return new UnauthenticatedError(message, { cause: err });
    default:
      return new ServerError(message, GrpcStatus[err.code] ?? String(err.code), err.code === GrpcStatus.ABORTED, {
        cause: err,
      });
  }
}

/** Any failure as a ForelockError: typed errors pass through, gRPC failures are mapped, anything else wrapped. */
export function toForelockError(err: unknown): ForelockError {
  if (err instanceof ForelockError) return err;
  if (isServiceError(err)) return errorFromGrpc(err);
  return new ServerError(err instanceof Error ? err.message : String(err), 'UNKNOWN', false, { cause: err });
}
