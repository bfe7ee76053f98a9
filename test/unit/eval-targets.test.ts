import { describe, expect, it } from 'vitest';
import type { DetectorMetrics } from '../../src/eval/metrics.js';
import type { EvalReport, FamilyReport } from '../../src/eval/report.js';
import { checkTargets } from '../../src/eval/targets.js';

function metrics(overrides: Partial<DetectorMetrics>): DetectorMetrics {
  return {
    detection_ms_p50: null,
    detection_ms_p99: null,
    warned_ahead_frac: null,
    lead_ms_p50: null,
    false_warnings_per_hour: null,
    unnecessary_preemptions_per_1k: 0,
    guarantee_violations: 0,
    brier: null,
    ...overrides,
  };
}

function family(
  detectors: Record<string, Partial<DetectorMetrics>>,
  sweep: { knob: number; detection_ms_p50: number | null; unnecessary_preemptions_per_1k: number }[],
): FamilyReport {
  return {
    episodes: 1,
    holds: 1000,
    hold_hours: 1,
    detectors: Object.fromEntries(Object.entries(detectors).map(([name, values]) => [name, metrics(values)])),
    sweeps: { 'phi-accrual': sweep },
  };
}

function report(families: Record<string, FamilyReport>): EvalReport {
  return {
    version: 1,
    suite: 'quick',
    seeds: [101],
    detectors: ['forelock', 'forelock-guarded', 'fixed-ttl', 'phi-accrual'],
    families,
    overall: {
      forelock: metrics({ unnecessary_preemptions_per_1k: 0.4 }),
      'phi-accrual': metrics({ unnecessary_preemptions_per_1k: 0.3 }),
    },
    cost: { forelock: { cpu_us_per_event: 4 } },
  };
}

function verdict(checks: ReturnType<typeof checkTargets>, prefix: string): boolean | null | undefined {
  return checks.find((check) => check.target.startsWith(prefix))?.met;
}

describe('issue 4 target checks', () => {
  const checks = checkTargets(
    report({
      crash: family(
        {
          forelock: { detection_ms_p50: 4000, unnecessary_preemptions_per_1k: 0.2 },
          'forelock-guarded': { detection_ms_p50: 8000 },
          'fixed-ttl': { detection_ms_p50: 8200 },
          'phi-accrual': { detection_ms_p50: 5000 },
        },
        [
          { knob: 1, detection_ms_p50: 3900, unnecessary_preemptions_per_1k: 0.2 }, // better on time, equal: dominates
          { knob: 8, detection_ms_p50: 5000, unnecessary_preemptions_per_1k: 0 },
        ],
      ),
      'latency-ramp': family(
        {
          forelock: { warned_ahead_frac: 0.9 },
          'forelock-guarded': { detection_ms_p50: -10, guarantee_violations: 1 },
        },
        [],
      ),
      'healthy-jitter': family({ forelock: { false_warnings_per_hour: 1.5, unnecessary_preemptions_per_1k: 0.1 } }, [
        { knob: 8, detection_ms_p50: null, unnecessary_preemptions_per_1k: 0 },
      ]),
    }),
  );

  it('checks each threshold against the measured value', () => {
    expect(verdict(checks, '1. forelock warned_ahead_frac >= 0.80 on latency-ramp')).toBe(true);
    expect(verdict(checks, '1. forelock warned_ahead_frac >= 0.80 on clock-drift')).toBeNull();
    expect(verdict(checks, '2. forelock unnecessary_preemptions_per_1k overall')).toBe(false); // 0.4 > phi's 0.3
    expect(verdict(checks, '2. forelock false_warnings_per_hour <= 1 on healthy-jitter')).toBe(false);
    expect(verdict(checks, '3. forelock detection_ms_p50 on crash')).toBe(true); // 4000 <= 4100 and <= 5000
    expect(verdict(checks, '3. forelock-guarded guarantee_violations')).toBe(false);
    expect(verdict(checks, '3. forelock-guarded detection_ms_p50 < 0 on latency-ramp')).toBe(true);
    expect(verdict(checks, '5. forelock cpu_us_per_event')).toBe(true);
  });

  it('flags a sweep point that is no worse on both axes and better on one, and only compares both axes', () => {
    const crash = checks.find((check) => check.target.includes('dominates forelock') && check.target.endsWith('crash'));
    expect(crash?.met).toBe(false);
    expect(crash?.measured).toBe('dominated by phi-accrual@1');
    const healthy = checks.find((check) => check.target.includes('on healthy-jitter (no stale episodes'));
    expect(healthy?.met).toBeNull();
    expect(healthy?.measured).toContain('phi-accrual@8');
  });
});
