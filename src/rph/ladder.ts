// The Resource Pre-emption Handler's ladder, pure: NORMAL -> WARNED -> PREEMPT_REQUESTED -> REVOKED per held lock.
import type { LockPrediction } from '../spm/types.js';
import { revokeAtMs } from './revocation-time.js';
import type { LadderAction, LadderConfig, LadderInput, LadderLock, LadderStage } from './types.js';

/** The server's defaults: mode on, 2 s acknowledgement timeout, 3 s grace, checkpoints up to 30 s, a renewing holder
 * of a fenced lock asked 5 s + grace before its predicted staleness, and every remaining wait cut to 25% per keepalive
 * missed during a warning (tuned on seeds 1-30 of `forelock eval`). */
export const defaultLadderConfig: LadderConfig = {
  mode: 'on',
  ackTimeoutMs: 2_000,
  graceMs: 3_000,
  maxCheckpointMs: 30_000,
  missedKeepaliveFactor: 0.25,
  fencedRequestLeadMs: 5_000,
};

/** Completes a partial ladder configuration with the defaults and checks the values that would break the ladder. */
export function resolveLadderConfig(overrides: Partial<LadderConfig> = {}): LadderConfig {
  const config = { ...defaultLadderConfig, ...overrides };
  if (!(config.missedKeepaliveFactor > 0 && config.missedKeepaliveFactor <= 1)) {
    throw new RangeError(`missedKeepaliveFactor must be in (0, 1], got ${config.missedKeepaliveFactor}`);
  }
  if (!(config.ackTimeoutMs > 0 && config.graceMs > 0)) {
    throw new RangeError(`ackTimeoutMs and graceMs must be > 0, got ${config.ackTimeoutMs} and ${config.graceMs}`);
  }
  return config;
}

/** One held lock's place on the ladder. */
interface Rung {
  lock: LadderLock;
  stage: LadderStage;
  /** WARNED: when the answer window ends. */
  answerByMs: number;
  /** PREEMPT_REQUESTED: the deadline sent and when the revocation will be proposed. */
  deadlineMs: number;
  revokeAtMs: number;
  reason: string;
  /** Missed keepalives already accounted for (each one shortens the remaining waits once). */
  missedSeen: number;
  /** WARNED past its answer window: `answerByMs` is the timed request of a fenced lock, re-timed by each prediction. */
  timed: boolean;
}

/**
 * When a Pre-emption Request for a fenced lock whose holder still renews should be sent: the predicted staleness
 * less the grace (never before now). A silent holder, an ordinary lock (whose request is what stops its promise
 * from growing) or a prediction without a time is asked at once (-Infinity).
 */
export function fencedRequestAtMs(
  fenced: boolean,
  prediction: Pick<LockPrediction, 'missedKeepalives' | 'predictedStaleAtMs'>,
  graceMs: number,
): number {
  if (!fenced || prediction.missedKeepalives > 0 || prediction.predictedStaleAtMs === null) {
    return Number.NEGATIVE_INFINITY;
  }
  return prediction.predictedStaleAtMs - graceMs;
}

function rungKey(resource: string, sessionId: string): string {
  return `${resource}\u0000${sessionId}`;
}

/**
 * Runs the ladder of docs/design.md's RPH for every held lock. The driver calls `evaluate` with a fresh
 * prediction whenever something changes and at `nextDeadlineMs()`, feeds the client's answers, and performs the
 * actions returned: send the warning, send the Pre-emption Request, propose the revocation.
 */
export class PreemptionLadder {
  readonly config: LadderConfig;
  private readonly rungs = new Map<string, Rung>();
  /** The rungs WARNED or PREEMPT_REQUESTED: the only ones with a deadline (most held locks are NORMAL). */
  private readonly pending = new Set<Rung>();

  constructor(config: Partial<LadderConfig> = {}) {
    this.config = resolveLadderConfig(config);
  }

  /** Advances one lock's ladder with its latest prediction; returns what the driver must do now. */
  evaluate(input: LadderInput, nowMs: number): LadderAction[] {
    if (this.config.mode === 'off') return [];
    const rung = this.rung(input.lock);
    const actions = this.advance(rung, input, nowMs);
    if (rung.stage === 'WARNED' || rung.stage === 'PREEMPT_REQUESTED') this.pending.add(rung);
    else this.pending.delete(rung);
    return actions;
  }

  private advance(rung: Rung, input: LadderInput, nowMs: number): LadderAction[] {
    const { lock, prediction } = input;
    this.accountMissedKeepalives(rung, prediction.missedKeepalives, nowMs);

    switch (rung.stage) {
      case 'NORMAL': {
        if (prediction.level !== 'HIGH') return [];
        rung.stage = 'WARNED';
        rung.answerByMs = nowMs + this.shortened(this.config.ackTimeoutMs, rung.missedSeen);
        return [
          {
            type: 'warn',
            resource: lock.resource,
            sessionId: lock.sessionId,
            token: lock.token,
            atMs: nowMs,
            ackDeadlineMs: rung.answerByMs,
            prediction,
          },
        ];
      }
      case 'WARNED': {
        if (nowMs < rung.answerByMs && !rung.timed) return [];
        if (this.mayPreempt(input) && prediction.preemptionScore >= input.thresholds.preemptionScore) {
          // A silent holder is not asked to yield while what live clients do still explains its silence (one
          // keepalive lost in transit, or a pause as long as live sessions of this cluster came back from lately):
          // a request cannot be taken back (a fenced lock would be revoked at its deadline even after the holder
          // came back).
          const explainedUntilMs = prediction.silenceExplainedUntilMs;
          if (prediction.missedKeepalives > 0 && explainedUntilMs !== null && nowMs < explainedUntilMs) {
            rung.answerByMs = explainedUntilMs;
            return [];
          }
          const graceMs = this.shortened(this.config.graceMs, rung.missedSeen);
          // A silent holder of an ordinary lock cannot be revoked before its promise anyway: ask only when the
          // grace would end at the promise, which leaves a late keepalive the time to come and clear the warning.
          // (A renewing holder is asked at once: the request is what stops its promise from growing.)
          const askAtMs = input.promisedUntilMs - graceMs;
          if (!lock.fenced && prediction.missedKeepalives > 0 && nowMs < askAtMs) {
            rung.answerByMs = askAtMs;
            return [];
          }
          // A fenced lock can be revoked at any deadline: while its holder still renews, the request is timed so
          // that its grace ends when the staleness is predicted, and a forecast that fades meanwhile costs nothing.
          // Every new prediction re-times the request (a forecast may come closer, or the holder fall silent).
          const timedAtMs = fencedRequestAtMs(lock.fenced, prediction, graceMs + this.config.fencedRequestLeadMs);
          if (nowMs < timedAtMs) {
            rung.answerByMs = timedAtMs;
            rung.timed = true;
            return [];
          }
          rung.timed = false;
          rung.stage = 'PREEMPT_REQUESTED';
          rung.deadlineMs = nowMs + graceMs;
          rung.revokeAtMs = revokeAtMs(rung.deadlineMs, input.promisedUntilMs, lock.fenced);
          rung.reason = prediction.reasons.join(',') || 'stale';
          return [
            {
              type: 'preempt-request',
              resource: lock.resource,
              sessionId: lock.sessionId,
              token: lock.token,
              atMs: nowMs,
              deadlineMs: rung.deadlineMs,
              graceMs,
              revokeAtMs: rung.revokeAtMs,
              reason: rung.reason,
              prediction,
            },
          ];
        }
        if (prediction.level === 'LOW') {
          rung.stage = 'NORMAL';
          rung.timed = false;
        }
        return [];
      }
      case 'PREEMPT_REQUESTED': {
        if (nowMs < rung.revokeAtMs || input.thresholds.preemptionSuspended) return [];
        rung.stage = 'REVOKED';
        return [
          {
            type: 'revoke',
            resource: lock.resource,
            sessionId: lock.sessionId,
            token: lock.token,
            atMs: nowMs,
            reason: rung.reason,
          },
        ];
      }
      case 'REVOKED':
        return [];
    }
  }

  /** The client acknowledged the warning: one more acknowledgement period. Returns false when no warning is open. */
  acknowledge(resource: string, sessionId: string, nowMs: number): boolean {
    return this.extendAnswerWindow(resource, sessionId, nowMs, this.config.ackTimeoutMs);
  }

  /** The client is checkpointing and asks for `requestedMs` (capped at `maxCheckpointMs`). */
  checkpointing(resource: string, sessionId: string, requestedMs: number, nowMs: number): boolean {
    const askedMs = Math.min(Math.max(0, requestedMs), this.config.maxCheckpointMs);
    return this.extendAnswerWindow(resource, sessionId, nowMs, askedMs);
  }

  /**
   * The client said it is releasing: one more acknowledgement period for the release to commit (the ladder ends
   * with `lockEnded` when it does; a client that does not release is pre-empted as if it had only acknowledged).
   */
  releasing(resource: string, sessionId: string, nowMs: number): boolean {
    return this.extendAnswerWindow(resource, sessionId, nowMs, this.config.ackTimeoutMs);
  }

  /** The lock was released, revoked or lost with its session: its ladder ends. */
  lockEnded(resource: string, sessionId: string): void {
    const key = rungKey(resource, sessionId);
    const rung = this.rungs.get(key);
    if (rung === undefined) return;
    this.rungs.delete(key);
    this.pending.delete(rung);
  }

  /**
   * Starts over on promotion: every held lock is NORMAL (a new leader knows no warning its predecessor sent), and
   * predictions pre-empt only once they rest on `minSamples` keepalives. A lock's rung is made at its first
   * assessment, as NORMAL as one made here: a new leader of 100,000 locks made them all before answering a resume
   * (0.27 s), for locks most of which are never assessed (issue 13).
   */
  restore(): void {
    this.rungs.clear();
    this.pending.clear();
  }

  /** Where a lock stands (NORMAL when the ladder does not know it). */
  stage(resource: string, sessionId: string): LadderStage {
    return this.rungs.get(rungKey(resource, sessionId))?.stage ?? 'NORMAL';
  }

  /** The earliest time at which `evaluate` may act without a new prediction, or null when nothing waits. O(locks
   * warned or asked to yield), not O(held locks). */
  nextDeadlineMs(): number | null {
    let next: number | null = null;
    for (const rung of this.pending) {
      const at =
        rung.stage === 'WARNED' ? rung.answerByMs : rung.stage === 'PREEMPT_REQUESTED' ? rung.revokeAtMs : null;
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }

  private rung(lock: LadderLock): Rung {
    const key = rungKey(lock.resource, lock.sessionId);
    let rung = this.rungs.get(key);
    if (rung === undefined || rung.lock.token !== lock.token) {
      if (rung !== undefined) this.pending.delete(rung);
      rung = {
        lock,
        stage: 'NORMAL',
        answerByMs: 0,
        deadlineMs: 0,
        revokeAtMs: 0,
        reason: '',
        missedSeen: 0,
        timed: false,
      };
      this.rungs.set(key, rung);
    } else {
      rung.lock = lock;
    }
    return rung;
  }

  /** Pre-emption frees something, is allowed for this lock and mode, and the node may act on its judgement. */
  private mayPreempt(input: LadderInput): boolean {
    const { lock, prediction, thresholds } = input;
    return (
      this.config.mode === 'on' &&
      lock.preemptible &&
      !thresholds.preemptionSuspended &&
      prediction.samples >= input.minSamples &&
      (lock.waiters > 0 || prediction.missedKeepalives > 0)
    );
  }

  /**
   * A keepalive missed while a warning is active shortens every remaining wait (specification 7): the answer window
   * now, and the grace of a Pre-emption Request not yet sent. A revocation deadline already sent is a promise
   * (principle 2): it is never brought forward, so the client's safe period, capped by it, always ends first.
   */
  private accountMissedKeepalives(rung: Rung, missed: number, nowMs: number): void {
    if (missed <= rung.missedSeen) {
      rung.missedSeen = missed;
      return;
    }
    const factor = this.config.missedKeepaliveFactor ** (missed - rung.missedSeen);
    rung.missedSeen = missed;
    if (rung.stage === 'WARNED') {
      rung.answerByMs = nowMs + Math.max(0, rung.answerByMs - nowMs) * factor;
    }
  }

  private shortened(waitMs: number, missed: number): number {
    return waitMs * this.config.missedKeepaliveFactor ** missed;
  }

  private extendAnswerWindow(resource: string, sessionId: string, nowMs: number, waitMs: number): boolean {
    const rung = this.rungs.get(rungKey(resource, sessionId));
    if (rung === undefined || rung.stage !== 'WARNED') return false;
    rung.answerByMs = nowMs + this.shortened(waitMs, rung.missedSeen);
    return true;
  }
}
