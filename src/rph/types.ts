// The Resource Pre-emption Handler's contract: its configuration, the ladder's stages, inputs and actions.
import type { LockPrediction, SpmThresholds } from '../spm/types.js';

/** Cluster-wide pre-emption mode: `warn-only` warns but never pre-empts, `off` does neither. */
export type PreemptionMode = 'on' | 'warn-only' | 'off';

/** Where a held lock stands on the ladder (docs/design.md, RPH). */
export type LadderStage = 'NORMAL' | 'WARNED' | 'PREEMPT_REQUESTED' | 'REVOKED';

/** The ladder's settings; `defaultLadderConfig` in ladder.ts holds the server's defaults. */
export interface LadderConfig {
  readonly mode: PreemptionMode;
  /** Time a warned client has to answer; an acknowledgement buys one more such period. */
  readonly ackTimeoutMs: number;
  /** Grace between the Pre-emption Request and its revocation deadline. */
  readonly graceMs: number;
  /** Longest time a "checkpointing" answer may buy. */
  readonly maxCheckpointMs: number;
  /** Every remaining wait is multiplied by this factor for each keepalive missed while a warning is active. */
  readonly missedKeepaliveFactor: number;
  /** A fenced lock whose holder still renews is asked to yield this long (plus the grace) before its predicted
   * staleness, not earlier: the forecast's own error margin. */
  readonly fencedRequestLeadMs: number;
}

/** A held lock as the ladder sees it. */
export interface LadderLock {
  readonly resource: string;
  readonly sessionId: string;
  readonly token: bigint;
  /** Every resource behind the lock checks the token: it may be revoked at its deadline. */
  readonly fenced: boolean;
  /** False: never pre-empted (it may still be warned). */
  readonly preemptible: boolean;
  /** Queued waiters. */
  readonly waiters: number;
}

/** One evaluation of one held lock. */
export interface LadderInput {
  readonly lock: LadderLock;
  readonly prediction: LockPrediction;
  readonly thresholds: SpmThresholds;
  /** The session's promise now (`SessionTracker.promisedUntil`); an ordinary lock is never revoked before it. */
  readonly promisedUntilMs: number;
  /** Minimum keepalive samples before the prediction may pre-empt (a new leader waits for enough). */
  readonly minSamples: number;
}

/** What the ladder asks the driver to do. */
export type LadderAction =
  | {
      readonly type: 'warn';
      readonly resource: string;
      readonly sessionId: string;
      readonly token: bigint;
      readonly atMs: number;
      /** The client must answer by then. */
      readonly ackDeadlineMs: number;
      readonly prediction: LockPrediction;
    }
  | {
      readonly type: 'preempt-request';
      readonly resource: string;
      readonly sessionId: string;
      readonly token: bigint;
      readonly atMs: number;
      /** The revocation deadline sent to the client (`atMs + grace`, shortened by missed keepalives). */
      readonly deadlineMs: number;
      readonly graceMs: number;
      /** When the revocation will be proposed: the deadline (fenced) or max(deadline, promise) (ordinary). */
      readonly revokeAtMs: number;
      readonly reason: string;
      readonly prediction: LockPrediction;
    }
  | {
      readonly type: 'revoke';
      readonly resource: string;
      readonly sessionId: string;
      readonly token: bigint;
      readonly atMs: number;
      readonly reason: string;
    };
