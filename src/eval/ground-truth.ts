// Ground truth of a trace (docs/design.md, "Ground truth and episodes"): its holds, their lease lapses and its episodes.
import { keepaliveIntervalMs } from './detector.js';
import type { Trace } from './trace.js';

/** One grant of one lock to one session, until release (or the session's end). */
export interface Hold {
  readonly id: number;
  readonly session: string;
  readonly resource: string;
  readonly grantMs: number;
  /** Release, session close, or the trace's end. */
  readonly endMs: number;
  /** The trace's lease backstop: the first moment during the hold when last keepalive + TTL passed unrenewed. */
  readonly lapseMs: number | null;
  /** The `stale_at` of its session's stale episode if the hold is held then, else null (the hold never goes stale). */
  staleAtMs: number | null;
}

/** One session's fault (one truth line). */
export interface Episode {
  readonly session: string;
  readonly fault: string;
  readonly startMs: number;
  readonly staleAtMs: number | null;
  readonly untilMs: number | null;
  /** The hold the episode is judged on (the earliest granted one held at `stale_at`, or during a transient fault),
   * null when the session held nothing then: the episode does not count. */
  readonly holdId: number | null;
  /** A stale episode a predictor could see coming (docs/design.md, `warned_ahead_frac`). */
  readonly predictable: boolean;
  /** The session's nominal keepalive interval: a warning counts as ahead when it comes at least this early. */
  readonly keepaliveMs: number;
}

/** Holds and episodes of one trace. */
export interface GroundTruth {
  readonly holds: readonly Hold[];
  readonly episodes: readonly Episode[];
  readonly endMs: number;
  /** Sum of hold durations. */
  readonly holdMs: number;
  /** Sessions with at least one truth line (any fault, transient or stale). */
  readonly faultySessions: ReadonlySet<string>;
  /** Sum of hold durations of the sessions without any truth line. */
  readonly healthyHoldMs: number;
  /** Finds the hold of `resource` by `session` that is held at `atMs` (grant <= atMs <= end), if any. */
  holdAt(session: string, resource: string, atMs: number): Hold | undefined;
}

const ALWAYS_PREDICTABLE = new Set(['latency-ramp', 'clock-drift', 'drift-beyond-bound', 'stuck-holder']);
const PREDICTABLE_WHEN_LAPSING = new Set(['gc-pause', 'partition']);

/** Whether a stale episode of `fault` is one a predictor could warn of ahead. */
export function isPredictable(fault: string, staleAtMs: number | null): boolean {
  if (staleAtMs === null) return false;
  return ALWAYS_PREDICTABLE.has(fault) || PREDICTABLE_WHEN_LAPSING.has(fault);
}

interface OpenSession {
  readonly ttlMs: number;
  readonly arrivalsMs: number[];
  readonly lapsesMs: number[];
}

/** Derives holds, lease lapses and episodes from a trace. */
export function buildGroundTruth(trace: Trace): GroundTruth {
  const events = trace.events;
  const endMs = events.length === 0 ? 0 : events[events.length - 1]!.t;
  const sessions = new Map<string, OpenSession>();
  const ttlBySession = new Map<string, number>();
  const lapsesBySession = new Map<string, number[]>();
  const open = new Map<string, { session: string; resource: string; grantMs: number }>();
  const raw: { session: string; resource: string; grantMs: number; endMs: number }[] = [];
  const closeSession = (session: string, atMs: number): void => {
    const state = sessions.get(session);
    if (state === undefined) return;
    const lastMs = state.arrivalsMs[state.arrivalsMs.length - 1]!;
    if (atMs >= lastMs + state.ttlMs) state.lapsesMs.push(lastMs + state.ttlMs);
    const lapses = lapsesBySession.get(session) ?? [];
    lapses.push(...state.lapsesMs);
    lapsesBySession.set(session, lapses);
    sessions.delete(session);
    for (const [key, hold] of open) {
      if (hold.session !== session) continue;
      raw.push({ ...hold, endMs: atMs });
      open.delete(key);
    }
  };
  const truths = [];
  for (const event of events) {
    switch (event.type) {
      case 'session':
        sessions.set(event.session, { ttlMs: event.ttl_ms, arrivalsMs: [event.t], lapsesMs: [] });
        ttlBySession.set(event.session, event.ttl_ms);
        break;
      case 'keepalive': {
        const state = sessions.get(event.session)!;
        const lastMs = state.arrivalsMs[state.arrivalsMs.length - 1]!;
        if (event.t > lastMs + state.ttlMs) state.lapsesMs.push(lastMs + state.ttlMs);
        state.arrivalsMs.push(event.t);
        break;
      }
      case 'grant':
        open.set(`${event.session}\u0000${event.resource}`, {
          session: event.session,
          resource: event.resource,
          grantMs: event.t,
        });
        break;
      case 'release': {
        const key = `${event.session}\u0000${event.resource}`;
        const hold = open.get(key);
        if (hold !== undefined) {
          raw.push({ ...hold, endMs: event.t });
          open.delete(key);
        }
        break;
      }
      case 'close':
        closeSession(event.session, event.t);
        break;
      case 'truth':
        truths.push(event);
        break;
      default:
        break;
    }
  }
  for (const session of [...sessions.keys()]) closeSession(session, endMs);
  raw.sort((a, b) => a.grantMs - b.grantMs || a.endMs - b.endMs);

  const holds: Hold[] = raw.map((hold, id) => ({
    id,
    ...hold,
    lapseMs: (lapsesBySession.get(hold.session) ?? []).find((at) => at >= hold.grantMs && at <= hold.endMs) ?? null,
    staleAtMs: null,
  }));
  const holdsByKey = new Map<string, Hold[]>();
  const holdsBySession = new Map<string, Hold[]>();
  for (const hold of holds) {
    const key = `${hold.session}\u0000${hold.resource}`;
    const sameKey = holdsByKey.get(key) ?? [];
    sameKey.push(hold);
    holdsByKey.set(key, sameKey);
    const sameSession = holdsBySession.get(hold.session) ?? [];
    sameSession.push(hold);
    holdsBySession.set(hold.session, sameSession);
  }

  const episodes: Episode[] = truths.map((truth) => {
    const own = holdsBySession.get(truth.session) ?? [];
    const staleAtMs = truth.stale_at;
    const untilMs = truth.until ?? null;
    let judged: Hold | undefined;
    if (staleAtMs !== null) {
      for (const hold of own) {
        if (hold.grantMs > staleAtMs || hold.endMs < staleAtMs) continue;
        hold.staleAtMs = hold.staleAtMs === null ? staleAtMs : Math.min(hold.staleAtMs, staleAtMs);
        judged ??= hold;
      }
    } else {
      const faultEndMs = untilMs ?? endMs;
      judged = own.find((hold) => hold.grantMs <= faultEndMs && hold.endMs >= truth.t);
    }
    return {
      session: truth.session,
      fault: truth.fault,
      startMs: truth.t,
      staleAtMs,
      untilMs,
      holdId: judged?.id ?? null,
      predictable: isPredictable(truth.fault, staleAtMs),
      keepaliveMs: keepaliveIntervalMs(trace.header, ttlBySession.get(truth.session)!),
    };
  });

  const faultySessions = new Set(truths.map((truth) => truth.session));
  return {
    holds,
    episodes,
    endMs,
    holdMs: holds.reduce((sum, hold) => sum + (hold.endMs - hold.grantMs), 0),
    faultySessions,
    healthyHoldMs: holds.reduce(
      (sum, hold) => (faultySessions.has(hold.session) ? sum : sum + (hold.endMs - hold.grantMs)),
      0,
    ),
    holdAt(session, resource, atMs) {
      const candidates = holdsByKey.get(`${session}\u0000${resource}`);
      if (candidates === undefined) return undefined;
      for (let index = candidates.length - 1; index >= 0; index--) {
        const hold = candidates[index]!;
        if (hold.grantMs <= atMs) return atMs <= hold.endMs ? hold : undefined;
      }
      return undefined;
    },
  };
}
