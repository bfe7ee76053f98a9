// The lock service's replicated commands, their results, and the events the state machine emits when applied.
// Every log entry carries the leader's timestamp (`atMs`): the state machine never reads a clock (docs/design.md,
// principle 7).
import type { AuthChange, AuthErrorCode } from '../auth/auth-state.js';

/** Exclusive (one holder) or shared (many holders, no exclusive one). */
export type LockMode = 'exclusive' | 'shared';

/** An acquire's `waitMs` that means "wait without limit" (the largest uint32, as the wire carries it). */
export const WAIT_WITHOUT_LIMIT_MS = 0xffff_ffff;

/** Who or what forced a revocation. */
export type RevokeCause = 'operator' | 'operator-force' | 'preemption';

/** One command of the lock service, as proposed by the leader. */
export type LockCommand =
  | {
      readonly type: 'session-open';
      /** Chosen by the leader: random, unguessable. */
      readonly sessionId: string;
      /** SHA-256 (hex) of the session's secret; the secret itself is only ever sent to its client. */
      readonly secretHash: string;
      readonly ttlMs: number;
      readonly clientName: string;
      /** The authenticated user that opened it (absent with auth off); shown with its holds. */
      readonly user?: string;
    }
  | { readonly type: 'session-close'; readonly sessionId: string }
  /** Sessions whose promise passed without a renewal, expired together in one entry (docs/design.md, principle 5). */
  | { readonly type: 'sessions-expire'; readonly sessionIds: readonly string[] }
  | {
      readonly type: 'acquire';
      readonly sessionId: string;
      readonly requestSeq: number;
      readonly name: string;
      readonly mode: LockMode;
      /** Every resource this lock protects checks the fencing token (see docs/design.md, principle 2). */
      readonly fenced: boolean;
      /** False: the RPH never pre-empts this grant (it may still warn). */
      readonly preemptible: boolean;
      /** True: fail at once instead of queueing when the lock is not free (try-lock). */
      readonly tryOnly: boolean;
      /**
       * How long a queued acquire may wait, counted from this entry's time; then the leader cancels it ('waits-expire')
       * and it fails with TIMEOUT. Absent, or WAIT_WITHOUT_LIMIT_MS: no limit. Ignored when `tryOnly`.
       */
      readonly waitMs?: number;
      /** Optional value kept with the grant while held (e.g. an election candidate's identity); at most 1 KiB. */
      readonly metadata?: string;
    }
  | {
      readonly type: 'release';
      readonly sessionId: string;
      readonly requestSeq: number;
      readonly name: string;
      readonly token: bigint;
    }
  /** Withdraws a queued acquire (the client stopped waiting). */
  | { readonly type: 'cancel'; readonly sessionId: string; readonly requestSeq: number; readonly name: string }
  | {
      readonly type: 'revoke';
      readonly name: string;
      /** One holder of a shared lock; all holders when absent. */
      readonly sessionId?: string;
      /** The token revoked, so a revoke that raced with a release and a new grant does not hit the new holder. */
      readonly token?: bigint;
      readonly cause: RevokeCause;
      readonly reason: string;
    }
  /**
   * An operator's revoke that takes effect later (an ordinary lock, at the end of its promise): kept with the hold
   * until the hold ends, so a new leader re-arms it instead of forgetting it. The leader proposes the 'revoke' when due.
   */
  | {
      readonly type: 'revoke-scheduled';
      readonly name: string;
      readonly sessionId: string;
      readonly token: bigint;
      readonly cause: RevokeCause;
      readonly reason: string;
      /** When the leader that scheduled it meant to revoke (its epoch ms); a new leader revokes no earlier than this. */
      readonly revokeAtMs: number;
    }
  /**
   * Queued acquires whose wait ran out, cancelled together (proposed by the leader when their `waitUntilMs` passes).
   * A waiter already granted, cancelled or not yet due at the entry's time is skipped.
   */
  | { readonly type: 'waits-expire'; readonly waits: readonly WaitRef[] }
  /** A change to the users, roles and permissions (src/auth/auth-state.ts). */
  | { readonly type: 'auth'; readonly change: AuthChange }
  /** An entry that only carries time: lets lock-delays that have passed grant their waiters. */
  | { readonly type: 'tick' };

/** One queued acquire: its session, lock and request. */
export interface WaitRef {
  readonly sessionId: string;
  readonly name: string;
  readonly requestSeq: number;
}

/** A command with the leader's timestamp, as stored in a log entry's data. */
export interface LockEntry {
  readonly atMs: number;
  readonly command: LockCommand;
}

/**
 * Commands the leader received together (one event-loop turn), stored as ONE log entry with one timestamp so
 * followers append, persist and apply fewer, bigger entries. Applied as its parts in order, each exactly as if it
 * were an entry of its own at `atMs`: its own result, its own dedup by (session, requestSeq), its own events.
 */
export interface LockBatchEntry {
  readonly atMs: number;
  readonly commands: readonly LockCommand[];
}

/** What applying a command returns to its proposer. */
export type LockResult =
  | { readonly status: 'ok' }
  | { readonly status: 'granted'; readonly token: bigint; readonly grantedAtMs: number }
  | { readonly status: 'queued'; readonly position: number }
  | { readonly status: 'error'; readonly code: LockErrorCode; readonly message: string }
  /** The results of a LockBatchEntry's parts, in order (only applying a batch entry returns this). */
  | { readonly status: 'batch'; readonly results: readonly LockResult[] };

/** Stable codes of the state machine's refusals (mapped to typed errors and gRPC statuses in one place). */
export type LockErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SESSION_NOT_FOUND'
  | 'ALREADY_HELD'
  | 'ALREADY_WAITING'
  | 'NOT_HELD'
  | 'STALE_TOKEN'
  | 'LOCK_BUSY'
  | 'DEADLOCK'
  | 'TOO_MANY_WAITERS'
  | 'TOO_MANY_SESSIONS'
  | 'LOCK_NOT_FOUND'
  /** A queued acquire's wait ran out and the leader cancelled it. */
  | 'TIMEOUT'
  | AuthErrorCode;

/** Side effects of applying an entry, which the leader pushes to the sessions concerned. */
export type LockEvent =
  | {
      readonly type: 'granted';
      readonly sessionId: string;
      readonly requestSeq: number;
      readonly name: string;
      readonly mode: LockMode;
      readonly token: bigint;
      readonly atMs: number;
      readonly fenced: boolean;
      /** Whether the RPH may pre-empt this grant (the acquire's `preemptible`). */
      readonly preemptible: boolean;
      /** How long the request waited in the queue, in the leader's ms (0 when granted at once). */
      readonly waitedMs: number;
    }
  | {
      readonly type: 'released';
      readonly sessionId: string;
      readonly name: string;
      readonly token: bigint;
      readonly atMs: number;
      readonly heldMs: number;
    }
  | {
      readonly type: 'revoked';
      readonly sessionId: string;
      readonly name: string;
      readonly token: bigint;
      readonly atMs: number;
      readonly cause: RevokeCause;
      readonly reason: string;
    }
  | {
      readonly type: 'cancelled';
      readonly sessionId: string;
      readonly requestSeq: number;
      readonly name: string;
      readonly atMs: number;
      /** True when the leader cancelled it because its wait ran out ('waits-expire'): answered with TIMEOUT. */
      readonly timedOut?: boolean;
    }
  | { readonly type: 'session-opened'; readonly sessionId: string; readonly atMs: number }
  | { readonly type: 'session-ended'; readonly sessionId: string; readonly atMs: number; readonly expired: boolean };
