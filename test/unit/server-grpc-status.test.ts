// The one mapping of Forelock error codes to gRPC statuses and RequestError frames.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { RaftNotLeaderError } from '../../src/raft/errors.js';
import {
  InvalidRequestError,
  MessageTooLargeError,
  RequestRefusedError,
  SessionNotFoundError,
  WrongSecretError,
} from '../../src/server/errors.js';
import {
  ERROR_CODE_METADATA,
  grpcStatusFor,
  LEADER_ADDRESS_METADATA,
  LEADER_ID_METADATA,
  refusalOf,
  toServiceError,
} from '../../src/server/grpc-status.js';

describe('gRPC status per error code', () => {
  it.each([
    ['INVALID_ARGUMENT', grpc.status.INVALID_ARGUMENT],
    ['SESSION_NOT_FOUND', grpc.status.NOT_FOUND],
    ['LOCK_NOT_FOUND', grpc.status.NOT_FOUND],
    ['STALE_TOKEN', grpc.status.FAILED_PRECONDITION],
    ['NOT_HELD', grpc.status.FAILED_PRECONDITION],
    ['ALREADY_HELD', grpc.status.FAILED_PRECONDITION],
    ['LOCK_BUSY', grpc.status.FAILED_PRECONDITION],
    ['DEADLOCK', grpc.status.ABORTED],
    ['TOO_MANY_WAITERS', grpc.status.RESOURCE_EXHAUSTED],
    ['TOO_MANY_SESSIONS', grpc.status.RESOURCE_EXHAUSTED],
    ['MESSAGE_TOO_LARGE', grpc.status.RESOURCE_EXHAUSTED],
    ['NOT_LEADER', grpc.status.UNAVAILABLE],
    ['PROPOSAL_DROPPED', grpc.status.UNAVAILABLE],
    ['PERMISSION_DENIED', grpc.status.PERMISSION_DENIED],
    ['SOMETHING_NEW', grpc.status.INTERNAL],
  ])('%s -> %i', (code, status) => {
    expect(grpcStatusFor(code)).toBe(status);
  });
});

describe('toServiceError', () => {
  it('carries the leader hint of NOT_LEADER in metadata', () => {
    const error = toServiceError(new RaftNotLeaderError('node2', '127.0.0.1:7401'));
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toContain('the leader is node2 at 127.0.0.1:7401');
    expect(error.metadata?.get(LEADER_ID_METADATA)).toEqual(['node2']);
    expect(error.metadata?.get(LEADER_ADDRESS_METADATA)).toEqual(['127.0.0.1:7401']);
    expect(error.metadata?.get(ERROR_CODE_METADATA)).toEqual(['NOT_LEADER']);
  });

  it.each([
    [new SessionNotFoundError('abc'), grpc.status.NOT_FOUND],
    [new WrongSecretError('abc'), grpc.status.PERMISSION_DENIED],
    [new InvalidRequestError('bad'), grpc.status.INVALID_ARGUMENT],
    [new MessageTooLargeError(70_000, 65_536), grpc.status.RESOURCE_EXHAUSTED],
    [new RequestRefusedError('DEADLOCK', 'cycle a -> b -> a'), grpc.status.ABORTED],
    [new Error('boom'), grpc.status.INTERNAL],
  ])('maps %s', (error, status) => {
    expect(toServiceError(error)).toMatchObject({ code: status, details: error.message });
  });
});

describe('refusalOf', () => {
  it('keeps code, message and retriable of typed errors', () => {
    expect(refusalOf(new RequestRefusedError('TOO_MANY_WAITERS', 'full'))).toEqual({
      code: 'TOO_MANY_WAITERS',
      message: 'full',
      retriable: true,
    });
    expect(refusalOf(new RequestRefusedError('STALE_TOKEN', 'old'))).toMatchObject({ retriable: false });
    expect(refusalOf('weird')).toEqual({ code: 'INTERNAL', message: 'weird', retriable: false });
  });
});
