import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  AlreadyHeldError,
  AuthNotEnabledError,
  DeadlockError,
  errorFromGrpc,
  errorFromServerCode,
  InvalidArgumentError,
  LockBusyError,
  NoRootUserError,
  NotLeaderError,
  PermissionDeniedError,
  RoleNotFoundError,
  ServerError,
  SessionExpiredError,
  StaleTokenError,
  TimeoutError,
  TooManyWaitersError,
  toForelockError,
  UnauthenticatedError,
  UnavailableError,
  UserNotFoundError,
} from '../../src/client/errors.js';
import { ForelockError } from '../../src/util/errors.js';

function serviceError(code: status, details: string, meta: Record<string, string> = {}): ServiceError {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(meta)) metadata.set(key, value);
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata });
}

describe('RequestError codes map to typed errors', () => {
  it.each([
    ['LOCK_BUSY', LockBusyError, true],
    ['ALREADY_HELD', AlreadyHeldError, false],
    ['DEADLOCK', DeadlockError, false],
    ['STALE_TOKEN', StaleTokenError, false],
    ['TOO_MANY_WAITERS', TooManyWaitersError, true],
    ['INVALID_ARGUMENT', InvalidArgumentError, false],
    ['SESSION_NOT_FOUND', SessionExpiredError, false],
    ['NOT_LEADER', NotLeaderError, true],
    ['PERMISSION_DENIED', PermissionDeniedError, false],
    ['UNAUTHENTICATED', UnauthenticatedError, false],
    ['AUTH_NOT_ENABLED', AuthNotEnabledError, false],
    ['USER_NOT_FOUND', UserNotFoundError, false],
    ['ROLE_NOT_FOUND', RoleNotFoundError, false],
    ['ALREADY_EXISTS', AlreadyExistsError, false],
    ['NO_ROOT_USER', NoRootUserError, false],
  ] as const)('%s', (code, errorClass, retriable) => {
    const error = errorFromServerCode({ code, message: 'what happened', retriable: !retriable });
    expect(error).toBeInstanceOf(errorClass);
    expect(error).toBeInstanceOf(ForelockError);
    expect(error.message).toBe('what happened');
    // The SDK's classes decide retriability, not the flag on the wire.
    expect(error.retriable).toBe(retriable);
  });

  it('keeps an unknown code and its retriable flag in a ServerError', () => {
    const error = errorFromServerCode({ code: 'SOMETHING_NEW', message: 'hm', retriable: true });
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).serverCode).toBe('SOMETHING_NEW');
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.retriable).toBe(true);
  });
});

describe('gRPC statuses map to typed errors', () => {
  it('reads NOT_LEADER and the leader address from the metadata', () => {
    const error = errorFromGrpc(
      serviceError(status.UNAVAILABLE, 'not the leader', {
        'forelock-error-code': 'NOT_LEADER',
        'forelock-leader-address': '127.0.0.1:7401',
      }),
    );
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderAddress).toBe('127.0.0.1:7401');
  });

  it('prefers the stable code in the metadata over the status', () => {
    const error = errorFromGrpc(
      serviceError(status.FAILED_PRECONDITION, 'busy', { 'forelock-error-code': 'LOCK_BUSY' }),
    );
    expect(error).toBeInstanceOf(LockBusyError);
    expect(error.message).toBe('busy');
  });

  it.each([
    [status.UNAVAILABLE, UnavailableError, true],
    [status.DEADLINE_EXCEEDED, TimeoutError, true],
    [status.INVALID_ARGUMENT, InvalidArgumentError, false],
    [status.PERMISSION_DENIED, PermissionDeniedError, false],
    [status.UNAUTHENTICATED, UnauthenticatedError, false],
  ] as const)('status %s without a code', (code, errorClass, retriable) => {
    const error = errorFromGrpc(serviceError(code, 'details'));
    expect(error).toBeInstanceOf(errorClass);
    expect(error.retriable).toBe(retriable);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('falls back to the status for a server code the SDK does not know', () => {
    const error = errorFromGrpc(
      serviceError(status.UNAVAILABLE, 'dropped', { 'forelock-error-code': 'PROPOSAL_DROPPED' }),
    );
    expect(error).toBeInstanceOf(UnavailableError);
  });

  it('passes typed errors through and wraps anything else', () => {
    const typed = new LockBusyError('x');
    expect(toForelockError(typed)).toBe(typed);
    const wrapped = toForelockError(new TypeError('boom'));
    expect(wrapped).toBeInstanceOf(ServerError);
    expect(wrapped.retriable).toBe(false);
  });

  it('names each error class after itself and gives it a stable code', () => {
    const error = new NotLeaderError('x', 'a:1');
    expect(error.name).toBe('NotLeaderError');
    expect(error.code).toBe('NOT_LEADER');
  });
});
