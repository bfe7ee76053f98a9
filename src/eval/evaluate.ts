// Runs every detector and every sweep point in shadow mode over a list of traces and tallies the outcomes.
import { DETECTORS, SWEEPS } from './detectors.js';
import { buildGroundTruth } from './ground-truth.js';
import { DetectorTally, FamilyTally } from './metrics.js';
import { type DetectorRun, runShadow } from './shadow-runner.js';
import type { Trace } from './trace.js';
import { unsafeExposureMs } from './unsafe-exposure.js';

/** One trace to evaluate, loaded (or generated) only when its turn comes. */
export interface EvaluationWork {
  readonly family: string;
  readonly label: string;
  readonly load: () => Trace;
}

/** Tallies of one family. */
export interface FamilyResult {
  readonly counts: FamilyTally;
  /** By detector name. */
  readonly detectors: Map<string, DetectorTally>;
  /** By baseline, then knob (in sweep order). */
  readonly sweeps: Map<string, Map<number, DetectorTally>>;
}

/** CPU time a detector spent and the events it was fed. */
export interface DetectorCost {
  cpuMicros: number;
  events: number;
}

/** Everything measured, in a fixed order: families in work order, detectors and sweeps in their declared order. */
export interface EvaluationResult {
  readonly families: Map<string, FamilyResult>;
  readonly overall: Map<string, DetectorTally>;
  readonly cost: Map<string, DetectorCost>;
}

/** Evaluates `work` in order; `onProgress` is called after each trace. */
export function evaluate(
  work: readonly EvaluationWork[],
  onProgress?: (done: number, total: number, label: string) => void,
): EvaluationResult {
  const families = new Map<string, FamilyResult>();
  const overall = new Map(DETECTORS.map((spec) => [spec.name, new DetectorTally()]));
  const cost = new Map(DETECTORS.map((spec) => [spec.name, { cpuMicros: 0, events: 0 }]));
  work.forEach((item, index) => {
    let family = families.get(item.family);
    if (family === undefined) {
      family = {
        counts: new FamilyTally(),
        detectors: new Map(DETECTORS.map((spec) => [spec.name, new DetectorTally()])),
        sweeps: new Map(
          SWEEPS.map((sweep) => [sweep.baseline, new Map(sweep.knobs.map((knob) => [knob, new DetectorTally()]))]),
        ),
      };
      families.set(item.family, family);
    }
    const trace = item.load();
    const truth = buildGroundTruth(trace);
    family.counts.add(truth);
    // Every detector that sends no guarantee (a baseline) promises the TTL: one exposure serves them all.
    let ttlExposureMs: number | null = null;
    const exposureOf = (run: DetectorRun): number => {
      if (run.answers !== null) return unsafeExposureMs(trace, run.answers);
      ttlExposureMs ??= unsafeExposureMs(trace, null);
      return ttlExposureMs;
    };
    for (const spec of DETECTORS) {
      const run = runShadow(trace, truth, spec);
      const exposureMs = exposureOf(run);
      family.detectors.get(spec.name)!.add(truth, run, exposureMs);
      overall.get(spec.name)!.add(truth, run, exposureMs);
      const spent = cost.get(spec.name)!;
      spent.cpuMicros += run.cpuMicros;
      spent.events += run.events;
    }
    for (const sweep of SWEEPS) {
      const points = family.sweeps.get(sweep.baseline)!;
      for (const knob of sweep.knobs) {
        const run = runShadow(trace, truth, sweep.spec(knob));
        points.get(knob)!.add(truth, run, exposureOf(run));
      }
    }
    onProgress?.(index + 1, work.length, item.label);
  });
  return { families, overall, cost };
}
