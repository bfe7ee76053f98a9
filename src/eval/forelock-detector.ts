// The `forelock` and `forelock-guarded` detectors: the server's real SPM and pre-emption ladder, run in shadow mode.
import { defaultLadderConfig, PreemptionLadder } from '../rph/ladder.js';
import type { LadderAction, LadderLock } from '../rph/types.js';
import { AssessmentSchedule } from '../server/assessment-schedule.js';
import { SessionTracker } from '../session/tracker.js';
import { defaultSpmConfig } from '../spm/config.js';
import { StalenessPredictor } from '../spm/predictor.js';
import type { HeldLockView } from '../spm/types.js';
import { ManualClock } from '../util/clock.js';
import type { Detector, DetectorSink, DetectorSpec } from './detector.js';
import { keepaliveIntervalMs } from './detector.js';
import type { ObservableEvent, TraceHeader } from './trace.js';

/** How often the leader assesses every held lock and runs the ladder (the server's advice interval, 250 ms). */
export const EVALUATION_PERIOD_MS = 250;
/** Shadow mode: every held lock is wanted by one waiter (docs/design.md). */
const SHADOW_WAITERS = 1;

interface ShadowHold {
  readonly resource: string;
  readonly grantMs: number;
  /** The lock as the SPM and the ladder see it (built once per grant). */
  readonly lock: HeldLockView & LadderLock;
  /** A warning was sent and (in shadow mode) never answered. */
  warned: boolean;
  /** Already revoked (or expired with its session) in shadow mode. */
  revoked: boolean;
}

interface ShadowSession {
  readonly ttlMs: number;
  /** Last keepalive as the trace's server saw it (to tell an expiry from a close). */
  lastArrivalMs: number;
  readonly holds: Map<string, ShadowHold>;
}

/**
 * Drives one StalenessPredictor, one PreemptionLadder (server defaults) and one SessionTracker over a trace the way
 * the server's StalenessAdvisor does: every keepalive feeds the SPM and is answered with the SPM's guarantee (never
 * above the TTL), which extends the session's promise; every EVALUATION_PERIOD_MS every held lock is assessed, the
 * ladder advanced (those the server's AssessmentSchedule finds due: the rest would be assessed LOW with nothing to do),
 * and the SPM's bounded maintenance run; a Pre-emption Request records the warning as ignored (holders
 * never answer in shadow mode) and freezes the lock's promise; the ladder's revocation is the pre-emption moment. Locks
 * are fenced (`forelock`) or ordinary (`forelock-guarded`). A session whose promise ends without a renewal expires
 * then, freeing its locks; if the trace's client renews later it is tracked as a new session. At each keepalive the
 * probability of each lock the session holds is recorded for the Brier score.
 */
export class ForelockDetector implements Detector {
  private readonly clock = new ManualClock(0);
  private readonly predictor = new StalenessPredictor(defaultSpmConfig, this.clock);
  private readonly ladder = new PreemptionLadder(defaultLadderConfig);
  private readonly tracker = new SessionTracker();
  private readonly schedule = new AssessmentSchedule<HeldLockView & LadderLock>(this.predictor, {
    stepMs: EVALUATION_PERIOD_MS,
  });
  private overloaded = false;
  private readonly sessions = new Map<string, ShadowSession>();
  private nextTokenValue = 1n;
  private nextEvaluationMs = 0;
  private lastEvaluatedMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly header: TraceHeader,
    private readonly sink: DetectorSink,
    private readonly fenced: boolean,
  ) {}

  observe(event: ObservableEvent): void {
    // A recorded trace's t is epoch ms: start the evaluation grid at the first event, not at 0 (nothing happens before it).
    if (this.nextEvaluationMs === 0)
      this.nextEvaluationMs = Math.floor(event.t / EVALUATION_PERIOD_MS) * EVALUATION_PERIOD_MS;
    this.evaluateUntil(event.t);
    const t = event.t;
    if (t > this.clock.now()) this.clock.set(t);
    switch (event.type) {
      case 'load':
        this.predictor.observeLoad({ atMs: t, cpu: event.cpu, mem: event.mem, loopDelayMs: event.loop_delay_ms });
        return;
      case 'session':
        this.predictor.observeSessionOpened(
          event.session,
          event.ttl_ms,
          keepaliveIntervalMs(this.header, event.ttl_ms),
          t,
        );
        this.tracker.opened(event.session, event.ttl_ms, t);
        this.sessions.set(event.session, { ttlMs: event.ttl_ms, lastArrivalMs: t, holds: new Map() });
        return;
      case 'acquire':
        this.predictor.observeRequest({ resource: event.resource, atMs: t, sessionId: event.session });
        return;
      default:
        break;
    }
    const session = this.sessions.get(event.session);
    if (session === undefined) return;
    switch (event.type) {
      case 'keepalive':
        this.keepalive(event.session, session, t, event.client_time_ms, event.rtt_ms);
        return;
      case 'grant': {
        const token = this.nextTokenValue++;
        const lock = {
          resource: event.resource,
          sessionId: event.session,
          token,
          grantedAtMs: t,
          waiters: SHADOW_WAITERS,
          fenced: this.fenced,
          preemptible: true,
        };
        session.holds.set(event.resource, {
          resource: event.resource,
          grantMs: t,
          lock,
          warned: false,
          revoked: false,
        });
        this.predictor.observeGrant({ ...lock, atMs: t });
        this.schedule.holdStarted(lock, t);
        return;
      }
      case 'release': {
        const hold = session.holds.get(event.resource);
        if (hold !== undefined) this.endHold(event.session, session, hold, t);
        return;
      }
      case 'disconnect':
        this.predictor.observeDisconnect(event.session, t);
        this.schedule.sessionHeard(event.session, t);
        return;
      case 'close': {
        this.expireIfLapsed(event.session, session, t);
        for (const hold of [...session.holds.values()]) this.endHold(event.session, session, hold, t);
        this.predictor.observeSessionClosed(event.session, t >= session.lastArrivalMs + session.ttlMs);
        this.tracker.ended(event.session);
        this.sessions.delete(event.session);
        return;
      }
    }
  }

  finish(endMs: number): void {
    this.evaluateUntil(endMs);
    for (const [sessionId, session] of this.sessions) this.expireIfLapsed(sessionId, session, endMs);
  }

  private keepalive(
    sessionId: string,
    session: ShadowSession,
    t: number,
    clientTimeMs: number | undefined,
    rttMs: number | undefined,
  ): void {
    this.expireIfLapsed(sessionId, session, t);
    this.predictor.observeKeepalive({
      sessionId,
      receiveMs: t,
      ...(clientTimeMs === undefined ? {} : { clientTimeMs }),
      ...(rttMs === undefined ? {} : { rttMs }),
    });
    session.lastArrivalMs = t;
    const verdict = this.predictor.answerKeepalive(sessionId, t);
    this.schedule.sessionHeard(sessionId, t);
    const guaranteeMs = Math.min(session.ttlMs, verdict.guaranteeMs);
    const leaseMs = Math.max(guaranteeMs, verdict.leaseMs);
    if (this.tracker.keepaliveAnswered(sessionId, t, leaseMs) === null) {
      this.tracker.ended(sessionId);
      this.tracker.opened(sessionId, session.ttlMs, t);
      this.tracker.keepaliveAnswered(sessionId, t, leaseMs);
    }
    this.sink.answer(sessionId, t, guaranteeMs, this.promisedUntilMs(sessionId));
    for (const advisory of verdict.advisories) if (advisory.active) this.sink.advise(sessionId, t);
    for (const hold of session.holds.values()) {
      if (hold.revoked) continue;
      const prediction = this.predictor.assess(hold.lock, t);
      this.sink.probability(sessionId, hold.resource, t, prediction.stalenessProbability, prediction.horizonMs);
    }
  }

  /** Runs the periodic assessments that fall before `beforeMs`. */
  private evaluateUntil(beforeMs: number): void {
    for (;;) {
      // The regular pass, or (as the server arms it) an extra pass at the ladder's next deadline before it.
      const dueMs = this.ladder.nextDeadlineMs();
      const atDeadline = dueMs !== null && dueMs > this.lastEvaluatedMs && dueMs < this.nextEvaluationMs;
      const nowMs = atDeadline ? dueMs : this.nextEvaluationMs;
      if (nowMs >= beforeMs) return;
      if (!atDeadline) this.nextEvaluationMs += EVALUATION_PERIOD_MS;
      this.lastEvaluatedMs = nowMs;
      if (nowMs > this.clock.now()) this.clock.set(nowMs);
      const thresholds = this.predictor.thresholds(nowMs);
      if (thresholds.overloaded !== this.overloaded) {
        this.overloaded = thresholds.overloaded;
        this.schedule.allChanged(nowMs);
      }
      for (const [sessionId, session] of this.sessions) {
        this.expireIfLapsed(sessionId, session, nowMs);
        for (const hold of session.holds.values()) {
          if (hold.revoked || !this.schedule.isDue(hold.lock, nowMs)) continue;
          const actions = this.ladder.evaluate(
            {
              lock: hold.lock,
              prediction: this.predictor.assess(hold.lock, nowMs),
              thresholds,
              promisedUntilMs: this.promisedUntilMs(sessionId),
              minSamples: this.predictor.config.minSamples,
            },
            nowMs,
          );
          for (const action of actions) this.act(sessionId, hold, action);
          const stage = this.ladder.stage(hold.resource, sessionId);
          this.schedule.settled(hold.lock, stage === 'WARNED' || stage === 'PREEMPT_REQUESTED');
        }
      }
      this.predictor.maintain(nowMs);
    }
  }

  private act(sessionId: string, hold: ShadowHold, action: LadderAction): void {
    switch (action.type) {
      case 'warn':
        hold.warned = true;
        this.sink.warn(sessionId, hold.resource, action.atMs);
        return;
      case 'preempt-request':
        if (hold.warned) this.predictor.observeWarningOutcome(sessionId, 'ignored');
        this.tracker.requestRevocation(hold.resource, hold.lock.token, sessionId, action.deadlineMs, this.fenced);
        return;
      case 'revoke': {
        hold.revoked = true;
        const lockPromiseMs = this.tracker.revocation(hold.resource, sessionId)?.lockPromisedUntilMs;
        this.sink.preempt(sessionId, hold.resource, action.atMs, lockPromiseMs ?? this.promisedUntilMs(sessionId));
        return;
      }
    }
  }

  /** A session whose promise ended by `nowMs` without a renewal expired then, with every lock it held (as the
   * SessionTracker counts it: a renewal arriving exactly at the promise is too late). */
  private expireIfLapsed(sessionId: string, session: ShadowSession, nowMs: number): void {
    const promisedUntilMs = this.promisedUntilMs(sessionId);
    if (promisedUntilMs > nowMs) return;
    for (const hold of session.holds.values()) {
      const atMs = Math.max(hold.grantMs, promisedUntilMs);
      if (hold.revoked || atMs > nowMs) continue;
      hold.revoked = true;
      this.sink.preempt(sessionId, hold.resource, atMs, promisedUntilMs);
    }
  }

  private promisedUntilMs(sessionId: string): number {
    return this.tracker.promisedUntil(sessionId)!;
  }

  private endHold(sessionId: string, session: ShadowSession, hold: ShadowHold, atMs: number): void {
    session.holds.delete(hold.resource);
    this.ladder.lockEnded(hold.resource, sessionId);
    this.schedule.holdEnded(hold.lock);
    this.tracker.revocationDone(hold.resource, sessionId);
    this.predictor.observeRelease({ sessionId, resource: hold.resource, atMs, heldMs: atMs - hold.grantMs });
    this.schedule.historyChanged(hold.resource, atMs);
  }
}

/** `forelock`: the SPM and the ladder for fenced locks. */
export const forelockSpec: DetectorSpec = {
  name: 'forelock',
  warns: true,
  create: (header, sink) => new ForelockDetector(header, sink, true),
};

/** `forelock-guarded`: the same for ordinary locks, never revoked before the promise. */
export const forelockGuardedSpec: DetectorSpec = {
  name: 'forelock-guarded',
  warns: true,
  create: (header, sink) => new ForelockDetector(header, sink, false),
};
