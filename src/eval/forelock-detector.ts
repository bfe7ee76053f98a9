// The `forelock` and `forelock-guarded` detectors: the server's real SPM and pre-emption ladder, run in shadow mode.
import { defaultLadderConfig, PreemptionLadder } from '../rph/ladder.js';
import type { LadderAction, LadderLock } from '../rph/types.js';
import { SessionTracker } from '../session/tracker.js';
import { defaultSpmConfig } from '../spm/config.js';
import { StalenessPredictor } from '../spm/predictor.js';
import type { HeldLockView, SpmThresholds } from '../spm/types.js';
import { ManualClock } from '../util/clock.js';
import type { Detector, DetectorSink, DetectorSpec } from './detector.js';
import { keepaliveIntervalMs } from './detector.js';
import type { ObservableEvent, TraceHeader } from './trace.js';

/** How often the driver re-assesses every held lock between events (besides keepalives and ladder deadlines). */
export const EVALUATION_PERIOD_MS = 250;
/** How often the driver runs the SPM's bounded background work (ARIMA refits). */
export const MAINTENANCE_PERIOD_MS = 1000;
/** Shadow mode: every held lock is wanted by one waiter (EVALUATION.md). */
const SHADOW_WAITERS = 1;

interface ShadowHold {
  readonly resource: string;
  readonly token: bigint;
  readonly grantMs: number;
  /** The lock as the SPM and the ladder see it (built once per grant). */
  readonly lock: HeldLockView & LadderLock;
  /** A warning is open until then; the holder never answers (shadow mode), so it is then recorded as ignored. */
  ackDeadlineMs: number | null;
  /** Already revoked (or expired with its session) in shadow mode. */
  revoked: boolean;
}

interface ShadowSession {
  readonly ttlMs: number;
  /** Last keepalive as the trace's server saw it (to tell an expiry from a close). */
  lastArrivalMs: number;
  readonly holds: Map<string, ShadowHold>;
}

/** Runs one StalenessPredictor and one PreemptionLadder, with the server's defaults, over a trace, and a
 * SessionTracker for the promises they imply. Locks are fenced (`forelock`: it may revoke at its deadline) or ordinary
 * (`forelock-guarded`: never before the promise). A session whose promise passes without a renewal expires, as the
 * server would expire it, freeing its locks; if the trace's client renews later, it is tracked as a new session. */
export class ForelockDetector implements Detector {
  private readonly clock = new ManualClock(0);
  private readonly predictor = new StalenessPredictor(defaultSpmConfig, this.clock);
  private readonly ladder = new PreemptionLadder(defaultLadderConfig);
  private readonly tracker = new SessionTracker();
  private readonly sessions = new Map<string, ShadowSession>();
  private nextTokenValue = 1n;
  private processedMs = Number.NEGATIVE_INFINITY;
  private nextEvaluationMs = 0;
  private nextMaintenanceMs = 0;

  constructor(
    private readonly header: TraceHeader,
    private readonly sink: DetectorSink,
    private readonly fenced: boolean,
  ) {}

  observe(event: ObservableEvent): void {
    this.advanceTo(event.t);
    this.setTime(event.t);
    const t = event.t;
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
        this.predictor.observeRequest({ resource: event.resource, atMs: t });
        return;
      default:
        break;
    }
    const session = this.sessions.get(event.session);
    if (session === undefined) return;
    switch (event.type) {
      case 'keepalive': {
        this.expireIfLapsed(event.session, session, t);
        this.predictor.observeKeepalive({
          sessionId: event.session,
          receiveMs: t,
          ...(event.client_time_ms === undefined ? {} : { clientTimeMs: event.client_time_ms }),
          ...(event.rtt_ms === undefined ? {} : { rttMs: event.rtt_ms }),
        });
        session.lastArrivalMs = t;
        const guaranteeMs = this.predictor.guaranteeMs(event.session, t);
        if (this.tracker.keepaliveAnswered(event.session, t, guaranteeMs) === null) {
          this.tracker.ended(event.session);
          this.tracker.opened(event.session, session.ttlMs, t);
          this.tracker.keepaliveAnswered(event.session, t, guaranteeMs);
        }
        const thresholds = this.predictor.thresholds(t);
        for (const hold of session.holds.values()) this.evaluate(event.session, hold, t, thresholds, true);
        return;
      }
      case 'grant': {
        const token = this.nextTokenValue++;
        const hold: ShadowHold = {
          resource: event.resource,
          token,
          grantMs: t,
          lock: {
            resource: event.resource,
            sessionId: event.session,
            token,
            grantedAtMs: t,
            waiters: SHADOW_WAITERS,
            fenced: this.fenced,
            preemptible: true,
          },
          ackDeadlineMs: null,
          revoked: false,
        };
        session.holds.set(event.resource, hold);
        this.predictor.observeGrant({
          sessionId: event.session,
          resource: event.resource,
          token: hold.token,
          atMs: t,
          fenced: this.fenced,
          preemptible: true,
        });
        return;
      }
      case 'release': {
        const hold = session.holds.get(event.resource);
        if (hold !== undefined) this.endHold(event.session, session, hold, t);
        return;
      }
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
    this.advanceTo(endMs);
    for (const [sessionId, session] of this.sessions) this.expireIfLapsed(sessionId, session, endMs);
  }

  /** Runs the periodic evaluations and the ladder's deadlines that fall before `beforeMs`. */
  private advanceTo(beforeMs: number): void {
    for (;;) {
      const deadlineMs = this.ladder.nextDeadlineMs();
      let atMs = this.nextEvaluationMs;
      if (deadlineMs !== null && deadlineMs > this.processedMs && deadlineMs < atMs) atMs = deadlineMs;
      if (!(atMs < beforeMs)) return;
      this.setTime(atMs);
      if (atMs === this.nextEvaluationMs) this.nextEvaluationMs += EVALUATION_PERIOD_MS;
      if (atMs >= this.nextMaintenanceMs) {
        this.predictor.maintain(atMs);
        this.nextMaintenanceMs = atMs + MAINTENANCE_PERIOD_MS;
      }
      const thresholds = this.predictor.thresholds(atMs);
      for (const [sessionId, session] of this.sessions) {
        this.expireIfLapsed(sessionId, session, atMs);
        for (const hold of session.holds.values()) this.evaluate(sessionId, hold, atMs, thresholds, false);
      }
    }
  }

  private setTime(atMs: number): void {
    if (atMs > this.processedMs) {
      this.clock.set(atMs);
      this.processedMs = atMs;
    }
  }

  /** Assesses one held lock and advances its ladder; at a keepalive the probability is also recorded. */
  private evaluate(
    sessionId: string,
    hold: ShadowHold,
    nowMs: number,
    thresholds: SpmThresholds,
    atKeepalive: boolean,
  ): void {
    if (hold.revoked) return;
    if (hold.ackDeadlineMs !== null && nowMs >= hold.ackDeadlineMs) {
      hold.ackDeadlineMs = null;
      this.predictor.observeWarningOutcome(sessionId, 'ignored');
    }
    const prediction = this.predictor.assess(hold.lock, nowMs);
    if (atKeepalive)
      this.sink.probability(sessionId, hold.resource, nowMs, prediction.stalenessProbability, prediction.horizonMs);
    const actions = this.ladder.evaluate(
      {
        lock: hold.lock,
        prediction,
        thresholds,
        promisedUntilMs: this.promisedUntilMs(sessionId),
        minSamples: this.predictor.config.minSamples,
      },
      nowMs,
    );
    for (const action of actions) this.act(sessionId, hold, action);
  }

  private act(sessionId: string, hold: ShadowHold, action: LadderAction): void {
    switch (action.type) {
      case 'warn':
        hold.ackDeadlineMs = action.ackDeadlineMs;
        this.sink.warn(sessionId, hold.resource, action.atMs);
        return;
      case 'preempt-request':
        this.tracker.requestRevocation(hold.resource, hold.token, sessionId, action.deadlineMs, this.fenced);
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
    this.tracker.revocationDone(hold.resource, sessionId);
    this.predictor.observeRelease({ sessionId, resource: hold.resource, atMs, heldMs: atMs - hold.grantMs });
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
