// The metrics of EVALUATION.md, accumulated over runs (seeds, families) and computed once at the end.
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

  /** Adds one run of the detector over the trace whose ground truth is `truth`. */
  add(truth: GroundTruth, run: DetectorRun): void {
    this.holds += truth.holds.length;
    this.holdMs += truth.holdMs;
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
      if (outcome.preemptAtMs !== null) this.unnecessary += 1;
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
      const firstWarningMs = outcome.warningsAtMs[0];
      if (firstWarningMs === undefined) continue;
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
