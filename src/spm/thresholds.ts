// Dynamic thresholds (specification 6): common cause, node overload, per-client record, outcome calibration.
import type { SpmConfig } from './types.js';

/** Raise of the warning threshold (and 10x of it on the score threshold) while overloaded or under common cause. */
const CONDITION_RAISE = 0.15;
/** Per-client adjustment per answered (lenient) or ignored (strict) warning, and its bound. */
const CLIENT_STEP = 0.05;
const CLIENT_MAX_LENIENCY = 0.15;
const CLIENT_MAX_STRICTNESS = 0.1;
/** Calibration: precision EWMA factor, the precision band kept, and the step of the threshold. */
const PRECISION_ALPHA = 0.1;
const PRECISION_LOW = 0.5;
const PRECISION_HIGH = 0.9;
const CALIBRATION_STEP = 0.02;
/** Highest threshold any raise may reach: a certain staleness is still warned. */
const CEILING = 0.99;

/** The warning threshold's base (calibrated within bounds) and the conditions that raise it. */
export class DynamicThresholds {
  private baseWarning: number;
  private precision = 1;
  private outcomes = 0;

  constructor(private readonly config: SpmConfig) {
    this.baseWarning = config.warningThreshold;
  }

  /** The warning threshold for a client with no record, under the given conditions. */
  warning(overloaded: boolean, commonCause: boolean): number {
    return Math.min(
      CEILING,
      this.baseWarning + (overloaded ? CONDITION_RAISE : 0) + (commonCause ? CONDITION_RAISE : 0),
    );
  }

  /** The warning threshold for one client: answered warnings earn leniency, ignored ones strictness. */
  warningFor(overloaded: boolean, commonCause: boolean, answered: number, ignored: number): number {
    const adjustment =
      Math.min(CLIENT_MAX_LENIENCY, answered * CLIENT_STEP) - Math.min(CLIENT_MAX_STRICTNESS, ignored * CLIENT_STEP);
    const base = this.warning(overloaded, commonCause);
    return Math.max(this.config.warningThresholdMin, Math.min(CEILING, base + adjustment));
  }

  /** The pre-emption score threshold under the given conditions. */
  preemptionScore(overloaded: boolean, commonCause: boolean): number {
    const raise = 100 * CONDITION_RAISE * ((overloaded ? 1 : 0) + (commonCause ? 1 : 0));
    return Math.min(100, this.config.preemptionScoreThreshold + raise);
  }

  /**
   * Learns from a warning's outcome: `correct` when the warned holder did go stale (expired, lost its lease),
   * false when it released normally. Low precision raises the base threshold, high precision lowers it, within the
   * configured bounds.
   */
  recordOutcome(correct: boolean): void {
    this.precision += PRECISION_ALPHA * ((correct ? 1 : 0) - this.precision);
    this.outcomes++;
    if (this.outcomes < 5) return;
    if (this.precision < PRECISION_LOW) this.baseWarning += CALIBRATION_STEP;
    else if (this.precision > PRECISION_HIGH) this.baseWarning -= CALIBRATION_STEP;
    this.baseWarning = Math.min(
      this.config.warningThresholdMax,
      Math.max(this.config.warningThresholdMin, this.baseWarning),
    );
  }
}
