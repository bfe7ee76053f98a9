// The evaluation suites: which seeds, how big each scenario is.
import { defaultScenarioSize, type ScenarioSize } from '../sim/scenarios/families.js';

/** A named suite. */
export interface Suite {
  readonly name: 'quick' | 'full';
  /** Seeds run when neither --seed nor --seeds is given (101 and up: seeds 1-100 are for tuning). */
  readonly defaultSeeds: number;
  readonly size: ScenarioSize;
}

/** `quick`: 3 seeds per family (about 10 s of CPU, well under a minute on two busy cores). */
export const QUICK_SUITE: Suite = { name: 'quick', defaultSeeds: 3, size: defaultScenarioSize };

/** `full`: 30 seeds per family. */
export const FULL_SUITE: Suite = { name: 'full', defaultSeeds: 30, size: defaultScenarioSize };

/** The first reported seed; `--seeds N` runs FIRST_REPORTED_SEED .. FIRST_REPORTED_SEED + N - 1. */
export const FIRST_REPORTED_SEED = 101;

/** Seeds FIRST_REPORTED_SEED .. FIRST_REPORTED_SEED + count - 1. */
export function reportedSeeds(count: number): number[] {
  return Array.from({ length: count }, (_, index) => FIRST_REPORTED_SEED + index);
}
