// The report of `forelock eval`: the JSON document of docs/design.md and the same numbers as terminal tables.
import { DETECTORS, SWEEPS } from './detectors.js';
import type { EvaluationResult } from './evaluate.js';
import type { DetectorMetrics } from './metrics.js';

/** One point of a baseline's sweep. */
export interface SweepPoint {
  readonly knob: number;
  readonly detection_ms_p50: number | null;
  readonly unnecessary_preemptions_per_1k: number | null;
}

/** One family's section. */
export interface FamilyReport {
  readonly episodes: number;
  readonly holds: number;
  readonly hold_hours: number;
  readonly detectors: Record<string, DetectorMetrics>;
  readonly sweeps: Record<string, SweepPoint[]>;
}

/** Where one metric of `forelock` is worst. */
export interface WorstFamily {
  readonly family: string;
  readonly value: number;
}

/** The detector whose worst families the report names. */
const WORST_OF = 'forelock';
/** Metrics for which a higher value is better (the rest: lower is better). */
const HIGHER_IS_BETTER: ReadonlySet<keyof DetectorMetrics> = new Set(['warned_ahead_frac', 'lead_ms_p50']);

/** The JSON document (docs/design.md, "Evaluation"). */
export interface EvalReport {
  readonly version: 1;
  readonly suite: 'quick' | 'full' | 'trace';
  readonly seeds: number[];
  readonly detectors: string[];
  readonly families: Record<string, FamilyReport>;
  readonly overall: Record<string, DetectorMetrics>;
  /** For each metric of `forelock`, the family where it is worst (highest, or lowest for the warned-ahead fraction
   * and the lead time); a metric null in every family is left out. */
  readonly worst: Record<string, WorstFamily>;
  readonly cost: Record<string, { cpu_us_per_event: number | null }>;
}

function round(value: number | null, decimals: number): number | null {
  if (value === null) return null;
  const scale = 10 ** decimals;
  const rounded = Math.round(value * scale) / scale;
  return rounded === 0 ? 0 : rounded;
}

function rounded(metrics: DetectorMetrics): DetectorMetrics {
  return {
    detection_ms_p50: round(metrics.detection_ms_p50, 0),
    detection_ms_p99: round(metrics.detection_ms_p99, 0),
    warned_ahead_frac: round(metrics.warned_ahead_frac, 3),
    lead_ms_p50: round(metrics.lead_ms_p50, 0),
    false_warnings_per_hour: round(metrics.false_warnings_per_hour, 3),
    unnecessary_preemptions_per_1k: round(metrics.unnecessary_preemptions_per_1k, 3),
    guarantee_violations: metrics.guarantee_violations,
    brier: round(metrics.brier, 4),
    false_warnings_per_hour_healthy: round(metrics.false_warnings_per_hour_healthy, 3),
    unsafe_exposure_ms: round(metrics.unsafe_exposure_ms, 0)!,
  };
}

/** For each metric of `forelock`, the family where it is worst (the first such family on a tie). */
export function worstFamilies(families: Record<string, FamilyReport>): Record<string, WorstFamily> {
  const worst: Record<string, WorstFamily> = {};
  for (const [family, section] of Object.entries(families)) {
    const metrics = section.detectors[WORST_OF];
    if (metrics === undefined) continue;
    for (const key of Object.keys(metrics) as (keyof DetectorMetrics)[]) {
      const value = metrics[key];
      if (value === null) continue;
      const current = worst[key];
      const worse =
        current === undefined || (HIGHER_IS_BETTER.has(key) ? value < current.value : value > current.value);
      if (worse) worst[key] = { family, value };
    }
  }
  return worst;
}

/** Builds the report; everything outside `cost` depends only on the traces, so equal seeds give equal JSON. */
export function buildReport(
  result: EvaluationResult,
  suite: EvalReport['suite'],
  seeds: readonly number[],
): EvalReport {
  const families: Record<string, FamilyReport> = {};
  for (const [family, tallies] of result.families) {
    const detectors: Record<string, DetectorMetrics> = {};
    for (const spec of DETECTORS) detectors[spec.name] = rounded(tallies.detectors.get(spec.name)!.metrics(spec.warns));
    const sweeps: Record<string, SweepPoint[]> = {};
    for (const sweep of SWEEPS) {
      sweeps[sweep.baseline] = [...tallies.sweeps.get(sweep.baseline)!].map(([knob, tally]) => {
        const metrics = rounded(tally.metrics(false));
        return {
          knob,
          detection_ms_p50: metrics.detection_ms_p50,
          unnecessary_preemptions_per_1k: metrics.unnecessary_preemptions_per_1k,
        };
      });
    }
    families[family] = {
      episodes: tallies.counts.episodes,
      holds: tallies.counts.holds,
      hold_hours: round(tallies.counts.holdMs / 3_600_000, 2)!,
      detectors,
      sweeps,
    };
  }
  const overall: Record<string, DetectorMetrics> = {};
  const cost: Record<string, { cpu_us_per_event: number | null }> = {};
  for (const spec of DETECTORS) {
    overall[spec.name] = rounded(result.overall.get(spec.name)!.metrics(spec.warns));
    const spent = result.cost.get(spec.name)!;
    cost[spec.name] = { cpu_us_per_event: spent.events > 0 ? round(spent.cpuMicros / spent.events, 2) : null };
  }
  return {
    version: 1,
    suite,
    seeds: [...seeds],
    detectors: DETECTORS.map((spec) => spec.name),
    families,
    overall,
    worst: worstFamilies(families),
    cost,
  };
}

const COLUMNS: readonly [keyof DetectorMetrics, string][] = [
  ['detection_ms_p50', 'det p50 ms'],
  ['detection_ms_p99', 'det p99 ms'],
  ['warned_ahead_frac', 'warned'],
  ['lead_ms_p50', 'lead p50 ms'],
  ['false_warnings_per_hour', 'false w/h'],
  ['unnecessary_preemptions_per_1k', 'unnec /1k'],
  ['guarantee_violations', 'viol'],
  ['brier', 'brier'],
  ['false_warnings_per_hour_healthy', 'healthy w/h'],
  ['unsafe_exposure_ms', 'unsafe ms'],
];

function cell(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : String(value);
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((text, column) => (column === 0 ? text.padEnd(widths[column]!) : text.padStart(widths[column]!)))
        .join('  '),
    )
    .join('\n');
}

function metricsTable(byDetector: Record<string, DetectorMetrics>): string {
  const rows: string[][] = [['detector', ...COLUMNS.map(([, title]) => title)]];
  for (const [name, metrics] of Object.entries(byDetector))
    rows.push([name, ...COLUMNS.map(([key]) => cell(metrics[key]))]);
  return table(rows);
}

/** The report as terminal text: one table per family with its sweeps, the overall table and the cost. */
export function formatReport(report: EvalReport): string {
  const out: string[] = [
    `forelock eval: suite ${report.suite}, seeds ${describeSeeds(report.seeds)} ('-' = does not apply)`,
  ];
  for (const [family, section] of Object.entries(report.families)) {
    out.push(
      '',
      `== ${family}: ${section.episodes} episodes, ${section.holds} holds, ${section.hold_hours} hold-hours`,
    );
    out.push(metricsTable(section.detectors));
    out.push('   sweeps (knob: det p50 ms / unnec /1k):');
    for (const [baseline, points] of Object.entries(section.sweeps)) {
      const text = points
        .map((point) => `${point.knob}: ${cell(point.detection_ms_p50)}/${cell(point.unnecessary_preemptions_per_1k)}`)
        .join('  ');
      out.push(`   ${baseline.padEnd(11)} ${text}`);
    }
  }
  out.push('', '== overall', metricsTable(report.overall));
  const worst = Object.entries(report.worst);
  if (worst.length > 0) {
    out.push('', `== worst family of ${WORST_OF}, per metric`);
    out.push(table([['metric', 'family', 'value'], ...worst.map(([key, at]) => [key, at.family, String(at.value)])]));
  }
  out.push('', '== cost (cpu us per event)');
  out.push(
    Object.entries(report.cost)
      .map(([name, spent]) => `${name}: ${cell(spent.cpu_us_per_event)}`)
      .join('  '),
  );
  return `${out.join('\n')}\n`;
}

function describeSeeds(seeds: readonly number[]): string {
  if (seeds.length === 0) return 'none';
  const contiguous = seeds.every((seed, index) => seed === seeds[0]! + index);
  return contiguous && seeds.length > 2 ? `${seeds[0]}..${seeds[seeds.length - 1]}` : seeds.join(',');
}
