// The Staleness Prediction Module: fed with samples, it predicts which lock holders are about to go stale.
import type { Clock } from '../util/clock.js';
import { RecentMax } from '../util/recent-max.js';
import { forecastArima } from './arima-forecaster.js';
import type { DriftEstimate } from './clock-drift.js';
import { resolveSpmConfig } from './config.js';
import { EventRate } from './event-rate.js';
import { NodeHealth } from './node-health.js';
import { clamp01, normalCdf } from './normal.js';
import { ResourceStats } from './resource-stats.js';
import {
  believedGuaranteeMs,
  clockOutOfBoundRisk,
  driftRisk,
  type LapseInput,
  type LapseRisk,
  lapseRisk,
  lateToleranceMs,
  longestSafeGuaranteeMs,
  preemptionScore,
  renewalQuantileMs,
  stuckRisk,
} from './risk.js';
import { SessionModel } from './session-model.js';
import { DynamicThresholds } from './thresholds.js';
import type {
  GrantSample,
  HeldLockView,
  KeepaliveSample,
  KeepaliveVerdict,
  LoadSample,
  LockPrediction,
  ReleaseSample,
  RequestSample,
  SessionAdvisoryChange,
  SessionCondition,
  SpmConfig,
  SpmThresholds,
  StalenessLevel,
  StalenessReason,
  UsageHistory,
  WarningOutcome,
} from './types.js';

/** The per-lock signal reasons, in the order `rankReasons` takes their weights; the first is told as `connection-lost`
 * for a session gone without a close. (A rising round trip and a drifting clock are conditions of the session: they
 * are told by advisory, once per episode.) */
const REASON_ORDER: readonly StalenessReason[] = ['keepalive-late', 'hold-too-long'];
/** A contribution below this does not make a reason. */
const REASON_FLOOR = 0.1;
/**
 * Resources whose statistics are kept (up to 2.5 KB each, about 200 bytes for a name held once, as their windows
 * grow with their samples): the least recently used beyond it are forgotten, as the
 * replicated usage history (defaultUsageLimits.maxResources) forgets them, so that a million distinct names used once
 * each do not stay in memory for good (issue 13).
 */
const MAX_RESOURCE_STATS = 10_000;
/** Common cause needs at least this many sessions with enough samples to be judged. */
const COMMON_CAUSE_MIN_SESSIONS = 3;
/** How often (virtual ms) the common-cause scan over all sessions may run. */
const COMMON_CAUSE_SCAN_MS = 1_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Until the cluster shows otherwise, a late arrival is taken to be as late as a lost keepalive (one interval), with
 * the weight of this many observations. */
const LATE_EXCESS_PRIOR_WEIGHT = 5;
/**
 * How long a silence that a live session came back from is remembered: the pauses a host's workload makes (GC
 * cycles, batch jobs, a swapping neighbour) come back within minutes, and a one-off is forgotten after ten.
 */
const RECOVERED_SILENCE_MEMORY_MS = 10 * 60_000;
/**
 * Round trips a live client needs to be heard from again after its connection ended: a dial (TCP, and TLS when on),
 * the resume, and the keepalive the SDK sends at once on resume. Counted in the session's own round trips, so it holds
 * on a LAN and across the world alike.
 */
const RECONNECT_ROUND_TRIPS = 4;
/** Shared by every keepalive answer that changes no condition. */
const NO_ADVISORIES: readonly SessionAdvisoryChange[] = Object.freeze([]);

/** Shared by every prediction without reasons (most of them): never mutated. */
const NO_REASONS: readonly StalenessReason[] = Object.freeze([]);

/**
 * The reasons whose contribution reaches the floor, strongest first (four at most: an insertion sort), then the
 * conditions in force. Allocates only when there is something to say.
 */
function rankReasons(
  late: number,
  stuck: number,
  unknown: boolean,
  overloaded: boolean,
  commonCause: boolean,
  lateReason: StalenessReason,
): readonly StalenessReason[] {
  if (late < REASON_FLOOR && stuck < REASON_FLOOR) {
    if (!unknown && !overloaded && !commonCause) return NO_REASONS;
  }
  const reasons: StalenessReason[] = [];
  const weights: number[] = [];
  for (let i = 0; i < REASON_ORDER.length; i++) {
    const weight = i === 0 ? late : stuck;
    if (weight < REASON_FLOOR) continue;
    let at = weights.length;
    while (at > 0 && (weights[at - 1] as number) < weight) at--;
    reasons.splice(at, 0, i === 0 ? lateReason : (REASON_ORDER[i] as StalenessReason));
    weights.splice(at, 0, weight);
  }
  if (unknown) reasons.push('session-unknown');
  if (overloaded) reasons.push('node-overload');
  if (commonCause) reasons.push('common-cause');
  return reasons;
}

/** A lock's share of its session's lapse: the session dead, or alive and its next renewal too late. */
function lockLapse(risk: LapseRisk): number {
  return risk.deadProbability + (1 - risk.deadProbability) * risk.nextLateProbability;
}

function lockKey(resource: string, sessionId: string): string {
  return `${resource}\u0000${sessionId}`;
}

/**
 * The SPM (docs/design.md): an O(1) online model per session, ARIMA for per-resource demand and for at-risk
 * sessions (refitted by `maintain` within a bounded number of fits), dynamic thresholds. Pure: time comes from the
 * arguments or the injected clock, and it does no I/O.
 */
export class StalenessPredictor {
  readonly config: SpmConfig;
  private readonly sessions = new Map<string, SessionModel>();
  private readonly resources = new Map<string, ResourceStats>();
  /** The round robin of `maintain`, in the order resources came; a forgotten name stays until the next compaction. */
  private resourceNames: string[] = [];
  private listedNames = new Set<string>();
  private resourceCursor = 0;
  private readonly health: NodeHealth;
  private readonly dynamic: DynamicThresholds;
  /** The cluster's record: keepalives lost and sessions dead, per keepalive interval. */
  private readonly lossRate: EventRate;
  private readonly deathRate: EventRate;
  /** Arrivals later than the rhythm allows that were not one lost keepalive, and how late they came. */
  private readonly lateRate: EventRate;
  private lateExcessSumMs = 0;
  private lateExcessCount = 0;
  /**
   * The longest silence, in keepalive intervals of its own session, that a live session of this cluster came back
   * from lately: no silent holder is asked to yield while a silence that long still explains its own.
   */
  private readonly recoveredSilence = new RecentMax(RECOVERED_SILENCE_MEMORY_MS);
  /** The longest time, in ms, a live session of this cluster took lately from losing its connection to its next
   * keepalive: no disconnected holder is taken for dead sooner. */
  private readonly recoveredReconnect = new RecentMax(RECOVERED_SILENCE_MEMORY_MS);
  /** Sessions whose connection ended lately (within one of their keepalive intervals), for the shared-cause check. */
  private recentDisconnects: SessionModel[] = [];
  /** Until then a disconnect is taken for a shared cause, not a death (a proxy or a path that dropped many at once). */
  private sharedDisconnectUntilMs = Number.NEGATIVE_INFINITY;
  /** Locks whose assessment was HIGH (a warning), until their outcome is known: key -> session. */
  private readonly warned = new Map<string, string>();
  private readonly lapseInput: Mutable<LapseInput>;
  private thresholdsCache: SpmThresholds | null = null;
  private commonCauseUntilMs = Number.NEGATIVE_INFINITY;
  private commonCauseScannedMs = Number.NEGATIVE_INFINITY;

  constructor(
    config: Partial<SpmConfig>,
    private readonly clock: Clock,
  ) {
    this.config = resolveSpmConfig(config);
    this.health = new NodeHealth(this.config.overloadLoopDelayMs, this.config.overloadCpu, this.config.conditionHoldMs);
    this.dynamic = new DynamicThresholds(this.config);
    this.lossRate = new EventRate(this.config.keepaliveLossProbability, this.config.failurePriorIntervals);
    this.deathRate = new EventRate(this.config.failurePriorPerInterval, this.config.failurePriorIntervals);
    this.lateRate = new EventRate(this.config.keepaliveLossProbability, this.config.failurePriorIntervals);
    this.lapseInput = {
      forecast: { meanMs: 0, stdDevMs: 0, trendMsPerStep: 0 },
      silenceMs: 0,
      heardSilenceMs: 0,
      leaseRemainingMs: 0,
      guaranteeMs: 0,
      keepaliveIntervalMs: 0,
      horizonMs: 0,
      lossProbability: this.config.keepaliveLossProbability,
      lateProbability: this.config.keepaliveLossProbability,
      lateMeanExcessMs: this.config.ttlMs / 3,
      failurePriorPerInterval: this.config.failurePriorPerInterval,
      loadDelayMs: 0,
      lookaheadRenewals: this.config.lookaheadRenewals,
      unreachable: false,
    };
  }

  /** A session opened (or was found live by a new leader): its promise starts at `atMs + ttlMs`. */
  observeSessionOpened(
    sessionId: string,
    ttlMs: number = this.config.ttlMs,
    keepaliveIntervalMs: number = ttlMs / 3,
    atMs: number = this.clock.now(),
  ): void {
    this.sessions.set(sessionId, new SessionModel(sessionId, ttlMs, keepaliveIntervalMs, atMs, this.config));
  }

  /** A session ended; `expired` says it lost its lease (warnings on its locks then proved right). */
  observeSessionClosed(sessionId: string, expired = false): void {
    if (expired && this.sessions.has(sessionId)) this.deathRate.observeEvent();
    this.sessions.delete(sessionId);
    for (const [key, owner] of this.warned) {
      if (owner !== sessionId) continue;
      this.warned.delete(key);
      this.dynamic.recordOutcome(expired);
    }
  }

  /** A keepalive received: O(1), no allocation beyond the first one of an unknown session. */
  observeKeepalive(sample: KeepaliveSample): void {
    let session = this.sessions.get(sample.sessionId);
    if (session === undefined) {
      session = new SessionModel(
        sample.sessionId,
        this.config.ttlMs,
        this.config.ttlMs / 3,
        sample.receiveMs,
        this.config,
      );
      this.sessions.set(sample.sessionId, session);
    } else if (session.resuming) {
      // Back after losing its connection: how long that took is what live clients of this cluster need. The keepalive
      // was sent at once on resume, so its gap judges neither the rhythm nor the loss model.
      if (session.disconnectedAtMs !== null) {
        this.recoveredReconnect.observe(sample.receiveMs, Math.max(0, sample.receiveMs - session.disconnectedAtMs));
      }
    } else if (session.samples > 0) {
      const verdict = session.judgeGap(sample.receiveMs - session.lastReceiveMs);
      this.lossRate.observeTrial(verdict.missed);
      this.lateRate.observeTrial(verdict.late);
      if (verdict.late) {
        this.lateExcessSumMs += verdict.excessMs;
        this.lateExcessCount++;
      }
      this.deathRate.observeTrial(false);
      // A keepalive lost in transit is the loss model's (with the session's own tolerance), not a pause: the longest
      // of many such silences would only stretch every silent holder's wait past what one loss explains.
      if (!verdict.missed) {
        const silence = (sample.receiveMs - session.lastReceiveMs) / session.keepaliveIntervalMs;
        this.recoveredSilence.observe(sample.receiveMs, silence);
      }
    }
    session.observe(sample, this.health.overloaded(sample.receiveMs));
  }

  /**
   * The session's connection ended at `atMs` without the session being closed: the client went away (a process that
   * dies has its connection closed by its kernel), not this node. Until its next keepalive the session's silence is
   * no longer explained by a keepalive lost in transit or a pause (a paused process keeps its connection): a live
   * client redials and resumes, and its SDK sends a keepalive at once. One that is not back by `reconnectDueMs` is
   * taken for dead, unless many connections ended at once (a shared cause, below).
   */
  observeDisconnect(sessionId: string, atMs: number = this.clock.now()): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.resuming) return;
    session.resuming = true;
    // Clients die one at a time: COMMON_CAUSE_MIN_SESSIONS connections lost within an interval of each other, still
    // not back, are one cause shared on the way (a proxy or load balancer restarting, a path, this node's network),
    // and their clients are judged by their silence alone, as is every disconnect for conditionHoldMs after.
    this.recentDisconnects = this.recentDisconnects.filter(
      (other) => other.disconnectedAtMs !== null && atMs - other.disconnectedAtMs < other.keepaliveIntervalMs,
    );
    if (atMs < this.sharedDisconnectUntilMs) return;
    session.disconnectedAtMs = atMs;
    this.recentDisconnects.push(session);
    if (this.recentDisconnects.length < COMMON_CAUSE_MIN_SESSIONS) return;
    for (const other of this.recentDisconnects) other.disconnectedAtMs = null;
    this.recentDisconnects = [];
    this.sharedDisconnectUntilMs = atMs + this.config.conditionHoldMs;
  }

  /** The node's own load, measured by the driver. */
  observeLoad(sample: LoadSample): void {
    this.health.observe(sample);
  }

  /** A grant applied from the log: the resource joins those whose demand is forecast. */
  observeGrant(sample: GrantSample): void {
    this.resource(sample.resource);
  }

  /** A release (or revocation) applied from the log: one more hold duration for the resource's history. */
  observeRelease(sample: ReleaseSample): void {
    this.resource(sample.resource).addHold(sample.heldMs);
    const key = lockKey(sample.resource, sample.sessionId);
    if (this.warned.delete(key)) this.dynamic.recordOutcome(false);
    this.sessions.get(sample.sessionId)?.heardFrom(sample.atMs);
  }

  /** A lock requested: demand, and the requester is alive. */
  observeRequest(sample: RequestSample): void {
    this.resource(sample.resource).addRequest(sample.atMs);
    if (sample.sessionId !== undefined) this.sessions.get(sample.sessionId)?.heardFrom(sample.atMs);
  }

  /** A resource's replicated usage history (a new leader, or any node, starting warm). */
  observeUsageHistory(history: UsageHistory): void {
    this.resource(history.resource).load(history.holdDurationsMs, history.requestsPerBucket, history.endMs);
  }

  /** How a warned client answered: answers earn leniency, silence strictness. */
  observeWarningOutcome(sessionId: string, outcome: WarningOutcome): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return;
    if (outcome === 'ignored') session.ignoredWarnings++;
    else session.answeredWarnings++;
  }

  /** The thresholds in force at `nowMs`. */
  thresholds(nowMs: number = this.clock.now()): SpmThresholds {
    const overloaded = this.health.overloaded(nowMs);
    const commonCause = this.commonCause(nowMs);
    const warningProbability = this.dynamic.warning(overloaded, commonCause);
    const cached = this.thresholdsCache;
    if (
      cached !== null &&
      cached.overloaded === overloaded &&
      cached.commonCause === commonCause &&
      cached.warningProbability === warningProbability
    ) {
      return cached;
    }
    this.thresholdsCache = {
      warningProbability,
      preemptionScore: this.dynamic.preemptionScore(overloaded, commonCause),
      preemptionSuspended: overloaded,
      overloaded,
      commonCause,
    };
    return this.thresholdsCache;
  }

  /** The specification's predictStaleness: HIGH when the probability exceeds the (dynamic) threshold. */
  predictStaleness(lock: HeldLockView, nowMs: number = this.clock.now()): StalenessLevel {
    return this.assess(lock, nowMs).level;
  }

  /** Probability, predicted time, score and reasons for one held lock. */
  assess(lock: HeldLockView, nowMs: number = this.clock.now()): LockPrediction {
    const session = this.sessions.get(lock.sessionId);
    const stats = this.resource(lock.resource, false);
    const trusted = stats.holdSamples >= this.config.minHoldSamples;
    const p99Ms = trusted ? (stats.holdQuantileMs(0.99) as number) : Number.POSITIVE_INFINITY;
    const horizonMs = trusted ? Math.max(p99Ms, 1) : this.config.defaultHorizonMs;
    const overloaded = this.health.overloaded(nowMs);
    const commonCause = this.commonCause(nowMs);
    const unknown = session === undefined;
    const threshold = unknown
      ? this.dynamic.warning(overloaded, commonCause)
      : this.dynamic.warningFor(overloaded, commonCause, session.answeredWarnings, session.ignoredWarnings);
    const expectedDemand = (stats.demandPerBucket(nowMs) * horizonMs) / this.config.demandBucketMs;
    const contended = lock.waiters > 0 || expectedDemand > 0;
    // The node's own overload may have held up the release: that much of the age is not the holder's.
    const ageMs = Math.max(0, nowMs - lock.grantedAtMs - (overloaded ? this.config.overloadAllowanceMs : 0));
    const stuck = trusted ? stuckRisk(stats.holdSurvival(ageMs), this.config.stuckPriorPerHold, contended) : 0;
    // Per lock: the lapse its silence foretells (dead, or the next renewal too late), which would strand its waiters,
    // and a hold stuck past its history. A trend of the whole session is an advisory, not a per-lock warning.
    const risk = unknown ? null : this.lapseOf(session, nowMs, horizonMs);
    const lapse = risk === null ? 0 : lockLapse(risk);
    const probability = clamp01(1 - (1 - lapse) * (1 - stuck));

    // The predicted time is the strongest signal's.
    let staleInMs: number | null = lapse > 0.05 && risk !== null ? Math.max(0, risk.staleInMs ?? 0) : null;
    if (stuck > lapse) staleInMs = trusted ? Math.max(0, p99Ms - ageMs) : null;

    // A session gone without a close and not back is told as such, not as a late keepalive.
    const lateReason = risk?.unreachable === true ? 'connection-lost' : 'keepalive-late';
    const reasons = rankReasons(lapse, stuck, unknown, overloaded, commonCause, lateReason);

    const level: StalenessLevel = probability > threshold ? 'HIGH' : 'LOW';
    if (session !== undefined && probability > threshold / 2) session.atRisk = true;
    if (level === 'HIGH') this.warned.set(lockKey(lock.resource, lock.sessionId), lock.sessionId);
    return {
      resource: lock.resource,
      sessionId: lock.sessionId,
      stalenessProbability: probability,
      predictedStaleInMs: staleInMs,
      predictedStaleAtMs: staleInMs === null ? null : nowMs + staleInMs,
      // Urgency is judged over at least one lease: a resource whose holds are short does not make a lease that
      // lapses in a few seconds any less urgent.
      preemptionScore: preemptionScore(
        probability,
        staleInMs,
        Math.max(horizonMs, session?.ttlMs ?? this.config.ttlMs),
        lock.waiters,
        expectedDemand,
      ),
      level,
      warningThreshold: threshold,
      reasons,
      horizonMs,
      missedKeepalives: risk?.missedKeepalives ?? 0,
      silenceExplainedUntilMs:
        risk === null || session === undefined ? null : this.silenceExplainedUntilMs(session, risk, nowMs),
      samples: session?.samples ?? 0,
      leaseDeadlineMs: session?.leaseDeadlineMs ?? nowMs,
    };
  }

  /**
   * The lapse part of `assess`'s probability for every lock of this session at `atMs`, on the inputs known now (0 for
   * an unknown session). It does not depend on the lock, and with the inputs fixed it never falls as `atMs` grows
   * (silence only lengthens), so a scheduler may search it for when the session's locks need assessing again.
   */
  sessionLapse(sessionId: string, atMs: number): number {
    const session = this.sessions.get(sessionId);
    return session === undefined ? 0 : lockLapse(this.lapseOf(session, atMs, this.config.defaultHorizonMs));
  }

  /**
   * The most the stuck part of `assess`'s probability can be for a hold of `resource` granted at `grantedAtMs`, at
   * `atMs`: taken as contended and without the overload allowance. 0 while the resource's history is too short to be
   * trusted; with the history fixed it never falls as `atMs` grows (survival only falls with age).
   */
  stuckBound(resource: string, grantedAtMs: number, atMs: number): number {
    const stats = this.trustedHistory(resource);
    if (stats === null) return 0;
    return stuckRisk(stats.holdSurvival(Math.max(0, atMs - grantedAtMs)), this.config.stuckPriorPerHold, true);
  }

  /** Whether `resource` has enough holds in its history to be trusted: without, `stuckBound` is 0 at any age. */
  hasTrustedHistory(resource: string): boolean {
    return this.trustedHistory(resource) !== null;
  }

  private trustedHistory(resource: string): ResourceStats | null {
    const stats = this.resources.get(resource);
    return stats === undefined || stats.holdSamples < this.config.minHoldSamples ? null : stats;
  }

  /**
   * The answer to the keepalive just received (principle 2), recorded as sent. The guarantee is the TTL when all is
   * well, shortened as the session's lapse risk approaches its warning threshold, and no longer than a clock measured
   * slow can be given safely (its rate taken `driftConfidenceZ` standard errors slower than estimated); never below
   * the floor (`gMin`, and what the session's own keepalive rhythm needs). When even the floor is too long for the
   * clock, the lease is stretched so that it covers what the client will believe, and the session is told by an
   * advisory. A rising round trip that foretells a missed renewal is told the same way.
   */
  answerKeepalive(sessionId: string, nowMs: number = this.clock.now()): KeepaliveVerdict {
    const session = this.sessions.get(sessionId);
    if (session === undefined) {
      return { guaranteeMs: this.config.ttlMs, leaseMs: this.config.ttlMs, advisories: NO_ADVISORIES };
    }
    const { maxDrift, marginMs } = this.config;
    const lapse = this.lapseOf(session, nowMs, this.config.defaultHorizonMs);
    const overloaded = this.health.overloaded(nowMs);
    const threshold = this.dynamic.warningFor(
      overloaded,
      this.commonCause(nowMs),
      session.answeredWarnings,
      session.ignoredWarnings,
    );
    const start = threshold / 2;
    const shortening = overloaded ? 0 : clamp01((lapse.probability - start) / (threshold - start));
    const clock = session.drift.estimate();
    // The slowest rate the clock may run at until the promise ends: its estimate, less `driftConfidenceZ` standard
    // errors, and carried along a significant slowing over one TTL (a ramping clock keeps slowing while it believes).
    const slowestRate =
      clock === null
        ? 0
        : clock.drift -
          this.config.driftConfidenceZ * clock.driftStdErr +
          Math.min(0, clock.driftChangePerMs) * session.ttlMs;
    const clockSafeMs = longestSafeGuaranteeMs(slowestRate, maxDrift, marginMs);
    // The floor (gMin, and the session's own rhythm with its delay spikes) is needed only for a shortened guarantee.
    const floorMs =
      shortening > 0 || clockSafeMs < session.ttlMs || session.clockAdvisory
        ? this.guaranteeFloorMs(session)
        : session.ttlMs;
    // Rounded down: a guarantee a fraction of a millisecond longer than the clock allows would need a lease stretch.
    const guaranteeMs = Math.floor(
      Math.max(floorMs, Math.min(session.ttlMs - (session.ttlMs - floorMs) * shortening, clockSafeMs)),
    );
    const leaseMs = Math.max(guaranteeMs, Math.ceil(believedGuaranteeMs(guaranteeMs, slowestRate, maxDrift, marginMs)));
    session.recordGuarantee(nowMs, guaranteeMs, leaseMs);
    // ARIMA refits the gaps of sessions at risk (a trend included), judged afresh at every keepalive.
    session.atRisk = lapse.probability > threshold / 2;

    let advisories = NO_ADVISORIES;
    // Telling a client its clock is out of bound needs the confidence the lease stretch rests on, and persistence: the
    // episode begins when the window's rate has been beyond a disciplined clock's (`clockAdvisoryRateBound`), fast or
    // slow, by `driftConfidenceZ` standard errors at every keepalive while half the window was replaced (a heavy-tailed
    // path makes one window's standard error too small now and then, not for that long: a WAN path with lognormal
    // delays and 1% spikes accused a +-100 ppm clock 23 times in 90 session-hours at once, never after 3 keepalives),
    // and ends when that is no longer likely. Per-lock warnings never carry drift.
    const clockRisk = clockOutOfBoundRisk(clock, this.config.clockAdvisoryRateBound);
    const clockRate = clock?.drift ?? 0;
    session.clockOutOfBoundStreak =
      clockRisk > normalCdf(this.config.driftConfidenceZ) ? session.clockOutOfBoundStreak + 1 : 0;
    const clockOutOfBound = session.clockOutOfBoundStreak >= Math.ceil(this.config.driftWindow / 2);
    if (session.clockAdvisory ? clockRisk < 0.5 : clockOutOfBound) {
      session.clockAdvisory = !session.clockAdvisory;
      const detail = session.clockAdvisory
        ? clockAdvisoryDetail(
            clockRate,
            driftRisk(clock, floorMs, maxDrift, marginMs) > 0.5,
            guaranteeMs,
            session.ttlMs,
            {
              bound: this.config.clockAdvisoryRateBound,
              maxDrift,
            },
          )
        : 'the client clock is back within what a disciplined clock keeps to';
      advisories = [
        this.advisory(
          sessionId,
          'clock-drift',
          session.clockAdvisory,
          nowMs,
          clockRisk,
          clockRate,
          guaranteeMs,
          detail,
        ),
      ];
    }
    const linkRisk = lapse.trendProbability;
    if (session.linkAdvisory ? linkRisk < threshold / 2 : linkRisk > threshold) {
      session.linkAdvisory = !session.linkAdvisory;
      const detail = session.linkAdvisory
        ? 'keepalive round trips are growing toward a missed renewal'
        : 'keepalive round trips are steady again';
      const change = this.advisory(
        sessionId,
        'link-degrading',
        session.linkAdvisory,
        nowMs,
        linkRisk,
        clockRate,
        guaranteeMs,
        detail,
      );
      advisories = advisories.length === 0 ? [change] : [...advisories, change];
    }
    return { guaranteeMs, leaseMs, advisories };
  }

  /** The shortest guarantee this session may be given: gMin, and the gap its live renewals exceed with at most
   * `guaranteeFloorMissProbability`, plus the margin (at most the TTL). Uses the input `lapseOf` just filled. */
  private guaranteeFloorMs(session: SessionModel): number {
    const rhythmMs = renewalQuantileMs(this.lapseInput, this.config.guaranteeFloorMissProbability);
    return Math.min(session.ttlMs, Math.max(this.config.gMinMs, rhythmMs + this.config.marginMs));
  }

  private advisory(
    sessionId: string,
    condition: SessionCondition,
    active: boolean,
    atMs: number,
    probability: number,
    clockRateError: number,
    guaranteeMs: number,
    detail: string,
  ): SessionAdvisoryChange {
    return { sessionId, condition, active, atMs, probability, clockRateError, guaranteeMs, detail };
  }

  /**
   * Background work with a bounded cost: refits at most `arimaMaxFitsPerMaintain` ARIMA models (at-risk sessions
   * first when the model is `arima`, then per-resource demand, round robin). Returns the number of fits run.
   */
  maintain(nowMs: number = this.clock.now()): number {
    const budget = this.config.arimaMaxFitsPerMaintain;
    let fits = 0;
    if (this.config.model === 'arima') {
      for (const session of this.sessions.values()) {
        if (fits >= budget) return fits;
        if (!session.atRisk || session.gapSeries === null) continue;
        if (nowMs - session.arimaFitMs < session.keepaliveIntervalMs) continue; // NaN (never fitted) passes
        session.arimaFitMs = nowMs;
        const forecast = forecastArima(session.gapSeries.toArray(), 2, this.config.arimaOrder);
        fits++;
        session.setArimaForecast(
          forecast === null
            ? null
            : {
                meanMs: forecast.means[0] as number,
                stdDevMs: Math.max(
                  this.config.minStdDevFraction * session.keepaliveIntervalMs,
                  Math.sqrt(forecast.variances[0] as number),
                ),
                trendMsPerStep: (forecast.means[1] as number) - (forecast.means[0] as number),
              },
        );
      }
    }
    for (let visited = 0; visited < this.resourceNames.length && fits < budget; visited++) {
      this.resourceCursor = (this.resourceCursor + 1) % this.resourceNames.length;
      const stats = this.resources.get(this.resourceNames[this.resourceCursor] as string);
      if (stats === undefined) continue; // forgotten
      if (nowMs - stats.lastFitMs < this.config.arimaRefitIntervalMs) continue; // NaN (never fitted) passes
      stats.refitDemand(nowMs, this.config.arimaOrder, this.config.arimaWindow);
      fits++;
    }
    return fits;
  }

  /**
   * What the predictor keeps per resource now: the resources with statistics (at most MAX_RESOURCE_STATS), the names
   * in `maintain`'s round robin (at most twice that), and the numbers their windows have room for. Memory tests pin
   * these bounds (docs/design.md, "Memory").
   */
  resourceFootprint(): { resources: number; roundRobinNames: number; windowSlots: number } {
    let windowSlots = 0;
    for (const stats of this.resources.values()) windowSlots += stats.allocatedSlots;
    return { resources: this.resources.size, roundRobinNames: this.resourceNames.length, windowSlots };
  }

  /** A session's clock as its keepalives report it (offset, drift and its trend), or null until three rates. */
  sessionClock(sessionId: string): DriftEstimate | null {
    return this.sessions.get(sessionId)?.drift.estimate() ?? null;
  }

  /**
   * The resource's statistics, made on first use. A use that adds to them (`touch`) makes them the most recently used;
   * beyond MAX_RESOURCE_STATS the least recently used are forgotten, as the replicated usage history forgets them.
   */
  private resource(name: string, touch = true): ResourceStats {
    let stats = this.resources.get(name);
    if (stats !== undefined) {
      if (touch) {
        this.resources.delete(name);
        this.resources.set(name, stats);
      }
      return stats;
    }
    // Beyond MAX_RESOURCE_STATS the least recently used is forgotten, and its buffers, reset, serve the new name:
    // allocating them (about 2.5 KB of typed arrays) was most of what a new name cost, 10 us with the GC it caused,
    // paid for every grant of a new name, and again for each one when a node replays its log (issue 13).
    let forgotten: ResourceStats | undefined;
    if (this.resources.size >= MAX_RESOURCE_STATS) {
      const oldest = this.resources.keys().next().value as string;
      forgotten = this.resources.get(oldest);
      this.resources.delete(oldest);
      forgotten?.reset();
    }
    stats = forgotten ?? new ResourceStats(this.config.demandBucketMs);
    this.resources.set(name, stats);
    if (!this.listedNames.has(name)) {
      this.resourceNames.push(name);
      this.listedNames.add(name);
    }
    if (forgotten !== undefined && this.resourceNames.length > 2 * MAX_RESOURCE_STATS) this.compactNames();
    return stats;
  }

  /** Drops the forgotten names from the round robin, keeping its place: O(names), once per MAX_RESOURCE_STATS
   * resources forgotten, so O(1) per new resource. */
  private compactNames(): void {
    const kept: string[] = [];
    let cursor = -1;
    for (const [index, name] of this.resourceNames.entries()) {
      if (!this.resources.has(name)) continue;
      kept.push(name);
      if (index <= this.resourceCursor) cursor = kept.length - 1;
    }
    this.resourceNames = kept;
    this.listedNames = new Set(kept);
    this.resourceCursor = cursor;
  }

  private lapseOf(session: SessionModel, nowMs: number, horizonMs: number): LapseRisk {
    // One input object, refilled per call: assessments run for every held lock many times a second.
    const input = this.lapseInput;
    input.forecast = session.forecast();
    input.silenceMs = nowMs - session.lastReceiveMs;
    input.heardSilenceMs = nowMs - session.lastHeardMs;
    input.leaseRemainingMs = session.leaseDeadlineMs - session.lastReceiveMs;
    input.guaranteeMs = session.lastGuaranteeMs;
    input.keepaliveIntervalMs = session.keepaliveIntervalMs;
    input.horizonMs = horizonMs;
    input.lossProbability = this.lossRate.value;
    input.lateProbability = this.lateRate.value;
    input.lateMeanExcessMs =
      (this.lateExcessSumMs + LATE_EXCESS_PRIOR_WEIGHT * session.keepaliveIntervalMs) /
      (this.lateExcessCount + LATE_EXCESS_PRIOR_WEIGHT);
    input.failurePriorPerInterval = this.deathRate.value;
    input.loadDelayMs = this.loadDelayMs(nowMs);
    input.unreachable = session.disconnectedAtMs !== null && nowMs >= this.reconnectDueMs(session, nowMs);
    return lapseRisk(input);
  }

  /** Delay the node's own load may add to receive times. */
  private loadDelayMs(nowMs: number): number {
    return this.health.overloaded(nowMs)
      ? Math.max(this.config.overloadAllowanceMs, this.health.loopDelayMs)
      : this.health.loopDelayMs;
  }

  /**
   * When a session that lost its connection should have been heard from again if its client lives: a live client
   * redials at once (the SDK's backoff starts at 50 ms and doubles; its first five redials fit in about 1.5 s) and
   * sends a keepalive on resume. It is given half a keepalive interval (those redials at the default TTL, and in
   * proportion to the interval a deployment chose), or RECONNECT_ROUND_TRIPS of its own round trips if longer, and at
   * least as long as live sessions of this cluster took lately; with the session's own tolerance and the delay the
   * node's load adds.
   */
  private reconnectDueMs(session: SessionModel, nowMs: number): number {
    const disconnectedAtMs = session.disconnectedAtMs ?? session.lastReceiveMs;
    const allowanceMs = Math.max(session.keepaliveIntervalMs / 2, RECONNECT_ROUND_TRIPS * session.rttLevelMs);
    const learnedMs = this.recoveredReconnect.max(nowMs) ?? 0;
    return (
      disconnectedAtMs +
      Math.max(allowanceMs, learnedMs) +
      lateToleranceMs(session.forecast().stdDevMs) +
      this.loadDelayMs(nowMs)
    );
  }

  /**
   * Until when `session`'s silence is explained by what live sessions do: one keepalive lost in transit, or the
   * longest silence a live session of this cluster has come back from lately (a GC pause, a stalled host), with the
   * session's own tolerance.
   */
  private silenceExplainedUntilMs(session: SessionModel, risk: LapseRisk, nowMs: number): number {
    // A session that lost its connection is explained only by a reconnect (observeDisconnect).
    if (session.disconnectedAtMs !== null) return this.reconnectDueMs(session, nowMs);
    const recovered = this.recoveredSilence.max(nowMs) ?? 0;
    const recoveredForMs = recovered * session.keepaliveIntervalMs + lateToleranceMs(session.forecast().stdDevMs);
    return session.lastReceiveMs + Math.max(risk.lossExplainedForMs, recoveredForMs);
  }

  /** True while most judged sessions are late or see their RTT jump at once (scanned at most once a second). */
  private commonCause(nowMs: number): boolean {
    if (nowMs - this.commonCauseScannedMs >= COMMON_CAUSE_SCAN_MS) {
      this.commonCauseScannedMs = nowMs;
      let judged = 0;
      let shifted = 0;
      for (const session of this.sessions.values()) {
        if (session.samples < this.config.minSamples) continue;
        judged++;
        const forecast = session.forecast();
        const late = nowMs - session.lastReceiveMs > forecast.meanMs + lateToleranceMs(forecast.stdDevMs);
        const rttJump =
          session.rttTrend.count >= this.config.minSamples &&
          session.lastRttMs > session.rttTrend.level + 3 * Math.max(session.rttTrend.errorStdDev, 1);
        if (late || rttJump) shifted++;
      }
      if (judged >= COMMON_CAUSE_MIN_SESSIONS && shifted >= this.config.commonCauseFraction * judged) {
        this.commonCauseUntilMs = nowMs + this.config.conditionHoldMs;
      }
    }
    return nowMs < this.commonCauseUntilMs;
  }
}

/** What a clock-drift advisory tells: how far off the clock is, and what the guarantee makes of it. */
function clockAdvisoryDetail(
  rate: number,
  beyondFloor: boolean,
  guaranteeMs: number,
  ttlMs: number,
  bounds: { bound: number; maxDrift: number },
): string {
  const off = `the client's clock runs ${(100 * Math.abs(rate)).toFixed(2)}% ${rate < 0 ? 'slow' : 'fast'}, beyond the ${(
    100 * bounds.bound
  ).toFixed(2)}% a disciplined clock keeps to`;
  if (rate >= 0) return `${off}; its leases stay safe (it believes they end sooner)`;
  if (beyondFloor) {
    return `${off} and beyond the ${100 * bounds.maxDrift}% the SDK allows even at the guarantee floor; the lease is held longer to cover it`;
  }
  if (guaranteeMs < ttlMs) return `${off}; guarantees are shortened to ${guaranteeMs} ms to keep its leases safe`;
  return `${off}; within the ${100 * bounds.maxDrift}% the SDK allows, its leases stay safe`;
}
