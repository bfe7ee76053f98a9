// A held lock as the SDK user sees it: token, signal (aborted when the lock is released or lost), safe deadline,
// warning and pre-emption handlers, release.
import type { LockMode } from '../lock/commands.js';

/** A Staleness Warning for a held lock (specification 3). */
export interface StalenessWarning {
  readonly warningId: string;
  readonly name: string;
  readonly token: bigint;
  /** Milliseconds until the predicted staleness, from when the server sent the warning. */
  readonly predictedStalenessMs: number;
  /** 0-100: the urgency of pre-emption. */
  readonly preemptionScore: number;
  readonly probability: number;
  readonly reasons: readonly string[];
  /** Answer within this long, or the server moves on to a Pre-emption Request. */
  readonly ackTimeoutMs: number;
}

/**
 * How a warning handler answers (specification 4); undefined: no answer. 'ack' buys one more acknowledgement period,
 * 'checkpointing' the time asked for (capped by the cluster), 'releasing' announces a release the caller then makes
 * with `lock.release()`.
 */
export type WarningResponse =
  | { readonly kind: 'ack' }
  | { readonly kind: 'checkpointing'; readonly checkpointMs: number }
  | { readonly kind: 'releasing' };

/** A Pre-emption Request for a held lock (specification 5): release before `safeUntil`, or it is revoked. */
export interface PreemptionNotice {
  readonly name: string;
  readonly token: bigint;
  readonly graceMs: number;
  readonly reason: string;
  readonly warningId: string;
}

/** What a Lock needs from the client that granted it. */
export interface LockOwner {
  releaseLock(lock: Lock): Promise<void>;
  safeUntilOf(lock: Lock): number;
}

/** The grant a Lock was built from. */
export interface LockGrant {
  readonly name: string;
  readonly mode: LockMode;
  readonly token: bigint;
  readonly fenced: boolean;
  /** Server time of the grant (epoch ms). */
  readonly grantedAtMs: number;
}

/** A lock this client holds. Check `signal` (or `safeUntil`) before every action the lock protects. */
export class Lock {
  readonly name: string;
  readonly mode: LockMode;
  /** The fencing token: pass it to every resource the lock protects, so they can reject older holders. */
  readonly token: bigint;
  readonly fenced: boolean;
  readonly grantedAtMs: number;
  /** @internal handlers, called by the client. */
  readonly warningHandlers = new Set<(warning: StalenessWarning) => WarningResponse | undefined>();
  /** @internal handlers, called by the client. */
  readonly preemptionHandlers = new Set<(notice: PreemptionNotice) => void>();
  private releasing: Promise<void> | null = null;

  constructor(
    private readonly owner: LockOwner,
    grant: LockGrant,
    private readonly controller: AbortController,
  ) {
    this.name = grant.name;
    this.mode = grant.mode;
    this.token = grant.token;
    this.fenced = grant.fenced;
    this.grantedAtMs = grant.grantedAtMs;
  }

  /** Aborted when the lock is released, revoked, its session ends, or its safe period passes; `reason` says which. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Epoch ms (comparable with `Date.now()`) until which the client may assume it holds the lock, from the guarantees received. */
  get safeUntil(): number {
    return this.signal.aborted ? Number.NEGATIVE_INFINITY : this.owner.safeUntilOf(this);
  }

  /** True while the lock is neither released nor lost. */
  get held(): boolean {
    return !this.signal.aborted;
  }

  /**
   * Releases the lock (sending its token). Idempotent. Resolves once the cluster applied it; rejects with
   * LockLostError if the cluster no longer had this grant (it was revoked before this client learned of it).
   */
  release(): Promise<void> {
    this.releasing ??= this.owner.releaseLock(this);
    return this.releasing;
  }

  /** Calls `handler` on each Staleness Warning for this lock; its return value is sent as the answer. */
  onWarning(handler: (warning: StalenessWarning) => WarningResponse | undefined): () => void {
    this.warningHandlers.add(handler);
    return () => this.warningHandlers.delete(handler);
  }

  /** Calls `handler` on a Pre-emption Request for this lock (`safeUntil` already reflects its deadline). */
  onPreemption(handler: (notice: PreemptionNotice) => void): () => void {
    this.preemptionHandlers.add(handler);
    return () => this.preemptionHandlers.delete(handler);
  }
}
