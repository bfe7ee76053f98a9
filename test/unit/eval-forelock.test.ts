import { describe, expect, it } from 'vitest';
import { forelockGuardedSpec, forelockSpec } from '../../src/eval/forelock-detector.js';
import { buildGroundTruth } from '../../src/eval/ground-truth.js';
import { runShadow } from '../../src/eval/shadow-runner.js';
import { generateScenario, SCENARIO_FAMILIES, type ScenarioSize } from '../../src/sim/scenarios/families.js';

const SIZE: ScenarioSize = { workers: 8, leaders: 1, durationMs: 420_000, faults: 4 };
const SEEDS = [21, 22];

describe('the forelock detectors in shadow mode', () => {
  it.each(SCENARIO_FAMILIES)('%s: forelock-guarded never revokes before the promise it sent', (family) => {
    for (const seed of SEEDS) {
      const trace = generateScenario(family, seed, SIZE);
      const truth = buildGroundTruth(trace);
      const run = runShadow(trace, truth, forelockGuardedSpec);
      const early = run.outcomes.filter(
        (outcome) => outcome.preemptAtMs !== null && outcome.preemptAtMs < outcome.guaranteeEndMs!,
      );
      expect(early, `${family} seed ${seed}`).toEqual([]);
      expect(run.events).toBe(trace.events.filter((event) => event.type !== 'truth').length);
    }
  });

  it('runs the same decisions for the same trace (deterministic)', () => {
    const trace = generateScenario('crash', 23, SIZE);
    const truth = buildGroundTruth(trace);
    const first = runShadow(trace, truth, forelockSpec);
    const second = runShadow(trace, truth, forelockSpec);
    expect(second.outcomes).toEqual(first.outcomes);
    expect(second.brierSum).toBe(first.brierSum);
    expect(first.brierSamples).toBeGreaterThan(0);
  });
});
