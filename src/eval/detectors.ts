// The detectors `forelock eval` compares (docs/design.md, "Detectors compared") and the baselines' sweeps.
import { ChenEstimator } from './baselines/chen.js';
import { baselineSpec } from './baselines/deadline-detector.js';
import { FixedTtlEstimator } from './baselines/fixed-ttl.js';
import { defaultPhiAccrualConfig, PhiAccrualEstimator } from './baselines/phi-accrual.js';
import { RtoEstimator } from './baselines/rto.js';
import type { DetectorSpec } from './detector.js';
import { forelockGuardedSpec, forelockSpec } from './forelock-detector.js';

/** Window of Chen's estimator (docs/design.md's default). */
const CHEN_WINDOW = 1000;

/** `fixed-ttl` declaring the holder dead `ttlFactor` x TTL after its last keepalive. */
export function fixedTtlSpec(ttlFactor: number): DetectorSpec {
  return baselineSpec('fixed-ttl', (_keepaliveMs, ttlMs) => new FixedTtlEstimator(ttlFactor * ttlMs));
}

/** `phi-accrual` with its defaults and the given threshold. */
export function phiAccrualSpec(threshold: number): DetectorSpec {
  return baselineSpec(
    'phi-accrual',
    (keepaliveMs) => new PhiAccrualEstimator({ ...defaultPhiAccrualConfig, threshold }, keepaliveMs),
  );
}

/** `chen` with a safety margin of `alphaIntervals` keepalive intervals. */
export function chenSpec(alphaIntervals: number): DetectorSpec {
  return baselineSpec(
    'chen',
    (keepaliveMs) => new ChenEstimator({ window: CHEN_WINDOW, alphaMs: alphaIntervals * keepaliveMs }, keepaliveMs),
  );
}

/** `rto` with SRTT + k x RTTVAR. */
export function rtoSpec(k: number): DetectorSpec {
  return baselineSpec('rto', (keepaliveMs) => new RtoEstimator(k, keepaliveMs));
}

/** The six detectors at their defaults, in report order. */
export const DETECTORS: readonly DetectorSpec[] = [
  forelockSpec,
  forelockGuardedSpec,
  fixedTtlSpec(1),
  phiAccrualSpec(defaultPhiAccrualConfig.threshold),
  chenSpec(1),
  rtoSpec(4),
];

/** One baseline's knob and the values it is swept over. */
export interface Sweep {
  readonly baseline: string;
  readonly knobs: readonly number[];
  readonly spec: (knob: number) => DetectorSpec;
}

/** The sweeps of docs/design.md: TTL factor, phi threshold, Chen's alpha in intervals, RTO's K. */
export const SWEEPS: readonly Sweep[] = [
  { baseline: 'fixed-ttl', knobs: [0.3, 0.45, 0.6, 0.75, 1], spec: fixedTtlSpec },
  { baseline: 'phi-accrual', knobs: [0.5, 1, 2, 4, 8, 12, 16], spec: phiAccrualSpec },
  { baseline: 'chen', knobs: [0.25, 0.5, 1, 2, 3], spec: chenSpec },
  { baseline: 'rto', knobs: [1, 2, 4, 6, 8], spec: rtoSpec },
];
