// What the leader promised each client session: its open, and what its SDK received (connect's onGuarantee and the
// locks' Pre-emption Requests, in stream order), turned into the lock-history checker's 'promise' and
// 'revocation-requested' events on the server clock (the containers share the host's clock).

import type { ServerEvent } from '../../../src/sim/lock-history-checker.js';

/** A keepalive answer as the SDK's onGuarantee reports it. */
export interface GuaranteeSeen {
  readonly serverReceiveMs: number;
  readonly guaranteeMs: number;
  readonly serverTimeMs: number;
}

/** What bears on a session's promise: its open, then frames of its stream in the order the client received them. */
export type PromiseFrame =
  | { readonly kind: 'open'; readonly connectStartedAtMs: number; readonly ttlMs: number }
  | ({ readonly kind: 'guarantee' } & GuaranteeSeen)
  | { readonly kind: 'preemption'; readonly lock: string; readonly token: bigint };

/** The checker events that a session's promise frames stand for. */
export type PromiseEvent = Extract<ServerEvent, { kind: 'promise' | 'revocation-requested' }>;

/** The frames one session received, in order; `session` is set once connect() has returned. */
export class SessionPromises {
  readonly frames: PromiseFrame[] = [];

  constructor(public session = '') {}

  /** connect() with `ttlMs` was called at `connectStartedAtMs` (host clock) and opened this session. */
  opened(connectStartedAtMs: number, ttlMs: number): void {
    this.frames.push({ kind: 'open', connectStartedAtMs, ttlMs });
  }

  /** For connect's `onGuarantee`. */
  readonly guarantee = (answer: GuaranteeSeen): void => {
    this.frames.push({
      kind: 'guarantee',
      serverReceiveMs: answer.serverReceiveMs,
      guaranteeMs: answer.guaranteeMs,
      serverTimeMs: answer.serverTimeMs,
    });
  };

  /** For a lock's `onPreemptionRequest` (called synchronously in stream order with `guarantee`). */
  preempted(lock: string, token: bigint): void {
    this.frames.push({ kind: 'preemption', lock, token });
  }

  /**
   * The checker's events, in stream order. The open promised one TTL from the leader's receipt of it, a time the
   * wire does not carry: it is taken at its lower bound, one TTL from when connect() was called (the only promise
   * not taken exactly; the SDK's first keepalive, sent as the session opens, gets an exact one, which supersedes it
   * unless the leader guarantees less than the TTL). A keepalive answer promises `serverReceiveMs + guaranteeMs`
   * and is placed at its send time. A Pre-emption Request freezes the lock at the promise the leader had made when sending it,
   * which is the latest promise received before it (the leader sends answers and requests in the order it makes
   * them): it is placed at that answer's send time, no later than the request, and stream order keeps it after that
   * answer and before the next among events of the same millisecond. With no answer before it, it is placed at the
   * grant (`grantedAtMs(lock, token)`): only the open's promise, made before the grant, precedes it.
   */
  events(grantedAtMs: (lock: string, token: bigint) => number | undefined): PromiseEvent[] {
    const events: PromiseEvent[] = [];
    let lastSentMs: number | undefined;
    for (const frame of this.frames) {
      if (frame.kind === 'open') {
        events.push({
          kind: 'promise',
          session: this.session,
          untilMs: frame.connectStartedAtMs + frame.ttlMs,
          atMs: frame.connectStartedAtMs,
        });
        continue;
      }
      if (frame.kind === 'guarantee') {
        lastSentMs = Math.max(lastSentMs ?? Number.NEGATIVE_INFINITY, frame.serverTimeMs);
        events.push({
          kind: 'promise',
          session: this.session,
          untilMs: frame.serverReceiveMs + frame.guaranteeMs,
          atMs: frame.serverTimeMs,
        });
        continue;
      }
      const atMs = lastSentMs ?? grantedAtMs(frame.lock, frame.token);
      if (atMs === undefined) {
        throw new Error(
          `${this.session} got a Pre-emption Request for "${frame.lock}" token ${frame.token} before any keepalive answer, and its grant is not recorded`,
        );
      }
      events.push({ kind: 'revocation-requested', session: this.session, lock: frame.lock, token: frame.token, atMs });
    }
    return events;
  }
}
