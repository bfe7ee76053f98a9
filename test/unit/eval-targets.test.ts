import { describe, expect, it } from 'vitest';
import type { DetectorMetrics } from '../../src/eval/metrics.js';
import type { EvalReport, FamilyReport } from '../../src/eval/report.js';
import { checkTargets, formatTargets } from '../../src/eval/targets.js';

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
    false_warnings_per_hour_healthy: null,
    unsafe_exposure_ms: 0,
    ...overrides,
  };
}

function family(detectors: Record<string, Partial<DetectorMetrics>>): FamilyReport {
  return {
    episodes: 1,
    holds: 1000,
    hold_hours: 1,
    detectors: Object.fromEntries(Object.entries(detectors).map(([name, values]) => [name, metrics(values)])),
    sweeps: {},
  };
}

function report(families: Record<string, FamilyReport>): EvalReport {
  return {
    version: 1,
    suite: 'quick',
    seeds: [101],
    detectors: ['forelock', 'forelock-guarded', 'fixed-ttl', 'phi-accrual'],
    families,
    overall: {},
    worst: {},
    cost: { forelock: { cpu_us_per_event: 4 } },
  };
}

function verdict(checks: ReturnType<typeof checkTargets>, target: string): boolean | null | undefined {
  return checks.find((check) => check.target === target)?.met;
}

describe('target checks', () => {
  const checks = checkTargets(
    report({
      crash: family({
        forelock: {
          detection_ms_p50: 4000,
          unnecessary_preemptions_per_1k: 0.15,
          false_warnings_per_hour_healthy: 0.5,
        },
        'forelock-guarded': { detection_ms_p50: 8000 },
        'fixed-ttl': { detection_ms_p50: 8200 },
        'phi-accrual': { detection_ms_p50: 5000, unnecessary_preemptions_per_1k: 0 },
      }),
      'latency-ramp': family({
        forelock: { warned_ahead_frac: 0.9, unnecessary_preemptions_per_1k: 0.1 },
        'forelock-guarded': { guarantee_violations: 0, unsafe_exposure_ms: 12 },
        'phi-accrual': { unnecessary_preemptions_per_1k: 0 },
      }),
      wan: family({
        forelock: { false_warnings_per_hour_healthy: 1.5 },
        'phi-accrual': { unnecessary_preemptions_per_1k: 0.2 },
      }),
    }),
  );

  it('checks each threshold, per family, against the measured value', () => {
    expect(verdict(checks, 'forelock false_warnings_per_hour_healthy <= 1 on crash')).toBe(true);
    expect(verdict(checks, 'forelock false_warnings_per_hour_healthy <= 1 on wan')).toBe(false);
    expect(verdict(checks, 'forelock false_warnings_per_hour_healthy <= 1 on latency-ramp')).toBeNull();
    expect(verdict(checks, 'forelock unnecessary_preemptions_per_1k <= phi-accrual + 0.1 on crash')).toBe(false);
    expect(verdict(checks, 'forelock unnecessary_preemptions_per_1k <= phi-accrual + 0.1 on latency-ramp')).toBe(true);
    expect(verdict(checks, 'forelock unnecessary_preemptions_per_1k <= phi-accrual + 0.1 on wan')).toBe(true);
    expect(
      verdict(checks, 'forelock-guarded guarantee_violations = 0 and unsafe_exposure_ms = 0 in every family'),
    ).toBe(false);
    expect(verdict(checks, 'forelock detection_ms_p50 on crash <= half of fixed-ttl and <= phi-accrual')).toBe(true);
    expect(verdict(checks, 'forelock warned_ahead_frac >= 0.80 on latency-ramp')).toBe(true);
    expect(verdict(checks, 'forelock warned_ahead_frac >= 0.80 on drift-beyond-bound')).toBeNull();
    expect(verdict(checks, 'forelock cpu_us_per_event <= 10')).toBe(true);
  });

  it('prints one line per target with its verdict', () => {
    const text = formatTargets(checks);
    expect(text).toContain('MISS  forelock false_warnings_per_hour_healthy <= 1 on wan: 1.5');
    expect(text).toContain('MET   forelock cpu_us_per_event <= 10: 4');
  });
});
