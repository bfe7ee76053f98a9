// The prediction's targets (docs/design.md, "Evaluation"), checked against a report: each with its measured value.
import type { DetectorMetrics } from './metrics.js';
import type { EvalReport } from './report.js';

/** One target's verdict; `met` is null when the report lacks what the target needs (e.g. a family not run). */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

/** Families on which a warning must come ahead of the stale episodes (advisories count). */
const WARNED_AHEAD_FAMILIES = ['latency-ramp', 'drift-beyond-bound'];
/** How far above phi-accrual's unnecessary pre-emptions (per 1k holds) forelock may be, per family. */
const UNNECESSARY_MARGIN_PER_1K = 0.1;

function metric(report: EvalReport, family: string | null, detector: string): DetectorMetrics | undefined {
  return family === null ? report.overall[detector] : report.families[family]?.detectors[detector];
}

function atMost(value: number | null | undefined, bound: number | null | undefined): boolean | null {
  if (value === null || value === undefined || bound === null || bound === undefined) return null;
  return value <= bound;
}

function all(verdicts: readonly (boolean | null)[]): boolean | null {
  if (verdicts.some((verdict) => verdict === false)) return false;
  return verdicts.some((verdict) => verdict === null) ? null : true;
}

/**
 * Checks the targets: per family, false warnings to healthy sessions at most 1 per hold-hour and unnecessary
 * pre-emptions at most phi-accrual's + 0.1 per 1k holds; forelock-guarded with no guarantee violation and no unsafe
 * exposure anywhere; crash detection p50 at most half of fixed-ttl's and no later than phi-accrual's; warned ahead
 * at least 0.8 on latency-ramp and drift-beyond-bound; the online path at most 10 us per event (the scale property is
 * a test of its own, `forelock eval --scale`).
 */
export function checkTargets(report: EvalReport): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const [family, section] of Object.entries(report.families)) {
    const ours = section.detectors.forelock;
    const phi = section.detectors['phi-accrual'];
    const healthy = ours?.false_warnings_per_hour_healthy;
    checks.push({
      target: `forelock false_warnings_per_hour_healthy <= 1 on ${family}`,
      measured: String(healthy ?? null),
      met: healthy === null || healthy === undefined ? null : healthy <= 1,
    });
    const phiUnnecessary = phi?.unnecessary_preemptions_per_1k;
    checks.push({
      target: `forelock unnecessary_preemptions_per_1k <= phi-accrual + ${UNNECESSARY_MARGIN_PER_1K} on ${family}`,
      measured: `${ours?.unnecessary_preemptions_per_1k ?? null} (phi-accrual ${phiUnnecessary ?? null})`,
      met: atMost(
        ours?.unnecessary_preemptions_per_1k,
        phiUnnecessary === null || phiUnnecessary === undefined ? null : phiUnnecessary + UNNECESSARY_MARGIN_PER_1K,
      ),
    });
  }
  const guarded = Object.values(report.families).map((section) => section.detectors['forelock-guarded']);
  const violations = guarded.reduce((sum, metrics) => sum + (metrics?.guarantee_violations ?? 0), 0);
  const exposureMs = guarded.reduce((sum, metrics) => sum + (metrics?.unsafe_exposure_ms ?? 0), 0);
  checks.push({
    target: 'forelock-guarded guarantee_violations = 0 and unsafe_exposure_ms = 0 in every family',
    measured: `${violations} violations, ${exposureMs} ms`,
    met: violations === 0 && exposureMs === 0,
  });
  const crash = (detector: string) => metric(report, 'crash', detector)?.detection_ms_p50;
  const fixedCrash = crash('fixed-ttl');
  checks.push({
    target: 'forelock detection_ms_p50 on crash <= half of fixed-ttl and <= phi-accrual',
    measured: `${crash('forelock') ?? null} (fixed-ttl ${fixedCrash ?? null}, phi-accrual ${crash('phi-accrual') ?? null})`,
    met: all([
      atMost(crash('forelock'), fixedCrash === null || fixedCrash === undefined ? null : fixedCrash / 2),
      atMost(crash('forelock'), crash('phi-accrual')),
    ]),
  });
  for (const family of WARNED_AHEAD_FAMILIES) {
    const warned = metric(report, family, 'forelock')?.warned_ahead_frac;
    checks.push({
      target: `forelock warned_ahead_frac >= 0.80 on ${family}`,
      measured: String(warned ?? null),
      met: warned === null || warned === undefined ? null : warned >= 0.8,
    });
  }
  const cost = report.cost.forelock?.cpu_us_per_event;
  checks.push({ target: 'forelock cpu_us_per_event <= 10', measured: String(cost ?? null), met: atMost(cost, 10) });
  return checks;
}

/** The checks as terminal lines. */
export function formatTargets(checks: readonly TargetCheck[]): string {
  const verdict = (met: boolean | null) => (met === null ? 'n/a ' : met ? 'MET ' : 'MISS');
  return `${['== targets', ...checks.map((check) => `${verdict(check.met)}  ${check.target}: ${check.measured}`)].join('\n')}\n`;
}
