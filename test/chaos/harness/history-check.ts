// Runs the lock-history checker (src/sim/lock-history-checker.ts) over a chaos scenario: the clients' recorded
// operations and safe periods, and the promises and Pre-emption Requests their sessions received from the leader,
// merged on one timeline with the server events replayed from the committed log.

import {
  type ClientEvent,
  checkLockHistory,
  type HistoryEvent,
  initialLockHistoryState,
  promiseHeldTo,
  type ServerEvent,
  stepLockHistory,
  type Violation,
} from '../../../src/sim/lock-history-checker.js';
import type { ClientHistory } from './history.js';
import type { PromiseEvent } from './session-promises.js';

/** Codes after which the client cannot know whether its request took effect. */
const AMBIGUOUS_CODES = new Set(['UNAVAILABLE', 'TIMEOUT', 'CLIENT_CLOSED']);

/** The client side of the history as the checker's events. */
export function clientEventsOf(history: ClientHistory): ClientEvent[] {
  const events: ClientEvent[] = [];
  history.records.forEach((record, index) => {
    const opId = `acquire-${index}`;
    events.push({
      kind: 'invoke',
      opId,
      session: record.session,
      op: 'acquire',
      lock: record.lock,
      mode: 'exclusive',
      atMs: record.invokedAtMs,
    });
    const outcome = record.outcome;
    if (outcome.kind === 'granted') events.push({ kind: 'ok', opId, atMs: outcome.ackAtMs, token: outcome.token });
    else if (outcome.kind === 'failed') events.push({ kind: 'fail', opId, atMs: outcome.atMs, code: outcome.code });
    else if (outcome.kind === 'ambiguous') events.push({ kind: 'ambiguous', opId, atMs: outcome.atMs });
    if (outcome.kind !== 'granted') return;
    if (record.lastSafeUntilMs !== undefined && record.lastSafeSampleAtMs !== undefined) {
      events.push({
        kind: 'client-safe',
        session: record.session,
        lock: record.lock,
        token: outcome.token,
        safeUntilMs: record.lastSafeUntilMs,
        atMs: record.lastSafeSampleAtMs,
      });
    }
    if (record.releaseInvokedAtMs === undefined) return;
    const releaseId = `release-${index}`;
    events.push({
      kind: 'invoke',
      opId: releaseId,
      session: record.session,
      op: 'release',
      lock: record.lock,
      token: outcome.token,
      atMs: record.releaseInvokedAtMs,
    });
    const release = record.release;
    if (release === undefined) return;
    if (release.ok) events.push({ kind: 'ok', opId: releaseId, atMs: release.atMs });
    else if (AMBIGUOUS_CODES.has(release.code ?? ''))
      events.push({ kind: 'ambiguous', opId: releaseId, atMs: release.atMs });
    else events.push({ kind: 'fail', opId: releaseId, atMs: release.atMs, code: release.code ?? 'UNKNOWN' });
  });
  return events;
}

/** Every session's promises and revocation requests, each session's in the order it received them. */
export function promiseEventsOf(history: ClientHistory): PromiseEvent[] {
  const grantedAtMs = (session: string) => (lock: string, token: bigint) =>
    history
      .granted()
      .find((record) => record.session === session && record.lock === lock && record.outcome.token === token)?.outcome
      .grantedAtMs;
  return history.sessions.flatMap((promises) => promises.events(grantedAtMs(promises.session)));
}

/**
 * Where an event goes among events of the same millisecond: what a grant starts first, then what clients saw,
 * then what ends a hold (a client's view of a hold always lies between its grant and its end).
 */
function rankOf(event: HistoryEvent): number {
  if (event.kind === 'release' || event.kind === 'revoke' || event.kind === 'expire') return 2;
  if (event.kind === 'grant' || event.kind === 'enqueue' || event.kind === 'dequeue') return 0;
  return 1;
}

/**
 * Server events (kept in log order) merged by time with timed events: what clients saw and what the leader told
 * them (sorted by time; the sort is stable, so events of one millisecond keep the order they were recorded in).
 */
export function mergeHistory(server: readonly ServerEvent[], timed: readonly HistoryEvent[]): HistoryEvent[] {
  const sortedClient = [...timed].sort((a, b) => a.atMs - b.atMs);
  const merged: HistoryEvent[] = [];
  let s = 0;
  let c = 0;
  while (s < server.length || c < sortedClient.length) {
    const next = server[s];
    const other = sortedClient[c];
    const takeServer =
      other === undefined ||
      (next !== undefined && (next.atMs < other.atMs || (next.atMs === other.atMs && rankOf(next) <= rankOf(other))));
    merged.push(takeServer ? next! : other);
    if (takeServer) s++;
    else c++;
  }
  return merged;
}

/** The scenario's whole history on one timeline: the log's events, the clients' and their sessions' promises. */
export function mergedHistoryOf(server: readonly ServerEvent[], history: ClientHistory): HistoryEvent[] {
  return mergeHistory(server, [...clientEventsOf(history), ...promiseEventsOf(history)]);
}

/** Every violation the checker finds in the scenario's merged history. */
export function historyViolations(server: readonly ServerEvent[], history: ClientHistory): Violation[] {
  return checkLockHistory(mergedHistoryOf(server, history));
}

/** A revocation (not forced) or expiry of an ordinary hold, and the promise the checker held it to. */
export interface PromiseCheck {
  readonly kind: 'revoke' | 'expire';
  readonly session: string;
  readonly lock: string;
  readonly token: bigint;
  readonly atMs: number;
  /** 0 when no promise to the session was recorded (the check could not bite). */
  readonly promiseMs: number;
}

/** Every promise check the checker makes over `events` (a merged history), with the promise it used. */
export function promiseChecksOf(events: readonly HistoryEvent[]): PromiseCheck[] {
  let state = initialLockHistoryState;
  const checks: PromiseCheck[] = [];
  events.forEach((event, index) => {
    if (event.kind === 'expire' || (event.kind === 'revoke' && !event.forced)) {
      const hold = state.holders.get(event.lock)?.find((h) => h.session === event.session && h.token === event.token);
      if (hold !== undefined && !(event.kind === 'revoke' && hold.fenced)) {
        const { kind, session, lock, token, atMs } = event;
        checks.push({ kind, session, lock, token, atMs, promiseMs: promiseHeldTo(state, event) });
      }
    }
    state = stepLockHistory(state, event, index).state;
  });
  return checks;
}
