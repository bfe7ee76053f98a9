// The project's error base class and its codes: every error has a stable `code` and says whether a retry may succeed.

/**
 * The codes a server may send a client. Each has exactly one gRPC status in src/server/grpc-status.ts, whose table
 * is checked against this list at compile time (a code added here without a status, or there without a code here,
 * does not compile). The lock state machine's LockErrorCode is a subset.
 */
export type WireErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'SESSION_NOT_FOUND'
  | 'LOCK_NOT_FOUND'
  | 'MEMBER_NOT_FOUND'
  | 'NOT_HELD'
  | 'STALE_TOKEN'
  | 'ALREADY_HELD'
  | 'ALREADY_WAITING'
  | 'LOCK_BUSY'
  | 'TIMEOUT'
  | 'DEADLOCK'
  | 'STREAM_SUPERSEDED'
  | 'TOO_MANY_WAITERS'
  | 'TOO_MANY_SESSIONS'
  | 'MESSAGE_TOO_LARGE'
  | 'PERMISSION_DENIED'
  | 'NOT_LEADER'
  | 'LEADER_NOT_READY'
  | 'PROPOSAL_DROPPED'
  | 'NODE_CLOSED'
  | 'CONF_CHANGE_IN_PROGRESS'
  | 'LEADERSHIP_TRANSFER_FAILED'
  | 'INVALID_CONF_CHANGE'
  | 'FAULT_INJECTION_DISABLED'
  | 'SESSION_NOT_TRACKED'
  // Auth (src/auth): who is calling, and what it may do
  | 'UNAUTHENTICATED'
  | 'AUTH_NOT_ENABLED'
  | 'USER_NOT_FOUND'
  | 'ROLE_NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'NO_ROOT_USER';

/**
 * The codes of conditions that stay in the process that meets them: the SDK's own (a client never receives these
 * from a server), the evaluator's, the simulator's and Raft's internal faults. A server that lets one escape answers
 * INTERNAL.
 */
export type LocalErrorCode =
  // SDK
  | 'UNAVAILABLE'
  | 'ABORTED'
  | 'SESSION_EXPIRED'
  | 'LOCK_LOST'
  | 'LOCK_RELEASED'
  | 'CLIENT_CLOSED'
  | 'SERVER_ERROR'
  // Raft storage and log
  | 'STORAGE_CORRUPT'
  | 'DATA_DIR_IN_USE'
  | 'DATA_DIR_MISMATCH'
  | 'DATA_FORMAT_TOO_NEW'
  | 'RAFT_TRUNCATE_COMMITTED'
  | 'RAFT_BAD_COMPACTION'
  | 'RAFT_COMPACT_BEYOND_APPLIED'
  // Evaluator and simulator
  | 'TRACE_INVALID'
  | 'EVAL_USAGE'
  | 'SIM_INVARIANT_VIOLATION';

/** Every stable error code. */
export type ErrorCode = WireErrorCode | LocalErrorCode;

/** Base of every Forelock error. `code` is stable across releases; decide retries from `retriable`, never from text. */
export class ForelockError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
