// Typed errors of the server: bad configuration, refused requests, unknown sessions and wrong secrets.
import type { LockErrorCode } from '../lock/commands.js';
import { ForelockError } from '../util/errors.js';

/** A flag, config-file key or combination of them is invalid; the message names it and what is expected. */
export class ConfigError extends ForelockError {
  constructor(message: string) {
    super(message, 'INVALID_CONFIG', false);
  }
}

/** Lock-service refusals a retry may cure without changing the request (the lock may free up, a waiter may leave). */
const RETRIABLE_LOCK_CODES: ReadonlySet<LockErrorCode> = new Set(['TOO_MANY_WAITERS']);

/** The lock state machine refused a command; `code` is its stable LockErrorCode. Nothing changed. */
export class RequestRefusedError extends ForelockError {
  constructor(code: LockErrorCode, message: string) {
    super(message, code, RETRIABLE_LOCK_CODES.has(code));
  }
}

/** A client frame is malformed or out of order (e.g. a keepalive before the session is open). */
export class InvalidRequestError extends ForelockError {
  constructor(message: string) {
    super(message, 'INVALID_ARGUMENT', false);
  }
}

/** A session id that the cluster does not know (never opened, expired or closed). */
export class SessionNotFoundError extends ForelockError {
  constructor(sessionId: string) {
    super(
      `session ${sessionId} does not exist (it expired or was closed); open a new session`,
      'SESSION_NOT_FOUND',
      false,
    );
  }
}

/** The secret given to resume a session does not match the one issued when it was opened. */
export class WrongSecretError extends ForelockError {
  constructor(sessionId: string) {
    super(
      `wrong secret for session ${sessionId}; only the client that opened it may resume it`,
      'PERMISSION_DENIED',
      false,
    );
  }
}

/** A client message larger than the server accepts; nothing in it was read. */
export class MessageTooLargeError extends ForelockError {
  constructor(bytes: number, maxBytes: number) {
    super(
      `message of ${bytes} bytes exceeds the limit of ${maxBytes} bytes for client requests`,
      'MESSAGE_TOO_LARGE',
      false,
    );
  }
}

/** The session was resumed on a newer stream; the older stream is ended with this. */
export class StreamSupersededError extends ForelockError {
  constructor() {
    super('this session was resumed on a newer stream; this one is closed', 'STREAM_SUPERSEDED', false);
  }
}

/** This node was just elected and is still catching up before it acts as leader; retry in a moment. */
export class LeaderNotReadyError extends ForelockError {
  constructor() {
    super('this node was just elected leader and is still taking office; retry shortly', 'LEADER_NOT_READY', true);
  }
}

/** Auth is enabled and the call carries no valid credentials (no, malformed, expired or stale token, wrong password). */
export class UnauthenticatedError extends ForelockError {
  constructor(message: string) {
    super(message, 'UNAUTHENTICATED', false);
  }
}

/** The caller is authenticated but lacks the permission the call needs; nothing changed. */
export class PermissionDeniedError extends ForelockError {
  constructor(message: string) {
    super(message, 'PERMISSION_DENIED', false);
  }
}

/** A login while auth is disabled: there is nothing to log in to (every call is allowed). */
export class AuthNotEnabledError extends ForelockError {
  constructor() {
    super('auth is not enabled on this cluster: every call is allowed without logging in', 'AUTH_NOT_ENABLED', false);
  }
}
