// The staleness probabilities: lease lapse (silence and rising gaps), clock drift, a hold stuck past its history.
import type { DriftEstimate } from './clock-drift.js';
import { clamp01, normalCdf, normalSurvival } from './normal.js';
import type { GapForecast } from './session-model.js';

/** What the silence and rhythm of a session's keepalives say about its lease. */
export interface LapseRisk {
  /** Probability that the session will not renew in time before the horizon, dead or alive. */
  readonly probability: number;
  /** Posterior probability that the session is dead, given its silence. */
  readonly deadProbability: number;
  /** Part of `probability` that comes from the rising trend of the gaps (future renewals too late). */
  readonly trendProbability: number;
  /** Expected time from now until the lease lapses, or null when no lapse is expected within the horizon. */
  readonly staleInMs: number | null;
  /** Whole expected keepalives missed so far. */
  readonly missedKeepalives: number;
  /** Probability that the next renewal, if the session is alive, comes after the lease deadline. */
  readonly nextLateProbability: number;
  /** Time after the last keepalive at which the replacement of one lost keepalive is overdue beyond its tolerance. */
  readonly lossExplainedForMs: number;
  /** The session lost its connection and is not back when a live client would be (`LapseInput.unreachable`). */
  readonly unreachable: boolean;
}

/** Inputs of `lapseRisk`, all in milliseconds relative to the session's last keepalive. */
export interface LapseInput {
  readonly forecast: GapForecast;
  /** Time since the last keepalive. */
  readonly silenceMs: number;
  /** Time since the session was last heard from in any way (a keepalive, a request, a release): at most `silenceMs`. */
  readonly heardSilenceMs: number;
  /** Lease deadline minus the last keepalive's receive time. */
  readonly leaseRemainingMs: number;
  /** Guarantee each future renewal will carry. */
  readonly guaranteeMs: number;
  /** Announced keepalive interval (the rhythm after a single lost keepalive). */
  readonly keepaliveIntervalMs: number;
  readonly horizonMs: number;
  /** Probability that a live session's keepalive is lost (the next one comes an interval later). */
  readonly lossProbability: number;
  /** Probability that a live session's keepalive comes later than the late tolerance for another reason (a delay
   * spike, a pause of its runtime), learned from the cluster's own arrivals. */
  readonly lateProbability: number;
  /** Mean of how far beyond the late tolerance such arrivals come (an exponential tail), learned likewise. */
  readonly lateMeanExcessMs: number;
  readonly failurePriorPerInterval: number;
  /** Delay the node's own overload may add to receive times: the arrival may come that much later. */
  readonly loadDelayMs: number;
  /** Renewals examined beyond the next one (the forecast's reach). */
  readonly lookaheadRenewals: number;
  /** The session lost its connection and a live client would have reconnected by now: nothing live explains it. */
  readonly unreachable: boolean;
}

/** Renewals examined at most beyond the next one, and the scratch space of the cumulative lapse curve. */
const MAX_LOOKAHEAD = 15;
const LAPSE_AT_MS = new Float64Array(MAX_LOOKAHEAD + 1);
const STALE_UP_TO = new Float64Array(MAX_LOOKAHEAD + 1);
/** A renewal this many standard deviations within its guarantee cannot lapse (probability below 1e-15). */
const NEGLIGIBLE_Z = 8;
/** Below this probability no staleness is foreseen (the predicted time is null). */
const FORESEEN = 0.05;

/** How late past its expected time a keepalive must be to count as missed: 3 standard deviations of the session's own
 * rhythm (whose floor, `minStdDevFraction` of its interval, keeps this relative to the interval, never absolute). */
export function lateToleranceMs(stdDevMs: number): number {
  return 3 * stdDevMs;
}

/**
 * Survival of the next arrival for a live session: a normal around the forecast gap, mixed with one lost keepalive
 * (the arrival one interval later) and with an exponential tail beyond the late tolerance, whose weight and mean are
 * what the cluster's late arrivals showed. Heavy delays are then judged by what this cluster's live sessions really do,
 * on a LAN or across the world.
 */
function aliveSurvival(t: number, input: LapseInput, mean: number, stdDev: number): number {
  const p = input.lossProbability;
  const q = input.lateProbability;
  const excess = t - mean - lateToleranceMs(stdDev);
  const tail = excess <= 0 ? 1 : Math.exp(-excess / Math.max(1, input.lateMeanExcessMs));
  return (
    (1 - p - q) * normalSurvival(t, mean, stdDev) +
    p * normalSurvival(t, mean + input.keepaliveIntervalMs, stdDev * Math.SQRT2) +
    q * tail
  );
}

/**
 * The gap (from the last keepalive) that a live session's next renewal exceeds with probability `missProbability`:
 * the inverse of its arrival survival, by bisection (the survival falls monotonically).
 */
export function renewalQuantileMs(input: LapseInput, missProbability: number): number {
  const mean = input.forecast.meanMs + input.loadDelayMs;
  const stdDev = input.forecast.stdDevMs;
  let low = 0;
  let high = mean + 4 * input.keepaliveIntervalMs + 40 * stdDev + 30 * input.lateMeanExcessMs;
  if (aliveSurvival(high, input, mean, stdDev) > missProbability) return high;
  for (let step = 0; step < 40 && high - low > 1; step++) {
    const middle = (low + high) / 2;
    if (aliveSurvival(middle, input, mean, stdDev) > missProbability) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * A Bayesian reading of the silence (as in the accrual failure detectors, but answering the question asked: will
 * the lease be renewed in time?). Dead: the prior grows with the time since the session was last heard from, and
 * the posterior with how unlikely the keepalive silence since then is for a live session. Alive: the next arrival must beat the lease deadline, and each later gap, grown by
 * the forecast trend, must stay within the guarantee, for every renewal within the horizon.
 */
export function lapseRisk(input: LapseInput): LapseRisk {
  const { forecast, silenceMs, leaseRemainingMs } = input;
  const mean = forecast.meanMs + input.loadDelayMs;
  const stdDev = forecast.stdDevMs;
  const silence = Math.max(0, silenceMs);
  const heardSilence = Math.min(silence, Math.max(0, input.heardSilenceMs));
  const intervals = Math.max(1, heardSilence / Math.max(1, input.keepaliveIntervalMs));
  const priorDead = Math.min(0.5, input.failurePriorPerInterval * intervals);
  const survivalNow = aliveSurvival(silence, input, mean, stdDev);
  // Alive when last heard from: what matters is the keepalive silence since then.
  const survivalSinceHeard = survivalNow / Math.max(aliveSurvival(silence - heardSilence, input, mean, stdDev), 1e-300);
  const deadProbability = priorDead / (priorDead + (1 - priorDead) * Math.min(1, survivalSinceHeard));
  const tolerance = lateToleranceMs(stdDev);
  const lossExplainedForMs = 2 * mean + lateToleranceMs(stdDev * Math.SQRT2);
  const missedKeepalives = silence > mean + tolerance ? Math.floor((silence - tolerance) / mean) : 0;

  if (input.unreachable) {
    // Gone without a close and not back when a live client would be: dead, and its lease lapses at its deadline. The
    // keepalive a live client sends at once on resume is missed.
    return {
      probability: 1,
      deadProbability: 1,
      trendProbability: 0,
      staleInMs: Math.max(0, leaseRemainingMs - silence),
      missedKeepalives: Math.max(1, missedKeepalives),
      nextLateProbability: 1,
      lossExplainedForMs,
      unreachable: input.unreachable,
    };
  }
  if (silence >= leaseRemainingMs) {
    return {
      probability: 1,
      deadProbability,
      trendProbability: 0,
      staleInMs: 0,
      missedKeepalives,
      nextLateProbability: 1,
      lossExplainedForMs,
      unreachable: input.unreachable,
    };
  }
  const nextLate = survivalNow > 0 ? clamp01(aliveSurvival(leaseRemainingMs, input, mean, stdDev) / survivalNow) : 1;
  // Renewal k lapses when its gap, grown by k trend steps, exceeds the guarantee; the lapse would come at the
  // previous arrival + the guarantee. The cumulative curve is kept (in scratch space) for the median below.
  LAPSE_AT_MS[0] = leaseRemainingMs;
  STALE_UP_TO[0] = nextLate;
  let points = 1;
  let renewOk = 1 - nextLate;
  let elapsedMs = Math.max(mean, silence);
  const steps = Math.min(input.lookaheadRenewals, MAX_LOOKAHEAD);
  for (let step = 1; step <= steps; step++) {
    const gapMean = mean + step * forecast.trendMsPerStep;
    if (elapsedMs - silence > input.horizonMs || gapMean <= 0) break;
    const spreadMs = stdDev * Math.sqrt(step + 1);
    // Beyond 8 standard deviations the lapse chance is below 1e-15: skip the tail evaluation.
    if (input.guaranteeMs - gapMean < NEGLIGIBLE_Z * spreadMs) {
      renewOk *= 1 - normalSurvival(input.guaranteeMs, gapMean, spreadMs);
    }
    LAPSE_AT_MS[points] = elapsedMs + input.guaranteeMs;
    STALE_UP_TO[points] = 1 - renewOk;
    points++;
    elapsedMs += gapMean;
  }
  const aliveStale = 1 - renewOk;
  const trendProbability = clamp01(aliveStale - nextLate);
  const probability = clamp01(deadProbability + (1 - deadProbability) * aliveStale);
  // Predicted staleness time: the lease deadline when the next renewal is the likely failure (dead or late), else
  // the median of the lapse time given a lapse within the horizon.
  let staleInMs: number | null = null;
  if (probability < FORESEEN) {
    staleInMs = null;
  } else if (deadProbability + (1 - deadProbability) * nextLate >= (1 - deadProbability) * trendProbability) {
    staleInMs = leaseRemainingMs - silence;
  } else {
    const median = aliveStale / 2;
    let k = 0;
    while (k < points - 1 && (STALE_UP_TO[k] as number) < median) k++;
    staleInMs = Math.max(0, (LAPSE_AT_MS[k] as number) - silence);
  }
  return {
    probability,
    deadProbability,
    trendProbability,
    staleInMs,
    missedKeepalives,
    nextLateProbability: nextLate,
    lossExplainedForMs,
    unreachable: false,
  };
}

/**
 * The rate error below which a client's safe period under guarantee `g` outlives the lease: the client counts
 * `g x (1 - maxDrift) - margin` on its own clock from its send, the server `g` from its receive (never earlier), so a
 * clock running at rate `1 + d` is unsafe when `(g(1 - maxDrift) - margin) / (1 + d) > g`, i.e. `d < -maxDrift - margin / g`.
 */
export function criticalDrift(guaranteeMs: number, maxDrift: number, marginMs: number): number {
  return -maxDrift - marginMs / guaranteeMs;
}

/**
 * Probability that the client's clock is slower than `criticalDrift(g)`: its safe period would outlive the lease. The
 * doubt an asymmetric path leaves (`pathDoubt`) is given to the clock: it is judged slow only beyond what a delay
 * growing on one side could explain.
 */
export function driftRisk(
  estimate: DriftEstimate | null,
  guaranteeMs: number,
  maxDrift: number,
  marginMs: number,
): number {
  if (estimate === null) return 0;
  const critical = criticalDrift(guaranteeMs, maxDrift, marginMs);
  const drift = estimate.drift + estimate.pathDoubt;
  if (!(estimate.driftStdErr > 0)) return drift < critical ? 1 : 0;
  return clamp01(normalCdf((critical - drift) / estimate.driftStdErr));
}

/**
 * Probability that the client's clock runs outside `bound`, fast or slow: whatever the guarantee makes of it, the clock
 * is broken or not synchronised, a condition of the session told by advisory. It is judged on the window's rate (what
 * the clock has done, not a quadratic's extrapolation to the newest sample), and, as for `driftRisk`, the path's doubt
 * is given to the clock: out of bound only beyond what an asymmetric path could explain.
 */
export function clockOutOfBoundRisk(estimate: DriftEstimate | null, bound: number): number {
  if (estimate === null) return 0;
  const beyond = Math.abs(estimate.windowDrift) - estimate.pathDoubt - bound;
  if (!(estimate.windowDriftStdErr > 0)) return beyond > 0 ? 1 : 0;
  return clamp01(normalCdf(beyond / estimate.windowDriftStdErr));
}

/** The longest guarantee a clock at rate error `drift` can be given safely (Infinity within the SDK's bound). */
export function longestSafeGuaranteeMs(drift: number, maxDrift: number, marginMs: number): number {
  return drift >= -maxDrift ? Number.POSITIVE_INFINITY : marginMs / -(maxDrift + drift);
}

/** How long after its send a client on a clock at rate error `drift` believes guarantee `g` lasts, in server time. */
export function believedGuaranteeMs(guaranteeMs: number, drift: number, maxDrift: number, marginMs: number): number {
  return (guaranteeMs * (1 - maxDrift) - marginMs) / (1 + drift);
}

/**
 * Probability that a hold is stuck while others wait: a Bayesian reading of its age. Prior: `stuckPrior` of holds
 * get stuck; a normal hold reaches this age with the resource's hold survival. Stuck holds pass the p99 (where the
 * hold becomes stale) by definition, so the posterior is also the probability of staleness.
 */
export function stuckRisk(survivalAtAge: number, stuckPrior: number, contended: boolean): number {
  if (!contended) return 0;
  return clamp01(stuckPrior / (stuckPrior + (1 - stuckPrior) * survivalAtAge));
}

/**
 * Pre-emption score 0-100: mostly the probability, then the urgency (how soon, relative to `urgencyScaleMs`) and
 * what a pre-emption would free (queued waiters, else the demand forecast for the horizon).
 */
export function preemptionScore(
  probability: number,
  staleInMs: number | null,
  urgencyScaleMs: number,
  waiters: number,
  expectedDemand: number,
): number {
  const urgency = staleInMs === null ? 0 : 1 - Math.min(1, Math.max(0, staleInMs) / urgencyScaleMs);
  const frees = waiters > 0 ? 1 : Math.min(1, expectedDemand / 2);
  return Math.round(100 * clamp01(0.7 * probability + 0.15 * urgency + 0.15 * frees) * 100) / 100;
}
