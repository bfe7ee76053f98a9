// A held lock as the SDK user sees it: token, signal (aborted when the lock is released or lost), safe deadline,
// warning and pre-emption handlers, its event stream (with the session's advisories), release.
import type { LockMode } from '../lock/commands.js';
import type { SessionAdvisory } from './advisory.js';
import { LockLostError } from './errors.js';
import { EventQueue } from './event-queue.js';

/** A Staleness Warning for a held lock (docs/design.md, specification 3). */
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
 * How a warning handler answers (docs/design.md, specification 4); undefined: no answer. 'ack' buys one more
 * acknowledgement period, 'checkpointing' the time asked for (capped by the cluster), 'releasing' announces a release
 * the caller then makes with `lock.release()`.
 */
export type WarningResponse =
  | { readonly kind: 'ack' }
  | { readonly kind: 'checkpointing'; readonly checkpointMs: number }
  | { readonly kind: 'releasing' };

/**
 * What a warning handler returns: `'ack'`, `'releasing'`, `{ checkpointing: ms }` (the shorthands of docs/design.md,
 * specification 4) or a WarningResponse; undefined sends no answer.
 */
export type WarningAnswer = 'ack' | 'releasing' | { readonly checkpointing: number } | WarningResponse;

/** Called on each Staleness Warning for a lock; its return value is sent as the answer. */
export type WarningHandler = (warning: StalenessWarning) => WarningAnswer | undefined;

/**
 * A Pre-emption Request for a held lock (docs/design.md, specification 5): release before `safeUntil`, or it is
 * revoked.
 */
export interface PreemptionNotice {
  readonly name: string;
  readonly token: bigint;
  readonly graceMs: number;
  readonly reason: string;
  readonly warningId: string;
}

/** Called on a Pre-emption Request for a lock. */
export type PreemptionHandler = (notice: PreemptionNotice) => void;

/**
 * What `lock.events()` yields: each warning and Pre-emption Request, each Session Advisory of the session while the
 * lock is held (a session condition concerns every lock the session holds; it changes no safe period), and last, if
 * the lock was lost rather than released, the loss (`error.lossCause` is 'revoked' for a revocation).
 */
export type LockEvent =
  | { readonly type: 'warning'; readonly warning: StalenessWarning }
  | { readonly type: 'preemption'; readonly request: PreemptionNotice }
  | { readonly type: 'advisory'; readonly advisory: SessionAdvisory }
  | { readonly type: 'lost'; readonly error: LockLostError };

/** The largest checkpoint duration the wire carries (uint32 ms). */
const MAX_CHECKPOINT_MS = 0xffff_ffff;

/** The wire form of a handler's answer; a checkpoint duration is rounded and clamped to 0..2^32-1 ms. */
export function warningResponseOf(answer: WarningAnswer): WarningResponse {
  if (answer === 'ack') return { kind: 'ack' };
  if (answer === 'releasing') return { kind: 'releasing' };
  let askedMs: number;
  if ('checkpointing' in answer) askedMs = answer.checkpointing;
  else if (answer.kind === 'checkpointing') askedMs = answer.checkpointMs;
  else return answer;
  const checkpointMs = Number.isFinite(askedMs) ? Math.round(askedMs) : 0;
  return { kind: 'checkpointing', checkpointMs: Math.min(Math.max(checkpointMs, 0), MAX_CHECKPOINT_MS) };
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
  // Made on first use, like the controller: most locks are released with no handler and nobody watching.
  private warningHandlers: Set<WarningHandler> | null = null;
  private preemptionHandlers: Set<PreemptionHandler> | null = null;
  private eventQueues: Set<EventQueue<LockEvent>> | null = null;
  private releasing: Promise<void> | null = null;
  /** Made on first use of `signal`: most locks are released without anybody listening. */
  private controller: AbortController | null = null;
  /** Why the lock ended (the error is made on first need), or null while it is held. */
  private endReason: (() => unknown) | null = null;

  constructor(
    private readonly owner: LockOwner,
    grant: LockGrant,
  ) {
    this.name = grant.name;
    this.mode = grant.mode;
    this.token = grant.token;
    this.fenced = grant.fenced;
    this.grantedAtMs = grant.grantedAtMs;
  }

  /** What JSON.stringify shows: the grant, never the session behind it (docs/design.md, principle 8). */
  toJSON(): { name: string; mode: LockMode; token: string; fenced: boolean; grantedAtMs: number; held: boolean } {
    return {
      name: this.name,
      mode: this.mode,
      token: this.token.toString(),
      fenced: this.fenced,
      grantedAtMs: this.grantedAtMs,
      held: this.held,
    };
  }

  /** What console.log and util.inspect show: the grant, never the session's secret. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Lock { name: ${JSON.stringify(this.name)}, mode: '${this.mode}', token: ${this.token}n, fenced: ${this.fenced}, held: ${this.held} }`;
  }

  /** Aborted when the lock is released, revoked, its session ends, or its safe period passes; `reason` says which. */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.endReason !== null) this.controller.abort(this.endReason());
    }
    return this.controller.signal;
  }

  /** Epoch ms (comparable with `Date.now()`) until which the client may assume it holds the lock, from the guarantees received. */
  get safeUntil(): number {
    return this.held ? this.owner.safeUntilOf(this) : Number.NEGATIVE_INFINITY;
  }

  /** True while the lock is neither released nor lost. */
  get held(): boolean {
    return this.endReason === null;
  }

  /**
   * @internal called by the client when the lock ends: aborts `signal` with `reason()` (made once, and only when
   * someone looks) and ends the event streams. Later calls do nothing.
   */
  end(reason: () => unknown): void {
    if (this.endReason !== null) return;
    let made: { value: unknown } | null = null;
    this.endReason = () => {
      made ??= { value: reason() };
      return made.value;
    };
    this.controller?.abort(this.endReason());
    this.endEvents();
  }

  /**
   * Releases the lock (sending its token). Idempotent. Resolves once the cluster applied it; rejects with
   * LockLostError if the cluster no longer had this grant (it was revoked before this client learned of it).
   */
  release(): Promise<void> {
    this.releasing ??= this.owner.releaseLock(this);
    return this.releasing;
  }

  /**
   * Calls `handler` on each Staleness Warning for this lock; the first answer a handler returns is sent. With no
   * handler registered the SDK acknowledges every warning; with handlers that all return undefined it sends nothing.
   * Returns a function that unregisters the handler.
   */
  onWarning(handler: WarningHandler): () => void {
    this.warningHandlers ??= new Set();
    const handlers = this.warningHandlers;
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  /** Calls `handler` on a Pre-emption Request for this lock (`safeUntil` already reflects its deadline). */
  onPreemption(handler: PreemptionHandler): () => void {
    this.preemptionHandlers ??= new Set();
    const handlers = this.preemptionHandlers;
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  /**
   * The lock's warnings, Pre-emption Requests and its session's advisories from now on, then its loss if it is lost;
   * the iteration ends when the lock ends (released or lost). Observing does not answer warnings: handlers (or the
   * default) do. Leaving the loop early (`break`) unsubscribes.
   */
  events(): AsyncIterableIterator<LockEvent> {
    this.eventQueues ??= new Set();
    const queues = this.eventQueues;
    const queue = new EventQueue<LockEvent>(() => queues.delete(queue));
    queues.add(queue);
    if (!this.held) this.endEvents();
    return queue;
  }

  /** @internal called by the client: runs the warning handlers, returns the answer to send (undefined: none). */
  warned(warning: StalenessWarning): WarningResponse | undefined {
    for (const queue of this.eventQueues ?? []) queue.push({ type: 'warning', warning });
    if (this.warningHandlers === null || this.warningHandlers.size === 0) return { kind: 'ack' };
    for (const handler of [...this.warningHandlers]) {
      const answer = handler(warning);
      if (answer !== undefined) return warningResponseOf(answer);
    }
    return undefined;
  }

  /** @internal called by the client: a Session Advisory of the session holding this lock (events only). */
  advised(advisory: SessionAdvisory): void {
    for (const queue of this.eventQueues ?? []) queue.push({ type: 'advisory', advisory });
  }

  /** @internal called by the client: runs the pre-emption handlers. */
  preempted(notice: PreemptionNotice): void {
    for (const queue of this.eventQueues ?? []) queue.push({ type: 'preemption', request: notice });
    for (const handler of [...(this.preemptionHandlers ?? [])]) handler(notice);
  }

  /** Ends every event stream, telling it why if the lock was lost. */
  private endEvents(): void {
    if (this.eventQueues === null || this.eventQueues.size === 0) return;
    const reason = this.endReason?.();
    for (const queue of [...this.eventQueues]) {
      if (reason instanceof LockLostError) queue.push({ type: 'lost', error: reason });
      queue.end();
    }
  }
}
