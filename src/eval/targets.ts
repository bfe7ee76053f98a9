// Issue 4's targets, checked against a report: each with its measured value and whether it is met.
import type { DetectorMetrics } from './metrics.js';
import type { EvalReport } from './report.js';

/** One target's verdict; `met` is null when the report lacks what the target needs (e.g. a family not run). */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

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

/** Checks targets 1-4 and the online-path part of 5 (the 10,000-session benchmark is `npm run bench:spm`). */
export function checkTargets(report: EvalReport): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const family of ['latency-ramp', 'clock-drift', 'stuck-holder']) {
    const warned = metric(report, family, 'forelock')?.warned_ahead_frac;
    checks.push({
      target: `1. forelock warned_ahead_frac >= 0.80 on ${family}`,
      measured: String(warned ?? null),
      met: warned === null || warned === undefined ? null : warned >= 0.8,
    });
  }
  const ours = metric(report, null, 'forelock')?.unnecessary_preemptions_per_1k;
  const phi = metric(report, null, 'phi-accrual')?.unnecessary_preemptions_per_1k;
  checks.push({
    target: '2. forelock unnecessary_preemptions_per_1k overall <= 0.5 and <= phi-accrual',
    measured: `${ours ?? null} (phi-accrual ${phi ?? null})`,
    met: all([atMost(ours, 0.5), atMost(ours, phi)]),
  });
  for (const family of ['healthy-jitter', 'server-overload']) {
    const falseWarnings = metric(report, family, 'forelock')?.false_warnings_per_hour;
    checks.push({
      target: `2. forelock false_warnings_per_hour <= 1 on ${family}`,
      measured: String(falseWarnings ?? null),
      met: atMost(falseWarnings, 1),
    });
  }
  const crash = (detector: string) => metric(report, 'crash', detector)?.detection_ms_p50;
  const fixedCrash = crash('fixed-ttl');
  checks.push({
    target: '3. forelock detection_ms_p50 on crash <= half of fixed-ttl and <= phi-accrual',
    measured: `${crash('forelock') ?? null} (fixed-ttl ${fixedCrash ?? null}, phi-accrual ${crash('phi-accrual') ?? null})`,
    met: all([
      atMost(crash('forelock'), fixedCrash === null || fixedCrash === undefined ? null : fixedCrash / 2),
      atMost(crash('forelock'), crash('phi-accrual')),
    ]),
  });
  const violations = Object.values(report.families).map(
    (family) => family.detectors['forelock-guarded']?.guarantee_violations ?? 0,
  );
  const totalViolations = violations.reduce((sum, count) => sum + count, 0);
  checks.push({
    target: '3. forelock-guarded guarantee_violations = 0 in every family',
    measured: String(totalViolations),
    met: totalViolations === 0,
  });
  for (const family of ['latency-ramp', 'clock-drift']) {
    const detection = metric(report, family, 'forelock-guarded')?.detection_ms_p50;
    checks.push({
      target: `3. forelock-guarded detection_ms_p50 < 0 on ${family}`,
      measured: String(detection ?? null),
      met: detection === null || detection === undefined ? null : detection < 0,
    });
  }
  for (const [family, section] of Object.entries(report.families)) {
    const ourMetrics = section.detectors.forelock;
    if (ourMetrics === undefined) continue;
    const points = Object.entries(section.sweeps).flatMap(([baseline, sweep]) =>
      sweep.map((point) => ({ name: `${baseline}@${point.knob}`, ...point })),
    );
    if (ourMetrics.detection_ms_p50 === null) {
      // No stale episode: detection time does not exist, so no point can be better on both axes.
      const fewer = points.filter(
        (point) => (point.unnecessary_preemptions_per_1k ?? 0) < (ourMetrics.unnecessary_preemptions_per_1k ?? 0),
      );
      checks.push({
        target: `4. no sweep point better on both axes on ${family} (no stale episodes: unnecessary pre-emptions only)`,
        measured:
          fewer.length === 0
            ? 'no point has fewer'
            : `fewer unnecessary pre-emptions: ${fewer.map((point) => point.name).join(', ')}`,
        met: null,
      });
      continue;
    }
    const dominating = points.filter((point) => dominates(point, ourMetrics)).map((point) => point.name);
    checks.push({
      target: `4. no sweep point dominates forelock (detection p50, unnecessary /1k) on ${family}`,
      measured: dominating.length === 0 ? 'none dominates' : `dominated by ${dominating.join(', ')}`,
      met: dominating.length === 0,
    });
  }
  const cost = report.cost.forelock?.cpu_us_per_event;
  checks.push({ target: '5. forelock cpu_us_per_event <= 10', measured: String(cost ?? null), met: atMost(cost, 10) });
  return checks;
}

/** Pareto dominance: at least as good on detection time and unnecessary pre-emptions, strictly better on one. */
function dominates(
  point: { detection_ms_p50: number | null; unnecessary_preemptions_per_1k: number | null },
  ours: DetectorMetrics,
): boolean {
  if (point.detection_ms_p50 === null || ours.detection_ms_p50 === null) return false;
  const theirUnnecessary = point.unnecessary_preemptions_per_1k ?? 0;
  const ourUnnecessary = ours.unnecessary_preemptions_per_1k ?? 0;
  return (
    theirUnnecessary <= ourUnnecessary &&
    point.detection_ms_p50 <= ours.detection_ms_p50 &&
    (theirUnnecessary < ourUnnecessary || point.detection_ms_p50 < ours.detection_ms_p50)
  );
}

/** The checks as terminal lines. */
export function formatTargets(checks: readonly TargetCheck[]): string {
  const verdict = (met: boolean | null) => (met === null ? 'n/a ' : met ? 'MET ' : 'MISS');
  return `${['== issue 4 targets', ...checks.map((check) => `${verdict(check.met)}  ${check.target}: ${check.measured}`)].join('\n')}\n`;
}
