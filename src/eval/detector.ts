// What the shadow-mode runner asks of a detector: it sees the trace's observable events and reports its decisions.
import type { ObservableEvent, TraceHeader } from './trace.js';

/** Where a detector records what it would have done; recording never changes the event stream (shadow mode). */
export interface DetectorSink {
  /** A staleness warning sent to the holder of `resource`. */
  warn(sessionId: string, resource: string, atMs: number): void;
  /** A session advisory began (a condition of the session, told once per episode): it counts as a warning. */
  advise(sessionId: string, atMs: number): void;
  /** The keepalive received at `receiveMs` was answered with `guaranteeMs`; the session's promise is now
   * `promisedUntilMs` (a detector that never calls this is taken to promise the TTL from every keepalive). */
  answer(sessionId: string, receiveMs: number, guaranteeMs: number, promisedUntilMs: number): void;
  /** The moment the detector would revoke the lock (for baselines: declare the holder dead), and the end of the
   * last guarantee the holder had been sent by then. */
  preempt(sessionId: string, resource: string, atMs: number, guaranteeEndMs: number): void;
  /** The staleness probability the detector gives a held lock at a keepalive, over `horizonMs`. */
  probability(sessionId: string, resource: string, atMs: number, probability: number, horizonMs: number): void;
}

/** One detector run over one trace. Events arrive sorted by `t`; before applying an event at `t` a detector reports
 * every decision it would have taken before `t`. */
export interface Detector {
  observe(event: ObservableEvent): void;
  /** The trace ended at `endMs`: report what would have happened until then. */
  finish(endMs: number): void;
}

/** A named detector (or one point of a baseline's sweep) that can be run over any trace. */
export interface DetectorSpec {
  readonly name: string;
  /** True for detectors that warn and give probabilities (the warning metrics and the Brier score apply). */
  readonly warns: boolean;
  create(header: TraceHeader, sink: DetectorSink): Detector;
}

/** The nominal keepalive interval of a session with `ttlMs`: the trace's interval scaled to the session's TTL. */
export function keepaliveIntervalMs(header: TraceHeader, ttlMs: number): number {
  return (header.keepalive_ms * ttlMs) / header.ttl_ms;
}
