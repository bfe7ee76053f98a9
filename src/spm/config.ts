// The SPM's defaults (docs/design.md's table) and how a partial configuration is completed.
import type { SpmConfig } from './types.js';

/**
 * The server's defaults: warning threshold 0.70, pre-emption score 80, gMin 3 s, TTL 10 s.
 *
 * Nothing here describes a network: what a session's link does (its rhythm, spread, late arrivals, round trips, clock
 * rate and their noise) is learned from its own samples and the cluster's record. The absolute values that remain, and
 * the regime each holds for:
 * - `ttlMs`, `gMinMs`, `defaultHorizonMs`: the service's own contract (docs/design.md, "Defaults"), any network;
 * - `maxDrift`, `marginMs`: the SDK's safe-period assumptions (principle 2), which the guarantee answers;
 * - `clockAdvisoryRateBound`: what a disciplined clock keeps to (NTP's 500 ppm), any network;
 * - `overloadLoopDelayMs`, `overloadCpu`, `overloadAllowanceMs`, `conditionHoldMs`: this server process's own event
 *   loop (a Node.js loop delayed by 50 ms is no longer serving on time; its stalls last up to seconds; their effect on
 *   keepalive receipts lasts about one TTL), independent of where clients are;
 * - `keepaliveLossProbability`, `failurePriorPerInterval`, `stuckPriorPerHold`: priors, outweighed by the cluster's
 *   own record after `failurePriorIntervals` intervals;
 * - `demandBucketMs`, `arimaRefitIntervalMs`: the time scale of per-resource demand, not of any link.
 */
export const defaultSpmConfig: SpmConfig = {
  model: 'ewma',
  ttlMs: 10_000,
  gMinMs: 3_000,
  warningThreshold: 0.7,
  warningThresholdMin: 0.6,
  warningThresholdMax: 0.9,
  preemptionScoreThreshold: 80,
  maxDrift: 0.01,
  marginMs: 100,
  defaultHorizonMs: 60_000,
  smoothingAlpha: 0.3,
  varianceBeta: 0.25,
  trendAlpha: 0.3,
  minStdDevFraction: 0.01,
  guaranteeFloorMissProbability: 1e-3,
  trendWindow: 8,
  driftWindow: 16,
  driftConfidenceZ: 3,
  clockAdvisoryRateBound: 0.0005,
  keepaliveLossProbability: 0.001,
  failurePriorPerInterval: 0.002,
  failurePriorIntervals: 2_000,
  minSamples: 3,
  minHoldSamples: 30,
  stuckPriorPerHold: 3e-4,
  lookaheadRenewals: 3,
  overloadAllowanceMs: 5_000,
  commonCauseFraction: 0.5,
  overloadLoopDelayMs: 50,
  overloadCpu: 0.8,
  conditionHoldMs: 10_000,
  arimaOrder: { p: 1, d: 1, q: 0 },
  arimaRefitIntervalMs: 60_000,
  arimaMaxFitsPerMaintain: 4,
  arimaWindow: 32,
  demandBucketMs: 10_000,
};

/** Completes a partial configuration with the defaults and checks the values that would break the math. */
export function resolveSpmConfig(overrides: Partial<SpmConfig> = {}): SpmConfig {
  const config = { ...defaultSpmConfig, ...overrides };
  if (config.warningThresholdMin > config.warningThreshold || config.warningThreshold > config.warningThresholdMax) {
    throw new RangeError(
      `warning threshold ${config.warningThreshold} must lie within [${config.warningThresholdMin}, ${config.warningThresholdMax}]`,
    );
  }
  if (config.warningThresholdMin <= 0 || config.warningThresholdMax >= 1) {
    throw new RangeError(
      `warning thresholds must lie within (0, 1), got [${config.warningThresholdMin}, ${config.warningThresholdMax}]`,
    );
  }
  if (config.preemptionScoreThreshold <= 0 || config.preemptionScoreThreshold > 100) {
    throw new RangeError(`preemptionScoreThreshold must be in (0, 100], got ${config.preemptionScoreThreshold}`);
  }
  if (config.gMinMs <= 0 || config.gMinMs > config.ttlMs) {
    throw new RangeError(`gMinMs must be in (0, ttlMs=${config.ttlMs}], got ${config.gMinMs}`);
  }
  if (config.trendWindow < 3) throw new RangeError(`trendWindow needs at least 3 samples, got ${config.trendWindow}`);
  if (!(config.clockAdvisoryRateBound > 0 && config.clockAdvisoryRateBound < 1)) {
    throw new RangeError(`clockAdvisoryRateBound must be a fraction in (0, 1), got ${config.clockAdvisoryRateBound}`);
  }
  if (config.driftWindow < 6) {
    // The clock fit gives no estimate below six samples (its residuals could not say how noisy the session is).
    throw new RangeError(`driftWindow needs at least 6 samples, got ${config.driftWindow}`);
  }
  return config;
}
