// `unsafe_exposure_ms`: how long clients believed they still held their locks after the server's promise had ended.
import { defaultSafePeriodAssumptions, grantedUntilMs } from '../session/safe-period.js';
import type { KeepaliveEvent, Trace } from './trace.js';

/** One keepalive answer as a detector's server sent it. */
export interface KeepaliveAnswerRecord {
  /** Server receive time of the keepalive answered. */
  readonly receiveMs: number;
  /** The guarantee the answer carried. */
  readonly guaranteeMs: number;
  /** The session's promise (its lease end) once this answer was sent. */
  readonly promisedUntilMs: number;
}

/** Maps a client clock reading (`client_time_ms`) to the world time at which the client's clock read it. */
type ClientClock = (clientTimeMs: number) => number;

/**
 * The world-time clock of each session: the trace's own (generated traces know each client's true clock), else fitted
 * over the whole trace in hindsight: receive time against client time by least squares, less half the median round
 * trip (the fit's intercept carries the mean one-way delay; the send is that much earlier).
 */
function clientClocks(
  trace: Trace,
  keepalives: ReadonlyMap<string, readonly KeepaliveEvent[]>,
): Map<string, ClientClock> {
  const clocks = new Map<string, ClientClock>();
  for (const [session, events] of keepalives) {
    const known = trace.clientClocks?.get(session);
    if (known !== undefined) {
      clocks.set(session, known);
      continue;
    }
    const points = events.filter((event) => event.client_time_ms !== undefined);
    if (points.length < 2) continue;
    const meanClient = points.reduce((sum, event) => sum + event.client_time_ms!, 0) / points.length;
    const meanReceive = points.reduce((sum, event) => sum + event.t, 0) / points.length;
    let sxx = 0;
    let sxy = 0;
    for (const event of points) {
      const dx = event.client_time_ms! - meanClient;
      sxx += dx * dx;
      sxy += dx * (event.t - meanReceive);
    }
    if (sxx === 0) continue;
    const slope = sxy / sxx;
    const rtts = points.flatMap((event) => (event.rtt_ms === undefined ? [] : [event.rtt_ms])).sort((a, b) => a - b);
    const oneWayMs = rtts.length === 0 ? 0 : rtts[Math.floor(rtts.length / 2)]! / 2;
    clocks.set(session, (clientTimeMs) => meanReceive + slope * (clientTimeMs - meanClient) - oneWayMs);
  }
  return clocks;
}

/**
 * Total time, over every session of `trace`, during which the client's safe period (the SDK's formula,
 * `send + g x (1 - maxDrift) - margin` on its own clock, run on its true clock) outlived the promise the server had
 * actually given it. `answers` holds each session's keepalive answers in time order; a detector that sends no
 * guarantee (a baseline) is taken to promise the full TTL from every keepalive's receipt.
 */
export function unsafeExposureMs(
  trace: Trace,
  answers: ReadonlyMap<string, readonly KeepaliveAnswerRecord[]> | null,
): number {
  const keepalives = new Map<string, KeepaliveEvent[]>();
  const ttlBySession = new Map<string, number>();
  for (const event of trace.events) {
    if (event.type === 'session') ttlBySession.set(event.session, event.ttl_ms);
    if (event.type !== 'keepalive') continue;
    const list = keepalives.get(event.session) ?? [];
    list.push(event);
    keepalives.set(event.session, list);
  }
  const clocks = clientClocks(trace, keepalives);
  let exposureMs = 0;
  for (const [session, events] of keepalives) {
    const clock = clocks.get(session);
    if (clock === undefined) continue;
    const ttlMs = ttlBySession.get(session) ?? trace.header.ttl_ms;
    const sent = answers?.get(session) ?? [];
    let answerIndex = 0;
    let promisedUntilMs = Number.NEGATIVE_INFINITY;
    let safeUntilMs = Number.NEGATIVE_INFINITY;
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      let answered = answers === null;
      let guaranteeMs = ttlMs;
      let promiseMs = event.t + ttlMs;
      if (answers !== null) {
        while (answerIndex < sent.length && sent[answerIndex]!.receiveMs < event.t) answerIndex++;
        const answer = sent[answerIndex];
        if (answer !== undefined && answer.receiveMs === event.t) {
          answered = true;
          guaranteeMs = answer.guaranteeMs;
          promiseMs = answer.promisedUntilMs;
          answerIndex++;
        }
      }
      if (answered) {
        promisedUntilMs = Math.max(promisedUntilMs, promiseMs);
        if (event.client_time_ms !== undefined) {
          const believedUntil = grantedUntilMs(
            { keepaliveSentAtMs: event.client_time_ms, durationMs: guaranteeMs },
            defaultSafePeriodAssumptions,
          );
          safeUntilMs = Math.max(safeUntilMs, clock(believedUntil));
        }
      }
      const nextMs = events[index + 1]?.t ?? Number.POSITIVE_INFINITY;
      exposureMs += Math.max(0, Math.min(safeUntilMs, nextMs) - Math.max(promisedUntilMs, event.t));
    }
  }
  return exposureMs;
}
