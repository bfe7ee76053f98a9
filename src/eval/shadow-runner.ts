// Shadow mode (docs/design.md): one detector over one trace; its decisions are recorded against the holds they hit.
import type { DetectorSpec } from './detector.js';
import type { GroundTruth } from './ground-truth.js';
import type { Trace } from './trace.js';
import type { KeepaliveAnswerRecord } from './unsafe-exposure.js';

/** What one detector would have done to one hold. */
export interface HoldOutcome {
  /** First moment it would have revoked the hold (before its end), or null. */
  preemptAtMs: number | null;
  /** End of the last guarantee the holder had been sent at that moment. */
  guaranteeEndMs: number | null;
  /** Warnings sent while the hold was held. */
  readonly warningsAtMs: number[];
}

/** One detector's run over one trace. */
export interface DetectorRun {
  /** Indexed by hold id. */
  readonly outcomes: readonly HoldOutcome[];
  /** Session advisories begun, per session, in time order. */
  readonly advisoriesAtMs: ReadonlyMap<string, readonly number[]>;
  /** Keepalive answers per session in time order, or null when the detector sends no guarantees (a baseline). */
  readonly answers: ReadonlyMap<string, readonly KeepaliveAnswerRecord[]> | null;
  /** Sum of squared errors of the probabilities given at keepalives, and how many there were. */
  readonly brierSum: number;
  readonly brierSamples: number;
  /** Observable events fed to the detector. */
  readonly events: number;
  /** CPU time the run took (process user + system), in microseconds. */
  readonly cpuMicros: number;
}

/** Feeds every observable event of `trace` to a fresh detector from `spec` and records its decisions per hold.
 * Truth lines are withheld: the detector never sees them. */
export function runShadow(trace: Trace, truth: GroundTruth, spec: DetectorSpec): DetectorRun {
  const outcomes: HoldOutcome[] = truth.holds.map(() => ({
    preemptAtMs: null,
    guaranteeEndMs: null,
    warningsAtMs: [],
  }));
  let brierSum = 0;
  let brierSamples = 0;
  let events = 0;
  const advisoriesAtMs = new Map<string, number[]>();
  let answers: Map<string, KeepaliveAnswerRecord[]> | null = null;
  const started = process.cpuUsage();
  const detector = spec.create(trace.header, {
    warn(sessionId, resource, atMs) {
      const hold = truth.holdAt(sessionId, resource, atMs);
      if (hold !== undefined) outcomes[hold.id]!.warningsAtMs.push(atMs);
    },
    advise(sessionId, atMs) {
      const list = advisoriesAtMs.get(sessionId) ?? [];
      list.push(atMs);
      advisoriesAtMs.set(sessionId, list);
    },
    answer(sessionId, receiveMs, guaranteeMs, promisedUntilMs) {
      answers ??= new Map();
      const list = answers.get(sessionId) ?? [];
      list.push({ receiveMs, guaranteeMs, promisedUntilMs });
      answers.set(sessionId, list);
    },
    preempt(sessionId, resource, atMs, guaranteeEndMs) {
      const hold = truth.holdAt(sessionId, resource, atMs);
      if (hold === undefined || atMs >= hold.endMs) return;
      const outcome = outcomes[hold.id]!;
      if (outcome.preemptAtMs !== null && outcome.preemptAtMs <= atMs) return;
      outcome.preemptAtMs = atMs;
      outcome.guaranteeEndMs = guaranteeEndMs;
    },
    probability(sessionId, resource, atMs, probability, horizonMs) {
      const hold = truth.holdAt(sessionId, resource, atMs);
      if (hold === undefined) return;
      const stale = hold.staleAtMs !== null && hold.staleAtMs <= atMs + horizonMs ? 1 : 0;
      brierSum += (probability - stale) ** 2;
      brierSamples += 1;
    },
  });
  for (const event of trace.events) {
    if (event.type === 'truth') continue;
    detector.observe(event);
    events += 1;
  }
  detector.finish(truth.endMs);
  const used = process.cpuUsage(started);
  return {
    outcomes,
    advisoriesAtMs,
    answers,
    brierSum,
    brierSamples,
    events,
    cpuMicros: used.user + used.system,
  };
}
