// The Staleness Prediction Module's contract: its configuration, the samples it is fed and what it predicts.

/** Which forecasting model drives the per-session lease-lapse estimate (docs/design.md, SPM). */
export type SpmModel = 'ewma' | 'arima' | 'sma';

/** ARIMA order for the per-resource series and the at-risk sessions. */
export interface ArimaOrder {
  readonly p: number;
  readonly d: number;
  readonly q: number;
}

/** Everything the SPM can be tuned with; `defaultSpmConfig` in config.ts holds the server's defaults. */
export interface SpmConfig {
  /** Model for the per-session keepalive series: O(1) exponential smoothing, ARIMA for at-risk sessions, or SMA. */
  readonly model: SpmModel;
  /** Session TTL when the session did not say (the guarantee sent when all is well). */
  readonly ttlMs: number;
  /** The guarantee floor: no guarantee sent is ever shorter. */
  readonly gMinMs: number;
  /** Warning probability threshold before any dynamic adjustment (the specification's 0.70). */
  readonly warningThreshold: number;
  /** Bounds within which outcomes may recalibrate the warning threshold. */
  readonly warningThresholdMin: number;
  readonly warningThresholdMax: number;
  /** Pre-emption score threshold (0-100) before any dynamic adjustment. */
  readonly preemptionScoreThreshold: number;
  /** The SDK's clock drift bound (fraction, 0.01 = 1%) and safety margin. */
  readonly maxDrift: number;
  readonly marginMs: number;
  /** Horizon when the resource has no hold history. */
  readonly defaultHorizonMs: number;
  /** Smoothing factor of the online model's means (RFC 6298's alpha). */
  readonly smoothingAlpha: number;
  /** Smoothing factor of the online model's variances (RFC 6298's beta). */
  readonly varianceBeta: number;
  /** Smoothing factor of the trend of Holt's linear exponential smoothing (the `ewma` model's trend term). */
  readonly trendAlpha: number;
  /** Floor of the keepalive arrival standard deviation, as a fraction of the session's own keepalive interval: a
   * client's timer fires within about this much of its interval on a busy runtime, so a rhythm measured steadier than
   * that is not trusted (relative, so it holds for any interval and any link). */
  readonly minStdDevFraction: number;
  /** A shortened guarantee still covers the session's own rhythm: the gap that a live renewal exceeds with at most
   * this probability (under its learned arrival model, delay spikes and lost keepalives included), plus the margin. */
  readonly guaranteeFloorMissProbability: number;
  /** Window (samples) of the simple moving average model. */
  readonly trendWindow: number;
  /** Window (samples) of the clock offset/drift fit. */
  readonly driftWindow: number;
  /** Standard errors by which a clock's rate is taken slower than its estimate when the guarantee is chosen and the
   * lease stretched (3: one chance in about 700 of a slower clock). */
  readonly driftConfidenceZ: number;
  /** The rate error (fraction) beyond which a client clock is told it is out of bound, fast or slow, by a session
   * advisory: 0.0005, the 500 ppm beyond which ntpd and chrony give up disciplining a clock. A working oscillator is
   * within about 100 ppm; past 500 ppm the clock is broken or not synchronised, whatever the network. */
  readonly clockAdvisoryRateBound: number;
  /** Prior probability that a live keepalive stream is lost for one interval (a single dropped keepalive). */
  readonly keepaliveLossProbability: number;
  /** Prior probability that a session dies during one keepalive interval. */
  readonly failurePriorPerInterval: number;
  /** Weight of the two priors above, in keepalive intervals: the cluster's own record of lost keepalives and expired
   * sessions outweighs them once it spans more intervals than this. */
  readonly failurePriorIntervals: number;
  /** Keepalives a session must have sent before its predictions may drive a pre-emption. */
  readonly minSamples: number;
  /** Hold durations a resource needs before its p99 is trusted for the stuck-holder signal and the horizon. */
  readonly minHoldSamples: number;
  /** Prior probability that a hold gets stuck (its critical section never ends in time). */
  readonly stuckPriorPerHold: number;
  /** Renewals the lapse forecast looks ahead beyond the next one. */
  readonly lookaheadRenewals: number;
  /** Delay the node's own overload may add to keepalive receipts (Lifeguard: a loaded node waits longer). */
  readonly overloadAllowanceMs: number;
  /** Fraction of sessions whose latency shifts at once that marks a common cause. */
  readonly commonCauseFraction: number;
  /** Node overload: event-loop delay (ms) or CPU (0-1) at which pre-emption is suspended. */
  readonly overloadLoopDelayMs: number;
  readonly overloadCpu: number;
  /** How long overload or a common cause keeps thresholds raised after it was last seen (about one TTL). */
  readonly conditionHoldMs: number;
  /** ARIMA order, how often one series may be refitted, how many fits one `maintain` call may run, and how many
   * points a fit sees. */
  readonly arimaOrder: ArimaOrder;
  readonly arimaRefitIntervalMs: number;
  readonly arimaMaxFitsPerMaintain: number;
  readonly arimaWindow: number;
  /** Width of a demand bucket (requests per bucket form the per-resource demand series). */
  readonly demandBucketMs: number;
}

/** A keepalive as the server received it. */
export interface KeepaliveSample {
  readonly sessionId: string;
  /** Server receive time. */
  readonly receiveMs: number;
  /** The client's clock when it sent the keepalive. */
  readonly clientTimeMs?: number;
  /** Round trip of the previous exchange, as the client measured it. */
  readonly rttMs?: number;
}

/** The node's own health, measured by the driver. */
export interface LoadSample {
  readonly atMs: number;
  /** CPU use of one core, 0-1. */
  readonly cpu: number;
  /** Memory use, 0-1. */
  readonly mem: number;
  /** Event-loop delay (p99 over the last interval). */
  readonly loopDelayMs: number;
}

/** A lock granted (from the replicated log). */
export interface GrantSample {
  readonly sessionId: string;
  readonly resource: string;
  readonly token: bigint;
  readonly atMs: number;
  readonly fenced: boolean;
  readonly preemptible: boolean;
}

/** A lock released, revoked or lost with its session (from the replicated log); a release also proves its client
 * alive at `atMs`. */
export interface ReleaseSample {
  readonly sessionId: string;
  readonly resource: string;
  readonly atMs: number;
  readonly heldMs: number;
}

/** A lock requested: demand, and (with `sessionId`) proof that the requesting client is alive. */
export interface RequestSample {
  readonly resource: string;
  readonly atMs: number;
  readonly sessionId?: string;
}

/** A resource's replicated usage history, to warm up a fresh SPM (a new leader). */
export interface UsageHistory {
  readonly resource: string;
  /** Recent hold durations, oldest first. */
  readonly holdDurationsMs: readonly number[];
  /** Requests per bucket of `bucketMs`, oldest first; the last bucket ends at `endMs`. */
  readonly requestsPerBucket: readonly number[];
  readonly bucketMs: number;
  readonly endMs: number;
}

/** How a warned client answered. */
export type WarningOutcome = 'acked' | 'released' | 'checkpointing' | 'ignored';

/** A held lock as the SPM assesses it. */
export interface HeldLockView {
  readonly resource: string;
  readonly sessionId: string;
  readonly token: bigint;
  readonly grantedAtMs: number;
  /** Queued waiters. */
  readonly waiters: number;
  readonly fenced: boolean;
}

/** Why a lock is predicted stale. */
export type StalenessReason =
  | 'keepalive-late'
  | 'connection-lost'
  | 'rtt-rising'
  | 'clock-drift'
  | 'hold-too-long'
  | 'node-overload'
  | 'common-cause'
  | 'session-unknown';

/** The specification's predictStaleness output. */
export type StalenessLevel = 'HIGH' | 'LOW';

/** The SPM's verdict on one held lock. */
export interface LockPrediction {
  readonly resource: string;
  readonly sessionId: string;
  /** Probability (0-1) that the holder will not keep the lock safely before its lease deadline or the horizon. */
  readonly stalenessProbability: number;
  /** Expected time until staleness from `nowMs`, or null when no staleness is foreseen within the horizon. */
  readonly predictedStaleInMs: number | null;
  /** `nowMs + predictedStaleInMs`, or null. */
  readonly predictedStaleAtMs: number | null;
  /** Urgency of pre-emption, 0-100: probability, urgency and what pre-emption frees. */
  readonly preemptionScore: number;
  /** HIGH when the probability exceeds this session's dynamic warning threshold. */
  readonly level: StalenessLevel;
  /** The warning threshold this session was judged against. */
  readonly warningThreshold: number;
  /** Strongest contributing signals first. */
  readonly reasons: readonly StalenessReason[];
  readonly horizonMs: number;
  /** Whole keepalive intervals that have passed since the session's last keepalive beyond the expected one. */
  readonly missedKeepalives: number;
  /** When the session's silence stops being explained by what live clients do: one keepalive lost in transit (its
   * replacement, due one interval after the expected arrival, is then overdue beyond its tolerance), or the longest
   * silence a live session of this cluster came back from in the last ten minutes (a GC pause, a stalled host). A
   * silent holder is not asked to yield before. Null for an unknown session. */
  readonly silenceExplainedUntilMs: number | null;
  /** Keepalives observed from this session; predictions from fewer than `minSamples` must not pre-empt. */
  readonly samples: number;
  /** The session's lease deadline as this SPM promised it (latest receive + guarantee). */
  readonly leaseDeadlineMs: number;
}

/** A condition of a whole session, told by one advisory per episode (not one warning per held lock). */
export type SessionCondition = 'clock-drift' | 'link-degrading';

/** A session condition that began (`active`) or ended. */
export interface SessionAdvisoryChange {
  readonly sessionId: string;
  readonly condition: SessionCondition;
  readonly active: boolean;
  readonly atMs: number;
  /** The condition's probability when it changed. */
  readonly probability: number;
  /** The client clock's estimated rate error (-0.03 = 3% slow), 0 when not measured. */
  readonly clockRateError: number;
  /** The guarantee sent with this answer. */
  readonly guaranteeMs: number;
  /** What it means, in a sentence. */
  readonly detail: string;
}

/** What the answer to one keepalive carries, decided by the SPM. */
export interface KeepaliveVerdict {
  /** The guarantee g sent to the client. */
  readonly guaranteeMs: number;
  /** How long after the receive time the server keeps the session's lease: g, stretched when the client's clock is
   * measured slower than the SDK's bound so that the lease covers what the client will believe. */
  readonly leaseMs: number;
  /** Session conditions that began or ended with this keepalive. */
  readonly advisories: readonly SessionAdvisoryChange[];
}

/** The thresholds in force now (specification 6). */
export interface SpmThresholds {
  /** Warning probability threshold for a client with no response record. */
  readonly warningProbability: number;
  /** Pre-emption score threshold. */
  readonly preemptionScore: number;
  /** True while the node's own overload suspends pre-emption (Lifeguard local health). */
  readonly preemptionSuspended: boolean;
  /** True while the node is overloaded (event-loop delay or CPU). */
  readonly overloaded: boolean;
  /** True while most sessions see a latency shift at once. */
  readonly commonCause: boolean;
}
