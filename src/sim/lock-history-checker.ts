// A pure checker of lock histories, porcupine-style: a model `step(state, event)` over client-observed and server
// events, reporting every safety violation (overlapping exclusive holds, non-increasing tokens, barging, revocations
// before a promise, lost acknowledged grants) with the event that exposed it.
import type { LockMode } from '../lock/commands.js';

/** Events a client observed. `opId` ties an outcome to its invocation; a retried request keeps its opId. */
export type ClientEvent =
  | {
      readonly kind: 'invoke';
      readonly opId: string;
      readonly session: string;
      readonly op: 'acquire';
      readonly lock: string;
      readonly mode: LockMode;
      readonly atMs: number;
    }
  | {
      readonly kind: 'invoke';
      readonly opId: string;
      readonly session: string;
      readonly op: 'release';
      readonly lock: string;
      readonly token: bigint;
      readonly atMs: number;
    }
  /** The request succeeded; for an acquire, with the token granted. */
  | { readonly kind: 'ok'; readonly opId: string; readonly atMs: number; readonly token?: bigint }
  /** The request was refused: it changed nothing. */
  | { readonly kind: 'fail'; readonly opId: string; readonly atMs: number; readonly code: string }
  /** The client does not know whether the request took effect (timeout, connection lost). */
  | { readonly kind: 'ambiguous'; readonly opId: string; readonly atMs: number }
  /** The client's safe period for a hold, as its SDK computed it (converted to the history's timeline). */
  | {
      readonly kind: 'client-safe';
      readonly session: string;
      readonly lock: string;
      readonly token: bigint;
      readonly safeUntilMs: number;
      readonly atMs: number;
    };

/** Events of the servers: the committed log's effects in log order, and the leader's promises and requests. */
export type ServerEvent =
  | {
      readonly kind: 'enqueue';
      readonly session: string;
      readonly lock: string;
      readonly mode: LockMode;
      readonly atMs: number;
    }
  /** A waiter left the queue without a grant (cancelled, or its session ended). */
  | { readonly kind: 'dequeue'; readonly session: string; readonly lock: string; readonly atMs: number }
  | {
      readonly kind: 'grant';
      readonly session: string;
      readonly lock: string;
      readonly mode: LockMode;
      readonly token: bigint;
      readonly fenced: boolean;
      readonly atMs: number;
    }
  | {
      readonly kind: 'release';
      readonly session: string;
      readonly lock: string;
      readonly token: bigint;
      readonly atMs: number;
    }
  /** A revocation; `forced` (operator --force) is allowed to ignore promises, as only fencing then protects. */
  | {
      readonly kind: 'revoke';
      readonly session: string;
      readonly lock: string;
      readonly token: bigint;
      readonly forced: boolean;
      readonly atMs: number;
    }
  /** A hold lost because its session expired. */
  | {
      readonly kind: 'expire';
      readonly session: string;
      readonly lock: string;
      readonly token: bigint;
      readonly atMs: number;
    }
  /** The leader sent an answer promising the session until `untilMs` (open or keepalive answer). */
  | { readonly kind: 'promise'; readonly session: string; readonly untilMs: number; readonly atMs: number }
  /** The leader requested the revocation of a hold: answers no longer extend its promise. */
  | {
      readonly kind: 'revocation-requested';
      readonly session: string;
      readonly lock: string;
      readonly token: bigint;
      readonly atMs: number;
    };

/** One event of a lock history. All times are on one timeline (the simulator's true time). */
export type HistoryEvent = ClientEvent | ServerEvent;

/** What went wrong. */
export type ViolationKind =
  | 'EXCLUSIVE_OVERLAP'
  | 'TOKEN_NOT_INCREASING'
  | 'FIFO_VIOLATION'
  | 'EARLY_REVOCATION'
  | 'EARLY_EXPIRY'
  | 'SAFE_PERIOD_OVERRUN'
  | 'UNKNOWN_HOLD'
  | 'LOST_GRANT'
  | 'LOST_RELEASE';

/** A violation, with the index of the event that exposed it. */
export interface Violation {
  readonly kind: ViolationKind;
  readonly index: number;
  readonly atMs: number;
  readonly message: string;
}

interface Hold {
  readonly session: string;
  readonly mode: LockMode;
  readonly token: bigint;
  readonly fenced: boolean;
  readonly grantedAtMs: number;
}

/** The model's state: immutable; `stepLockHistory` returns a new one. */
export interface LockHistoryState {
  readonly holders: ReadonlyMap<string, readonly Hold[]>;
  readonly lastTokenByLock: ReadonlyMap<string, bigint>;
  readonly queues: ReadonlyMap<string, readonly string[]>;
  /** Latest promise per session. */
  readonly promisedUntil: ReadonlyMap<string, number>;
  /** Per hold with a revocation requested: the session's promise at the first request. */
  readonly frozenPromises: ReadonlyMap<string, number>;
  /** Per hold: the latest end of the client's safe period. */
  readonly clientSafeUntil: ReadonlyMap<string, number>;
  /** Holds ended by a forced revocation or a fenced lock's revocation: their clients may not know yet. */
  readonly endedWithoutPromise: ReadonlySet<string>;
}

/** The state before any event. */
export const initialLockHistoryState: LockHistoryState = {
  holders: new Map(),
  lastTokenByLock: new Map(),
  queues: new Map(),
  promisedUntil: new Map(),
  frozenPromises: new Map(),
  clientSafeUntil: new Map(),
  endedWithoutPromise: new Set(),
};

const holdKey = (lock: string, session: string, token: bigint) => `${lock}\u0000${session}\u0000${token}`;

function withEntry<K, V>(map: ReadonlyMap<K, V>, key: K, value: V | undefined): ReadonlyMap<K, V> {
  const copy = new Map(map);
  if (value === undefined) copy.delete(key);
  else copy.set(key, value);
  return copy;
}

/**
 * The promise that `event`, in `state`, must not come before (0 when none was recorded): an expiry, the session's
 * latest promise; a revocation of an ordinary lock (not forced), the promise frozen by the hold's first revocation
 * request, else the session's latest.
 */
export function promiseHeldTo(
  state: LockHistoryState,
  event: Extract<HistoryEvent, { kind: 'revoke' | 'expire' }>,
): number {
  const latest = state.promisedUntil.get(event.session) ?? 0;
  if (event.kind === 'expire') return latest;
  return state.frozenPromises.get(holdKey(event.lock, event.session, event.token)) ?? latest;
}

/** The model's step: the state after `event` (the `index`-th of the history) and the violations it exposes. */
export function stepLockHistory(
  state: LockHistoryState,
  event: HistoryEvent,
  index: number,
): { readonly state: LockHistoryState; readonly violations: readonly Violation[] } {
  const violations: Violation[] = [];
  const report = (kind: ViolationKind, message: string) => violations.push({ kind, index, atMs: event.atMs, message });

  switch (event.kind) {
    case 'enqueue': {
      const queue = state.queues.get(event.lock) ?? [];
      return {
        state: { ...state, queues: withEntry(state.queues, event.lock, [...queue, event.session]) },
        violations,
      };
    }
    case 'dequeue': {
      const queue = (state.queues.get(event.lock) ?? []).filter((s) => s !== event.session);
      return {
        state: { ...state, queues: withEntry(state.queues, event.lock, queue.length ? queue : undefined) },
        violations,
      };
    }
    case 'grant': {
      const holders = state.holders.get(event.lock) ?? [];
      const conflicting = holders.filter((h) => event.mode === 'exclusive' || h.mode === 'exclusive');
      if (conflicting.length > 0) {
        report(
          'EXCLUSIVE_OVERLAP',
          `"${event.lock}" granted ${event.mode} to ${event.session} (token ${event.token}) while held by ${conflicting
            .map((h) => `${h.session} ${h.mode} (token ${h.token})`)
            .join(', ')}`,
        );
      }
      const lastToken = state.lastTokenByLock.get(event.lock);
      if (lastToken !== undefined && event.token <= lastToken) {
        report(
          'TOKEN_NOT_INCREASING',
          `"${event.lock}" granted token ${event.token} to ${event.session} after token ${lastToken}`,
        );
      }
      const queue = state.queues.get(event.lock) ?? [];
      const position = queue.indexOf(event.session);
      const ahead = position < 0 ? queue : queue.slice(0, position);
      if (ahead.length > 0) {
        report(
          'FIFO_VIOLATION',
          `"${event.lock}" granted to ${event.session} ${position < 0 ? 'without queueing' : `at queue position ${position}`} while ${ahead.join(', ')} waited ahead`,
        );
      }
      const hold: Hold = {
        session: event.session,
        mode: event.mode,
        token: event.token,
        fenced: event.fenced,
        grantedAtMs: event.atMs,
      };
      const rest = queue.filter((s) => s !== event.session);
      return {
        state: {
          ...state,
          holders: withEntry(state.holders, event.lock, [...holders, hold]),
          lastTokenByLock: withEntry(
            state.lastTokenByLock,
            event.lock,
            lastToken !== undefined && lastToken > event.token ? lastToken : event.token,
          ),
          queues: withEntry(state.queues, event.lock, rest.length ? rest : undefined),
        },
        violations,
      };
    }
    case 'release':
    case 'revoke':
    case 'expire': {
      const holders = state.holders.get(event.lock) ?? [];
      const hold = holders.find((h) => h.session === event.session && h.token === event.token);
      const key = holdKey(event.lock, event.session, event.token);
      if (!hold) {
        report(
          'UNKNOWN_HOLD',
          `${event.kind} of "${event.lock}" token ${event.token} by ${event.session}, which does not hold it`,
        );
        return { state, violations };
      }
      const takenAway = event.kind === 'expire' || (event.kind === 'revoke' && !event.forced);
      if (event.kind === 'revoke' && !event.forced && !hold.fenced) {
        const promise = promiseHeldTo(state, event);
        if (event.atMs < promise) {
          report(
            'EARLY_REVOCATION',
            `ordinary lock "${event.lock}" (token ${event.token}) revoked from ${event.session} at ${event.atMs}, before its promise ${promise}`,
          );
        }
      }
      if (event.kind === 'expire') {
        const promise = promiseHeldTo(state, event);
        if (event.atMs < promise) {
          report(
            'EARLY_EXPIRY',
            `session ${event.session} expired at ${event.atMs} (losing "${event.lock}" token ${event.token}) before its promise ${promise}`,
          );
        }
      }
      // A forced revocation, or a fenced hold's at its deadline, may find its client still unaware: tokens protect it.
      const withoutPromise = event.kind === 'revoke' && (event.forced || hold.fenced);
      const safeUntil = withoutPromise ? undefined : state.clientSafeUntil.get(key);
      if (takenAway && safeUntil !== undefined && event.atMs < safeUntil) {
        report(
          'SAFE_PERIOD_OVERRUN',
          `"${event.lock}" (token ${event.token}) taken from ${event.session} by ${event.kind} at ${event.atMs} while its client believed it safe until ${safeUntil}`,
        );
      }
      const remaining = holders.filter((h) => h !== hold);
      return {
        state: {
          ...state,
          holders: withEntry(state.holders, event.lock, remaining.length ? remaining : undefined),
          frozenPromises: withEntry(state.frozenPromises, key, undefined),
          clientSafeUntil: withEntry(state.clientSafeUntil, key, undefined),
          endedWithoutPromise: withoutPromise
            ? new Set([...state.endedWithoutPromise, key])
            : state.endedWithoutPromise,
        },
        violations,
      };
    }
    case 'promise': {
      const current = state.promisedUntil.get(event.session) ?? 0;
      if (event.untilMs <= current) return { state, violations };
      return {
        state: { ...state, promisedUntil: withEntry(state.promisedUntil, event.session, event.untilMs) },
        violations,
      };
    }
    case 'revocation-requested': {
      const key = holdKey(event.lock, event.session, event.token);
      if (state.frozenPromises.has(key)) return { state, violations };
      const promise = state.promisedUntil.get(event.session) ?? 0;
      return { state: { ...state, frozenPromises: withEntry(state.frozenPromises, key, promise) }, violations };
    }
    case 'client-safe': {
      const key = holdKey(event.lock, event.session, event.token);
      const holds = (state.holders.get(event.lock) ?? []).some(
        (h) => h.session === event.session && h.token === event.token,
      );
      // A belief about a hold the log has already ended is itself an overrun, unless it ended without a promise.
      if (!holds) {
        if (event.atMs < event.safeUntilMs && !state.endedWithoutPromise.has(key)) {
          report(
            'SAFE_PERIOD_OVERRUN',
            `${event.session} believed "${event.lock}" (token ${event.token}) safe until ${event.safeUntilMs} at ${event.atMs}, but does not hold it`,
          );
        }
        return { state, violations };
      }
      const current = state.clientSafeUntil.get(key) ?? Number.NEGATIVE_INFINITY;
      return {
        state: {
          ...state,
          clientSafeUntil: withEntry(state.clientSafeUntil, key, Math.max(current, event.safeUntilMs)),
        },
        violations,
      };
    }
    case 'invoke':
    case 'ok':
    case 'fail':
    case 'ambiguous':
      // Client outcomes are checked against the whole log by `acknowledgedEffectViolations`.
      return { state, violations };
  }
}

/**
 * Every request a client saw succeed must have its effect in the final log: an acquire acknowledged with a token
 * has a grant of that token to that session, an acknowledged release has its release (they survive any fault).
 */
export function acknowledgedEffectViolations(events: readonly HistoryEvent[]): Violation[] {
  const grants = new Set<string>();
  const releases = new Set<string>();
  const invocations = new Map<string, Extract<HistoryEvent, { kind: 'invoke' }>>();
  for (const event of events) {
    if (event.kind === 'grant') grants.add(holdKey(event.lock, event.session, event.token));
    else if (event.kind === 'release') releases.add(holdKey(event.lock, event.session, event.token));
    else if (event.kind === 'invoke') invocations.set(event.opId, event);
  }
  const violations: Violation[] = [];
  events.forEach((event, index) => {
    if (event.kind !== 'ok') return;
    const invoked = invocations.get(event.opId);
    if (!invoked) return;
    if (invoked.op === 'acquire') {
      if (event.token === undefined || !grants.has(holdKey(invoked.lock, invoked.session, event.token))) {
        violations.push({
          kind: 'LOST_GRANT',
          index,
          atMs: event.atMs,
          message: `${invoked.session} was told it holds "${invoked.lock}" with token ${String(event.token)} (op ${event.opId}), but the log has no such grant`,
        });
      }
    } else if (!releases.has(holdKey(invoked.lock, invoked.session, invoked.token))) {
      violations.push({
        kind: 'LOST_RELEASE',
        index,
        atMs: event.atMs,
        message: `${invoked.session} was told it released "${invoked.lock}" token ${invoked.token} (op ${event.opId}), but the log has no such release`,
      });
    }
  });
  return violations;
}

/** Checks a whole history: the model over every event, then the acknowledged effects against the log. */
export function checkLockHistory(events: readonly HistoryEvent[]): Violation[] {
  let state = initialLockHistoryState;
  const violations: Violation[] = [];
  events.forEach((event, index) => {
    const step = stepLockHistory(state, event, index);
    state = step.state;
    violations.push(...step.violations);
  });
  violations.push(...acknowledgedEffectViolations(events));
  return violations.sort((a, b) => a.index - b.index);
}
