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

/** Points a clock fit in hindsight needs before its rate is trusted over the server's own. */
const MIN_FIT_POINTS = 10;
/** A fitted rate is trusted only when known this well: a rate error smaller than this cannot be told from noise. */
const MAX_RATE_STD_ERR = 0.002;

/**
 * The world-time clock of each session: the trace's own (generated traces know each client's true clock), else fitted
 * over the whole trace in hindsight: receive time against client time by weighted least squares, each keepalive
 * weighed by how little its round trip leaves its one-way delay in doubt (1 / (1 ms + rtt/2)^2), less half the median
 * round trip (the intercept carries the mean one-way delay). A session too short or too noisy to show its rate
 * (fewer than 10 keepalives, or a rate error known to worse than 0.2%) is taken to run at the server's rate.
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
    if (points.length === 0) continue;
    const weight = (event: KeepaliveEvent): number => 1 / (1 + (event.rtt_ms ?? 0) / 2) ** 2;
    let sumW = 0;
    let meanClient = 0;
    let meanReceive = 0;
    for (const event of points) {
      const w = weight(event);
      sumW += w;
      meanClient += w * event.client_time_ms!;
      meanReceive += w * event.t;
    }
    meanClient /= sumW;
    meanReceive /= sumW;
    let sxx = 0;
    let sxy = 0;
    for (const event of points) {
      const w = weight(event);
      const dx = event.client_time_ms! - meanClient;
      sxx += w * dx * dx;
      sxy += w * dx * (event.t - meanReceive);
    }
    let slope = sxx > 0 ? sxy / sxx : 1;
    if (points.length >= MIN_FIT_POINTS && sxx > 0) {
      let rss = 0;
      for (const event of points) {
        const r = event.t - meanReceive - slope * (event.client_time_ms! - meanClient);
        rss += weight(event) * r * r;
      }
      const slopeStdErr = Math.sqrt(rss / (points.length - 2) / sxx);
      if (!(slopeStdErr <= MAX_RATE_STD_ERR)) slope = 1;
    } else slope = 1;
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
          // The send came before the receive: a clock fitted in hindsight may place it later when the one-way delay
          // swings by seconds, so it is held to the receive, and the believed duration is run on the clock's rate.
          const sentAtMs = Math.min(clock(event.client_time_ms), event.t);
          safeUntilMs = Math.max(safeUntilMs, sentAtMs + clock(believedUntil) - clock(event.client_time_ms));
        }
      }
      const nextMs = events[index + 1]?.t ?? Number.POSITIVE_INFINITY;
      exposureMs += Math.max(0, Math.min(safeUntilMs, nextMs) - Math.max(promisedUntilMs, event.t));
    }
  }
  return exposureMs;
}
