// The client-observed history of a chaos scenario: every acquire (invoked, then granted / failed / ambiguous), what
// each holder believed about its lock (its safe period, when it learned of a loss), its releases and its writes to
// the token-checking resource, and what the leader promised each session. Times are epoch ms of the host clock,
// which the containers share.

import { SessionPromises } from './session-promises.js';

/** How an acquire ended as the client saw it. */
export type AcquireOutcome =
  | { readonly kind: 'pending' }
  | { readonly kind: 'granted'; readonly token: bigint; readonly grantedAtMs: number; readonly ackAtMs: number }
  | { readonly kind: 'failed'; readonly code: string; readonly atMs: number }
  /** A retriable failure (timeout, unavailable): the cluster may or may not have granted it. */
  | { readonly kind: 'ambiguous'; readonly code: string; readonly atMs: number };

/** A write the holder attempted on the token-checking resource. */
export interface ResourceWrite {
  readonly token: bigint;
  /** When the resource's answer came back (so the write reached it no later). */
  readonly atMs: number;
  /** The holder's safe deadline when it decided to write (it writes only while this is in the future). */
  readonly safeUntilMs: number;
  readonly accepted: boolean;
}

/** One exclusive, ordinary (not fenced) acquire and, if granted, the life of that grant as its client saw it. */
export interface AcquireRecord {
  readonly client: string;
  /** The session id the client had when it invoked the acquire. */
  readonly session: string;
  readonly lock: string;
  readonly invokedAtMs: number;
  outcome: AcquireOutcome;
  /** Latest `lock.safeUntil` sampled while the lock was held (it reads -Infinity once lost). */
  lastSafeUntilMs?: number;
  /** When that sample was taken. */
  lastSafeSampleAtMs?: number;
  /** When `lock.signal` aborted for a reason other than this client's own release, and that reason's code. */
  lost?: { readonly atMs: number; readonly cause: string };
  releaseInvokedAtMs?: number;
  release?: { readonly atMs: number; readonly ok: boolean; readonly code?: string };
  readonly writes: ResourceWrite[];
}

/** A granted record with its token, for checks. */
export type GrantedRecord = AcquireRecord & { outcome: Extract<AcquireOutcome, { kind: 'granted' }> };

/** Records the history of every client of a scenario. */
export class ClientHistory {
  readonly records: AcquireRecord[] = [];
  /** What the leader promised each session of the scenario's clients. */
  readonly sessions: SessionPromises[] = [];

  /** A new session's promise recorder (its id set once known). */
  recordPromises(session = ''): SessionPromises {
    const promises = new SessionPromises(session);
    this.sessions.push(promises);
    return promises;
  }

  /** Records the invocation of an acquire (now, unless told when) and returns its record for the outcome. */
  invokeAcquire(client: string, session: string, lock: string, invokedAtMs = Date.now()): AcquireRecord {
    const record: AcquireRecord = {
      client,
      session,
      lock,
      invokedAtMs,
      outcome: { kind: 'pending' },
      writes: [],
    };
    this.records.push(record);
    return record;
  }

  /** Every acknowledged grant. */
  granted(): GrantedRecord[] {
    return this.records.filter((record): record is GrantedRecord => record.outcome.kind === 'granted');
  }

  /** The end of what `record`'s client was entitled to believe: release invoked, loss learned, or its safe deadline. */
  static believedEndMs(record: GrantedRecord, nowMs: number): number {
    return Math.min(
      record.releaseInvokedAtMs ?? Number.POSITIVE_INFINITY,
      record.lost?.atMs ?? Number.POSITIVE_INFINITY,
      record.lastSafeUntilMs ?? Number.POSITIVE_INFINITY,
      nowMs,
    );
  }
}
