// Runs a baseline arrival estimator per session as a detector: the holder is declared dead at its suspicion time.
import type { Detector, DetectorSink, DetectorSpec } from '../detector.js';
import { keepaliveIntervalMs } from '../detector.js';
import type { ObservableEvent, TraceHeader } from '../trace.js';
import type { ArrivalEstimator, ArrivalEstimatorFactory } from './arrival-estimator.js';

interface BaselineSession {
  readonly estimator: ArrivalEstimator;
  readonly ttlMs: number;
  lastArrivalMs: number;
  /** Held resources and whether the hold has already been declared dead. */
  readonly holds: Map<string, { readonly grantMs: number; fired: boolean }>;
}

/** A baseline failure detector: between two arrivals, a session is suspected from `suspectAtMs()` on, and each of its
 * holds is pre-empted at the later of that moment and its grant. Its guarantee is the trace's: last keepalive + TTL. */
export class DeadlineDetector implements Detector {
  private readonly sessions = new Map<string, BaselineSession>();

  constructor(
    private readonly header: TraceHeader,
    private readonly sink: DetectorSink,
    private readonly factory: ArrivalEstimatorFactory,
  ) {}

  observe(event: ObservableEvent): void {
    if (event.type === 'load') return;
    if (event.type === 'session') {
      const estimator = this.factory(keepaliveIntervalMs(this.header, event.ttl_ms), event.ttl_ms);
      estimator.arrive(event.t);
      this.sessions.set(event.session, { estimator, ttlMs: event.ttl_ms, lastArrivalMs: event.t, holds: new Map() });
      return;
    }
    const session = this.sessions.get(event.session);
    if (session === undefined) return;
    switch (event.type) {
      case 'keepalive':
        this.settle(event.session, session, event.t);
        session.estimator.arrive(event.t);
        session.lastArrivalMs = event.t;
        return;
      case 'grant':
        session.holds.set(event.resource, { grantMs: event.t, fired: false });
        return;
      case 'release':
        this.settle(event.session, session, event.t);
        session.holds.delete(event.resource);
        return;
      case 'close':
        this.settle(event.session, session, event.t);
        this.sessions.delete(event.session);
        return;
      case 'acquire':
        return;
    }
  }

  finish(endMs: number): void {
    for (const [sessionId, session] of this.sessions) this.settle(sessionId, session, endMs);
  }

  /** Reports every hold of the session that would have been declared dead before `beforeMs`. */
  private settle(sessionId: string, session: BaselineSession, beforeMs: number): void {
    const suspectAtMs = session.estimator.suspectAtMs();
    if (!(suspectAtMs < beforeMs)) return;
    for (const [resource, hold] of session.holds) {
      const atMs = Math.max(hold.grantMs, suspectAtMs);
      if (hold.fired || !(atMs < beforeMs)) continue;
      hold.fired = true;
      this.sink.preempt(sessionId, resource, atMs, session.lastArrivalMs + session.ttlMs);
    }
  }
}

/** A baseline detector spec from an estimator factory. */
export function baselineSpec(name: string, factory: ArrivalEstimatorFactory): DetectorSpec {
  return { name, warns: false, create: (header, sink) => new DeadlineDetector(header, sink, factory) };
}
