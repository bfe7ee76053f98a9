// What the leader tells each session beyond the lock results: its guarantee (the SPM's, never above the TTL nor
// below the floor) and the lease that covers it, its session advisories, and, for each held lock, the RPH ladder's
// Staleness Warnings and Pre-emption Requests.
import type { LockEvent, LockMode } from '../lock/commands.js';
import type { LockStateMachine } from '../lock/state-machine.js';
import type { ResourceUsageView } from '../lock/usage.js';
import { PreemptionLadder } from '../rph/ladder.js';
import type { LadderAction, LadderConfig, LadderLock, PreemptionMode } from '../rph/types.js';
import type { SessionTracker } from '../session/tracker.js';
import { StalenessPredictor } from '../spm/predictor.js';
import type {
  HeldLockView,
  KeepaliveSample,
  LoadSample,
  SessionAdvisoryChange,
  SpmConfig,
  UsageHistory,
} from '../spm/types.js';
import type { Clock } from '../util/clock.js';
import type { WireWarningKind } from '../util/wire-frames.js';
import { AssessmentSchedule } from './assessment-schedule.js';
import { type Guarantee, type GuaranteePolicy, guaranteeOf } from './guarantee.js';
import type { LeaderDuties } from './leader-duties.js';
import type { ServerMetrics } from './metrics.js';
import type { SessionHub } from './session-hub.js';
import type { TraceRecorder } from './trace-recorder.js';

/** How the advisor is built. */
export interface StalenessAdvisorDeps {
  readonly machine: LockStateMachine;
  readonly tracker: SessionTracker;
  /** Where warnings, pre-emption requests and advisories go: the node's SessionHub, or the simulator's clients. */
  readonly hub: Pick<SessionHub, 'push'>;
  readonly clock: Clock;
  readonly metrics: ServerMetrics;
  /** `off`: the TTL guarantee and no warnings; `warn-only`: the SPM's guarantee and warnings; `on`: also pre-empts. */
  readonly mode: PreemptionMode;
  /** SPM settings that differ from the defaults (none by default). */
  readonly spm?: Partial<SpmConfig>;
  /** Ladder timings that differ from the defaults (none by default). */
  readonly ladder?: Partial<Omit<LadderConfig, 'mode'>>;
  /** Records every observation as a trace line (`--record-trace`), whatever the mode. */
  readonly recorder?: TraceRecorder;
  /**
   * Runs work in a later turn of the event loop (the node: setImmediate). With it, taking office indexes the held
   * locks a few thousand per turn; without it (the simulator, tests), at once.
   */
  readonly defer?: (work: () => void) => void;
}

/**
 * Held locks indexed per turn on taking office: a new leader of 100,000 locks indexed them in one go, for 1-2.5 s on a
 * loaded machine, long enough for its followers to miss its heartbeats and elect another, which did the same (issue 13).
 */
const HOLDS_INDEXED_PER_TURN = 2_000;

/** A hold as the ladder and the predictor both read it; `waiters` is refreshed before each assessment. */
type HeldLock = LadderLock & HeldLockView & { waiters: number };

/** A warning sent and not yet settled: its id and the reason that led it (metrics are counted by reason). */
interface OpenWarning {
  readonly warningId: string;
  readonly reason: string;
  answered: boolean;
}

function lockKey(resource: string, sessionId: string): string {
  return `${resource}\u0000${sessionId}`;
}

/** The order a full walk of `machine.locks()` assessed them in: by name, then holders in grant order. */
function byNameThenGrant(a: HeldLock, b: HeldLock): number {
  if (a.resource !== b.resource) return a.resource < b.resource ? -1 : 1;
  return a.token < b.token ? -1 : a.token > b.token ? 1 : 0;
}

/** A resource's replicated usage history as the SPM reads it: requests per contiguous bucket, oldest first. */
export function usageHistoryOf(usage: ResourceUsageView): UsageHistory {
  const first = usage.buckets[0];
  const last = usage.buckets.at(-1);
  const requestsPerBucket: number[] = [];
  if (first !== undefined && last !== undefined) {
    const counts = new Map(usage.buckets.map((bucket) => [bucket.startMs, bucket.requests]));
    for (let startMs = first.startMs; startMs <= last.startMs; startMs += usage.bucketMs) {
      requestsPerBucket.push(counts.get(startMs) ?? 0);
    }
  }
  return {
    resource: usage.name,
    holdDurationsMs: usage.holdDurationsMs,
    requestsPerBucket,
    bucketMs: usage.bucketMs,
    endMs: last === undefined ? 0 : last.startMs + usage.bucketMs,
  };
}

/** The leader's SPM and RPH, fed from keepalives, the applied log and the node's load (docs/design.md). */
export class StalenessAdvisor implements GuaranteePolicy {
  readonly predictor: StalenessPredictor;
  readonly ladder: PreemptionLadder;
  private readonly warnings = new Map<string, OpenWarning>();
  /** The guarantee last sent to each session (the one "now in force" that a warning names). */
  private readonly lastGuaranteeMs = new Map<string, number>();
  /** Warned holds released in the entry being applied; false warnings unless their session expired in it. */
  private releasedWarned: { sessionId: string; reason: string }[] = [];
  private readonly expiredInEntry = new Set<string>();
  private warningCount = 0;
  /** Open advisory episodes, condition and session -> advisory id (its end frame carries the same id). */
  private readonly advisories = new Map<string, string>();
  private advisoryCount = 0;
  /**
   * While this node has held office: every hold, by lockKey, kept from the applied events (built from the state
   * machine on taking office), and when each needs assessing. Evaluations then cost what changed, not what is held.
   */
  private readonly held = new Map<string, HeldLock>();
  private schedule: AssessmentSchedule<HeldLock> | null = null;
  /** The node's overload as the last evaluation saw it: its change moves every session's lapse risk. */
  private overloaded = false;
  /** Counts the offices taken: an indexing of the holds still going when a newer office starts stops. */
  private offices = 0;

  constructor(
    private readonly deps: StalenessAdvisorDeps,
    /** The evaluation period (the schedule searches its bounds at this resolution). */
    private readonly evaluationPeriodMs = 250,
  ) {
    this.predictor = new StalenessPredictor(deps.spm ?? {}, deps.clock);
    this.ladder = new PreemptionLadder({ ...deps.ladder, mode: deps.mode });
  }

  private get predicting(): boolean {
    return this.deps.mode !== 'off';
  }

  // ---- the guarantee (GuaranteePolicy) ----

  keepaliveReceived(sample: KeepaliveSample): void {
    this.deps.recorder?.keepalive(sample);
    if (this.predicting) this.predictor.observeKeepalive(sample);
  }

  guaranteeFor(sessionId: string, ttlMs: number, nowMs: number): Guarantee {
    if (!this.predicting) {
      this.lastGuaranteeMs.set(sessionId, ttlMs);
      return guaranteeOf(ttlMs);
    }
    const verdict = this.predictor.answerKeepalive(sessionId, nowMs);
    this.schedule?.sessionHeard(sessionId, nowMs);
    const guaranteeMs = Math.min(ttlMs, verdict.guaranteeMs);
    this.lastGuaranteeMs.set(sessionId, guaranteeMs);
    for (const change of verdict.advisories) this.advise(change, guaranteeMs);
    return guaranteeOf(guaranteeMs, Math.max(guaranteeMs, verdict.leaseMs));
  }

  /** A session condition began or ended: one advisory frame each way per episode, never one per held lock. */
  private advise(change: SessionAdvisoryChange, guaranteeMs: number): void {
    const key = lockKey(change.condition, change.sessionId);
    let advisoryId = this.advisories.get(key);
    if (change.active || advisoryId === undefined) {
      advisoryId = `a${++this.advisoryCount}`;
      this.advisories.set(key, advisoryId);
    }
    if (!change.active) this.advisories.delete(key);
    this.deps.hub.push(change.sessionId, {
      advisory: {
        advisoryId,
        condition: change.condition,
        active: change.active,
        detail: change.detail,
        guaranteeMs,
        clockRateError: change.clockRateError,
        probability: change.probability,
      },
    });
    if (change.active) this.deps.metrics.warnings.inc({ reason: change.condition });
  }

  // ---- what the node observes ----

  /** The node's own load (event-loop delay, CPU, memory), sampled by the driver. */
  observeLoad(sample: LoadSample): void {
    this.deps.recorder?.load(sample);
    if (this.predicting) this.predictor.observeLoad(sample);
  }

  /**
   * The session's connection to this leader ended from the client's side without the session being closed (the
   * client went away, e.g. its process died and its kernel closed its socket), at `atMs` on this node's clock. A live
   * SDK redials and resumes at once; the SPM takes a session that is not back in time for dead, and its held locks are
   * searched again so that they are assessed when the reconnect is due (docs/design.md, "How the SPM reads a session").
   */
  sessionDisconnected(sessionId: string, atMs: number): void {
    this.deps.recorder?.disconnected(sessionId, atMs);
    if (!this.predicting) return;
    this.predictor.observeDisconnect(sessionId, atMs);
    this.schedule?.sessionHeard(sessionId, atMs);
  }

  /** The leader received an acquire: demand for the resource, and a sign of life from the session. */
  requested(sessionId: string, resource: string, atMs: number, mode?: LockMode): void {
    this.deps.recorder?.requested(sessionId, resource, atMs, mode);
    if (this.predicting) this.predictor.observeRequest({ resource, atMs, sessionId });
  }

  /**
   * Every applied event. Sessions are followed on every node (the failures seen are the SPM's prior). Holds and
   * resource histories are followed from the first time this node takes office: tookOffice reads every hold and every
   * resource's replicated usage history from the state machine, which replaces whatever the events had taught the
   * SPM, so a node that has never led spends nothing per grant or release. That is most of a restarted node's replay
   * (issue 13: 0.9 s of 2.3 s replaying 100,000 grants), and all of a follower's prediction work.
   */
  applied(event: LockEvent): void {
    this.deps.recorder?.applied(event);
    if (!this.predicting) return;
    switch (event.type) {
      case 'session-opened': {
        const ttlMs = this.deps.machine.sessionTtlMs(event.sessionId);
        if (ttlMs !== undefined) this.predictor.observeSessionOpened(event.sessionId, ttlMs, ttlMs / 3, event.atMs);
        return;
      }
      case 'session-ended':
        this.predictor.observeSessionClosed(event.sessionId, event.expired);
        this.schedule?.sessionEnded(event.sessionId);
        this.advisories.delete(lockKey('clock-drift', event.sessionId));
        this.advisories.delete(lockKey('link-degrading', event.sessionId));
        this.lastGuaranteeMs.delete(event.sessionId);
        if (event.expired) this.expiredInEntry.add(event.sessionId);
        return;
      case 'granted': {
        if (this.schedule === null) return;
        this.predictor.observeGrant({
          sessionId: event.sessionId,
          resource: event.name,
          token: event.token,
          atMs: event.atMs,
          fenced: event.fenced,
          preemptible: event.preemptible,
        });
        this.addHeld({
          resource: event.name,
          sessionId: event.sessionId,
          token: event.token,
          fenced: event.fenced,
          preemptible: event.preemptible,
          waiters: 0,
          grantedAtMs: event.atMs,
        });
        return;
      }
      case 'released':
      case 'revoked':
        if (this.schedule !== null) this.holdEnded(event, this.schedule);
        return;
      default:
        return;
    }
  }

  private holdEnded(
    event: Extract<LockEvent, { type: 'released' | 'revoked' }>,
    schedule: AssessmentSchedule<HeldLock>,
  ): void {
    const key = lockKey(event.name, event.sessionId);
    const held = this.held.get(key);
    const heldMs = event.type === 'released' ? event.heldMs : event.atMs - (held?.grantedAtMs ?? event.atMs);
    this.predictor.observeRelease({ sessionId: event.sessionId, resource: event.name, atMs: event.atMs, heldMs });
    this.ladder.lockEnded(event.name, event.sessionId);
    if (held !== undefined) {
      this.held.delete(key);
      schedule.holdEnded(held);
    }
    schedule.historyChanged(event.name, event.atMs);
    const warning = this.warnings.get(key);
    this.warnings.delete(key);
    if (warning === undefined) return;
    if (event.type === 'revoked' && event.cause === 'preemption') {
      this.deps.metrics.forcedRevocations.inc({ reason: warning.reason });
      return;
    }
    if (event.type === 'released') {
      // Released in this entry: a false warning unless the same entry expired the session (settled after it).
      if (this.releasedWarned.length === 0) queueMicrotask(() => this.settleReleasedWarnings());
      this.releasedWarned.push({ sessionId: event.sessionId, reason: warning.reason });
    }
  }

  private settleReleasedWarnings(): void {
    for (const { sessionId, reason } of this.releasedWarned) {
      if (!this.expiredInEntry.has(sessionId)) this.deps.metrics.falseWarnings.inc({ reason });
    }
    this.releasedWarned = [];
    this.expiredInEntry.clear();
  }

  /** This node took office: every held lock starts NORMAL, every session fresh, resources warm from the log. */
  tookOffice(nowMs: number): void {
    if (!this.predicting) return;
    const { machine } = this.deps;
    this.warnings.clear();
    for (const session of machine.sessions()) {
      this.predictor.observeSessionOpened(session.sessionId, session.ttlMs, session.ttlMs / 3, nowMs);
    }
    for (const name of machine.resources()) {
      const usage = machine.usage(name);
      if (usage !== undefined) this.predictor.observeUsageHistory(usageHistoryOf(usage));
    }
    // The one walk of every hold per office, session by session: from here on the applied events keep the index.
    this.held.clear();
    this.schedule = new AssessmentSchedule(this.predictor, { stepMs: this.evaluationPeriodMs });
    this.overloaded = this.predictor.thresholds(nowMs).overloaded;
    this.ladder.restore();
    const office = ++this.offices;
    this.indexHolds(
      office,
      machine.sessions().map((session) => session.sessionId),
      0,
    );
  }

  /**
   * Indexes the holds of `sessionIds` from `from` on as the state machine has them now, a few thousand per turn when
   * the advisor may defer. Events applied meanwhile keep the index as in office: a hold granted since is indexed
   * already (kept as it is), one released since is no longer the machine's. A hold not indexed yet is not assessed
   * until it is; nothing could be revoked in that time (every session was just given a full TTL).
   */
  private indexHolds(office: number, sessionIds: readonly string[], from: number): void {
    if (office !== this.offices) return;
    const { machine, defer } = this.deps;
    let indexed = 0;
    for (let i = from; i < sessionIds.length; i++) {
      if (defer !== undefined && indexed >= HOLDS_INDEXED_PER_TURN) {
        defer(() => this.indexHolds(office, sessionIds, i));
        return;
      }
      const sessionId = sessionIds[i] as string;
      for (const { name, holder } of machine.sessionHolds(sessionId)) {
        if (this.held.get(lockKey(name, sessionId))?.token === holder.token) continue;
        this.addHeld({
          resource: name,
          sessionId,
          token: holder.token,
          fenced: holder.fenced,
          preemptible: holder.preemptible,
          waiters: machine.waiterCount(name),
          grantedAtMs: holder.grantedAtMs,
        });
        indexed++;
      }
    }
  }

  private addHeld(hold: HeldLock): void {
    const schedule = this.schedule as AssessmentSchedule<HeldLock>;
    const key = lockKey(hold.resource, hold.sessionId);
    const previous = this.held.get(key);
    if (previous !== undefined) schedule.holdEnded(previous);
    this.held.set(key, hold);
    schedule.holdStarted(hold, this.deps.clock.now());
  }

  // ---- the ladder ----

  /**
   * Assesses the held locks whose assessment may act now (AssessmentSchedule: those of sessions whose lapse risk has
   * grown, holds aged past their resource's history, locks on the ladder), in the order of their names, and performs
   * what the ladder asks: warnings and requests go to the session's stream, revocations to `duties`, which proposes
   * them when due. Every other held lock would be assessed LOW with nothing to do. Only a leader in office acts.
   */
  evaluate(nowMs: number, duties: LeaderDuties): void {
    const { schedule } = this;
    if (!this.predicting || !duties.active || schedule === null) return;
    const thresholds = this.predictor.thresholds(nowMs);
    if (thresholds.overloaded !== this.overloaded) {
      this.overloaded = thresholds.overloaded;
      schedule.allChanged(nowMs);
    }
    const due = schedule.due(nowMs).sort(byNameThenGrant);
    for (const lock of due) {
      lock.waiters = this.deps.machine.waiterCount(lock.resource);
      const prediction = this.predictor.assess(lock, nowMs);
      const actions = this.ladder.evaluate(
        {
          lock,
          prediction,
          thresholds,
          promisedUntilMs: this.deps.tracker.promisedUntil(lock.sessionId) ?? nowMs,
          minSamples: this.predictor.config.minSamples,
        },
        nowMs,
      );
      for (const action of actions) this.perform(action, lock, nowMs, duties);
      const stage = this.ladder.stage(lock.resource, lock.sessionId);
      schedule.settled(lock, stage === 'WARNED' || stage === 'PREEMPT_REQUESTED');
    }
    this.predictor.maintain(nowMs);
  }

  private perform(action: LadderAction, lock: LadderLock, nowMs: number, duties: LeaderDuties): void {
    const key = lockKey(action.resource, action.sessionId);
    const { hub, metrics } = this.deps;
    switch (action.type) {
      case 'warn': {
        const { prediction } = action;
        const reason = prediction.reasons[0] ?? 'stale';
        const warningId = `w${++this.warningCount}`;
        this.warnings.set(key, { warningId, reason, answered: false });
        const staleInMs = prediction.predictedStaleInMs ?? prediction.horizonMs;
        hub.push(action.sessionId, {
          warning: {
            warningType: 'Staleness Warning',
            resourceId: action.resource,
            warningId,
            token: String(action.token),
            predictedStalenessMs: staleInMs,
            predictedStaleAtMs: prediction.predictedStaleAtMs ?? nowMs + staleInMs,
            preemptionScore: Math.round(prediction.preemptionScore),
            probability: prediction.stalenessProbability,
            reasons: [...prediction.reasons],
            ackTimeoutMs: Math.max(0, Math.round(action.ackDeadlineMs - nowMs)),
            guaranteeMs: this.lastGuaranteeMs.get(action.sessionId) ?? 0,
          },
        });
        metrics.warnings.inc({ reason });
        return;
      }
      case 'preempt-request': {
        const warning = this.warnings.get(key);
        if (warning !== undefined && !warning.answered)
          this.predictor.observeWarningOutcome(action.sessionId, 'ignored');
        duties.holdForPreemption(action.resource, action.token, action.sessionId, lock.fenced, action.reason);
        hub.push(action.sessionId, {
          preemption: {
            resourceId: action.resource,
            token: String(action.token),
            graceMs: Math.round(action.graceMs),
            revokeAtMs: action.revokeAtMs,
            reason: action.reason,
            warningId: warning?.warningId ?? '',
          },
        });
        metrics.preemptionRequests.inc({ reason: warning?.reason ?? action.reason });
        return;
      }
      case 'revoke':
        duties.preemptNow(action.resource, action.token, action.sessionId, lock.fenced);
        return;
    }
  }

  /** A client's answer to a warning (or to a Pre-emption Request); false when no warning of that lock is open. */
  answered(sessionId: string, name: string, kind: WireWarningKind, checkpointMs: number, nowMs: number): boolean {
    const warning = this.warnings.get(lockKey(name, sessionId));
    if (warning === undefined) return false;
    const accepted =
      kind === 'CHECKPOINTING'
        ? this.ladder.checkpointing(name, sessionId, checkpointMs, nowMs)
        : kind === 'RELEASING'
          ? this.ladder.releasing(name, sessionId, nowMs)
          : this.ladder.acknowledge(name, sessionId, nowMs);
    warning.answered = true;
    const outcome = kind === 'CHECKPOINTING' ? 'checkpointing' : kind === 'RELEASING' ? 'released' : 'acked';
    this.predictor.observeWarningOutcome(sessionId, outcome);
    this.deps.metrics.warningAnswers.inc({ kind: outcome, reason: warning.reason });
    return accepted;
  }
}
