// The one mapping from Forelock error codes to gRPC statuses (and to RequestError frames on the session stream).
import * as grpc from '@grpc/grpc-js';
import { RaftNotLeaderError } from '../raft/errors.js';
import { ForelockError, type WireErrorCode } from '../util/errors.js';

/** Metadata key carrying the leader's id in a NOT_LEADER refusal (when known). */
export const LEADER_ID_METADATA = 'forelock-leader-id';
/** Metadata key carrying the leader's address in a NOT_LEADER refusal (when known): retry there. */
export const LEADER_ADDRESS_METADATA = 'forelock-leader-address';
/** Metadata key carrying the stable Forelock error code. */
export const ERROR_CODE_METADATA = 'forelock-error-code';

/** The gRPC status of every code a server sends: exactly the WireErrorCodes, no more and no fewer. */
const STATUS_BY_CODE: Readonly<Record<string, grpc.status>> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  INVALID_CONFIG: grpc.status.INVALID_ARGUMENT,
  SESSION_NOT_FOUND: grpc.status.NOT_FOUND,
  LOCK_NOT_FOUND: grpc.status.NOT_FOUND,
  MEMBER_NOT_FOUND: grpc.status.NOT_FOUND,
  NOT_HELD: grpc.status.FAILED_PRECONDITION,
  STALE_TOKEN: grpc.status.FAILED_PRECONDITION,
  ALREADY_HELD: grpc.status.FAILED_PRECONDITION,
  ALREADY_WAITING: grpc.status.FAILED_PRECONDITION,
  LOCK_BUSY: grpc.status.FAILED_PRECONDITION,
  TIMEOUT: grpc.status.DEADLINE_EXCEEDED,
  DEADLOCK: grpc.status.ABORTED,
  STREAM_SUPERSEDED: grpc.status.ABORTED,
  TOO_MANY_WAITERS: grpc.status.RESOURCE_EXHAUSTED,
  TOO_MANY_SESSIONS: grpc.status.RESOURCE_EXHAUSTED,
  MESSAGE_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  NOT_LEADER: grpc.status.UNAVAILABLE,
  LEADER_NOT_READY: grpc.status.UNAVAILABLE,
  PROPOSAL_DROPPED: grpc.status.UNAVAILABLE,
  NODE_CLOSED: grpc.status.UNAVAILABLE,
  CONF_CHANGE_IN_PROGRESS: grpc.status.UNAVAILABLE,
  LEADERSHIP_TRANSFER_FAILED: grpc.status.UNAVAILABLE,
  INVALID_CONF_CHANGE: grpc.status.FAILED_PRECONDITION,
  FAULT_INJECTION_DISABLED: grpc.status.FAILED_PRECONDITION,
  SESSION_NOT_TRACKED: grpc.status.FAILED_PRECONDITION,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  AUTH_NOT_ENABLED: grpc.status.FAILED_PRECONDITION,
  USER_NOT_FOUND: grpc.status.NOT_FOUND,
  ROLE_NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  NO_ROOT_USER: grpc.status.FAILED_PRECONDITION,
} satisfies Record<WireErrorCode, grpc.status>;

/** The gRPC status for a Forelock error code (INTERNAL for codes outside the table). */
export function grpcStatusFor(code: string): grpc.status {
  return STATUS_BY_CODE[code] ?? grpc.status.INTERNAL;
}

/** A refusal as the session stream's RequestError frame states it. */
export interface Refusal {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

/** Any thrown value as a refusal; unknown errors become a non-retriable INTERNAL one. */
export function refusalOf(error: unknown): Refusal {
  if (error instanceof ForelockError) return { code: error.code, message: error.message, retriable: error.retriable };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error), retriable: false };
}

/** Any thrown value as the status object grpc-js sends (unary callback error or `stream.emit('error', ...)`). */
export function toServiceError(error: unknown): Partial<grpc.ServiceError> {
  const refusal = refusalOf(error);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA, refusal.code);
  if (error instanceof RaftNotLeaderError) {
    if (error.leaderId !== null) metadata.set(LEADER_ID_METADATA, error.leaderId);
    if (error.leaderAddress !== null) metadata.set(LEADER_ADDRESS_METADATA, error.leaderAddress);
  }
  return { code: grpcStatusFor(refusal.code), details: refusal.message, metadata };
}
