// The metrics of docs/design.md, accumulated over runs (seeds, families) and computed once at the end.
import type { GroundTruth } from './ground-truth.js';
import type { DetectorRun } from './shadow-runner.js';
import { percentile } from './stats.js';

/** One detector's metrics over a family or over everything; null where a metric does not apply. */
export interface DetectorMetrics {
  readonly detection_ms_p50: number | null;
  readonly detection_ms_p99: number | null;
  readonly warned_ahead_frac: number | null;
  readonly lead_ms_p50: number | null;
  readonly false_warnings_per_hour: number | null;
  readonly unnecessary_preemptions_per_1k: number | null;
  readonly guarantee_violations: number;
  readonly brier: number | null;
  /** False warnings (and advisories) to sessions with no truth line at all, per hour of those sessions' holding. */
  readonly false_warnings_per_hour_healthy: number | null;
  /** Total time clients believed they held locks after the promise their server had given ended. */
  readonly unsafe_exposure_ms: number;
}

const MS_PER_HOUR = 3_600_000;

/** Raw counts behind one detector's metrics; tallies of several traces merge by addition. */
export class DetectorTally {
  private readonly detectionsMs: number[] = [];
  private readonly leadsMs: number[] = [];
  private predictable = 0;
  private warnedAhead = 0;
  private falseWarnings = 0;
  private unnecessary = 0;
  private violations = 0;
  private brierSum = 0;
  private brierSamples = 0;
  private holds = 0;
  private holdMs = 0;
  private healthyFalseWarnings = 0;
  private healthyHoldMs = 0;
  private exposureMs = 0;

  /** Adds one run of the detector over the trace whose ground truth is `truth`; `exposureMs` is the run's
   * `unsafeExposureMs`. */
  add(truth: GroundTruth, run: DetectorRun, exposureMs: number): void {
    this.holds += truth.holds.length;
    this.holdMs += truth.holdMs;
    this.healthyHoldMs += truth.healthyHoldMs;
    this.exposureMs += exposureMs;
    this.brierSum += run.brierSum;
    this.brierSamples += run.brierSamples;
    for (const hold of truth.holds) {
      const outcome = run.outcomes[hold.id]!;
      if (
        outcome.preemptAtMs !== null &&
        outcome.guaranteeEndMs !== null &&
        outcome.preemptAtMs < outcome.guaranteeEndMs
      )
        this.violations += 1;
      if (hold.staleAtMs !== null) continue;
      this.falseWarnings += outcome.warningsAtMs.length;
      if (!truth.faultySessions.has(hold.session)) this.healthyFalseWarnings += outcome.warningsAtMs.length;
      if (outcome.preemptAtMs !== null) this.unnecessary += 1;
    }
    // An advisory is told once per episode of a session condition: it is right when the session goes stale after it
    // within an episode that had begun, else one false warning.
    const staleEpisodes = truth.episodes.filter((episode) => episode.staleAtMs !== null);
    for (const [session, advisories] of run.advisoriesAtMs) {
      for (const atMs of advisories) {
        const right = staleEpisodes.some(
          (episode) => episode.session === session && episode.startMs <= atMs && atMs <= episode.staleAtMs!,
        );
        if (right) continue;
        this.falseWarnings += 1;
        if (!truth.faultySessions.has(session)) this.healthyFalseWarnings += 1;
      }
    }
    for (const episode of truth.episodes) {
      if (episode.staleAtMs === null || episode.holdId === null) continue;
      const hold = truth.holds[episode.holdId]!;
      const outcome = run.outcomes[hold.id]!;
      const freedMs = Math.min(
        outcome.preemptAtMs ?? Number.POSITIVE_INFINITY,
        hold.lapseMs ?? Number.POSITIVE_INFINITY,
        hold.endMs,
      );
      this.detectionsMs.push(freedMs - episode.staleAtMs);
      if (!episode.predictable) continue;
      this.predictable += 1;
      const advised = (run.advisoriesAtMs.get(episode.session) ?? []).find(
        (atMs) => atMs >= episode.startMs && atMs <= episode.staleAtMs!,
      );
      const firstWarningMs = Math.min(
        outcome.warningsAtMs[0] ?? Number.POSITIVE_INFINITY,
        advised ?? Number.POSITIVE_INFINITY,
      );
      if (firstWarningMs === Number.POSITIVE_INFINITY) continue;
      if (firstWarningMs <= episode.staleAtMs - episode.keepaliveMs) this.warnedAhead += 1;
      if (firstWarningMs < episode.staleAtMs) this.leadsMs.push(episode.staleAtMs - firstWarningMs);
    }
  }

  /** Adds another tally's counts to this one. */
  merge(other: DetectorTally): void {
    this.detectionsMs.push(...other.detectionsMs);
    this.leadsMs.push(...other.leadsMs);
    this.predictable += other.predictable;
    this.warnedAhead += other.warnedAhead;
    this.falseWarnings += other.falseWarnings;
    this.unnecessary += other.unnecessary;
    this.violations += other.violations;
    this.brierSum += other.brierSum;
    this.brierSamples += other.brierSamples;
    this.holds += other.holds;
    this.holdMs += other.holdMs;
    this.healthyFalseWarnings += other.healthyFalseWarnings;
    this.healthyHoldMs += other.healthyHoldMs;
    this.exposureMs += other.exposureMs;
  }

  /** The metrics; warning metrics and the Brier score are null for a detector that never warns (`warns` false). */
  metrics(warns: boolean): DetectorMetrics {
    return {
      detection_ms_p50: percentile(this.detectionsMs, 0.5),
      detection_ms_p99: percentile(this.detectionsMs, 0.99),
      warned_ahead_frac: warns && this.predictable > 0 ? this.warnedAhead / this.predictable : null,
      lead_ms_p50: warns ? percentile(this.leadsMs, 0.5) : null,
      false_warnings_per_hour: warns && this.holdMs > 0 ? this.falseWarnings / (this.holdMs / MS_PER_HOUR) : null,
      unnecessary_preemptions_per_1k: this.holds > 0 ? (1000 * this.unnecessary) / this.holds : null,
      guarantee_violations: this.violations,
      brier: warns && this.brierSamples > 0 ? this.brierSum / this.brierSamples : null,
      false_warnings_per_hour_healthy:
        warns && this.healthyHoldMs > 0 ? this.healthyFalseWarnings / (this.healthyHoldMs / MS_PER_HOUR) : null,
      unsafe_exposure_ms: this.exposureMs,
    };
  }
}

/** Episode, hold and holding-time counts of a family. */
export class FamilyTally {
  episodes = 0;
  holds = 0;
  holdMs = 0;

  /** Adds one trace's ground truth: its counted episodes (those whose session held a lock), holds and holding time. */
  add(truth: GroundTruth): void {
    this.episodes += truth.episodes.filter((episode) => episode.holdId !== null).length;
    this.holds += truth.holds.length;
    this.holdMs += truth.holdMs;
  }
}
