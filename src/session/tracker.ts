// Leader-local session deadlines (docs/design.md, principles 2 and 4): each session's promisedUntil, the expiries it
// implies, and per-lock revocation deadlines. Pure: every time is an argument; keepalives never enter the log.
import { ForelockError } from '../util/errors.js';
import { MinHeap } from '../util/min-heap.js';

/** A revocation whose time has come: the leader proposes a 'revoke' entry for it. */
export interface DueRevocation {
  readonly lockName: string;
  readonly sessionId: string;
  readonly token: bigint;
  readonly fenced: boolean;
  readonly revokeAtMs: number;
}

/** A pending revocation of one session's hold of one lock. */
export interface PendingRevocation extends DueRevocation {
  /** The deadline sent to the client (the earliest, when requested more than once). */
  readonly deadlineMs: number;
  /** The session's promise when the first request was made: later answers no longer extend this lock. */
  readonly lockPromisedUntilMs: number;
}

/** Raised when a revocation names a session the tracker does not know (the caller lost track of a session). */
export class UntrackedSessionError extends ForelockError {
  constructor(sessionId: string) {
    super(`session ${sessionId} is not tracked by this leader`, 'SESSION_NOT_TRACKED', false);
  }
}

/** Settings of a SessionTracker. */
export interface SessionTrackerOptions {
  /**
   * How long after this node's election a deposed leader may still answer keepalives (it has not noticed yet).
   * With CheckQuorum a leader steps down within about one election timeout of losing its quorum, and a new one is
   * elected no sooner than one election timeout after the quorum last heard from the old one, so twice the maximum
   * election timeout is a safe bound (default 0: only right when leaders answer keepalives inside a leader lease).
   */
  readonly deposedLeaderOverhangMs?: number;
}

interface TrackedSession {
  readonly ttlMs: number;
  promisedUntilMs: number;
  /** When it began to be tracked: expiries are reported in this order. */
  readonly order: number;
}

/**
 * What the leader has promised each session. `promisedUntil` is the latest `answer time + guarantee` over every
 * answer sent; the session expires when it passes without a renewal, and no ordinary lock is revoked before the
 * promise it had when its revocation was requested.
 */
export class SessionTracker {
  private readonly sessions = new Map<string, TrackedSession>();
  /**
   * Every promise made, keyed by its end: an entry is current while its session's promise is still that time (a
   * renewal pushes a new one, and the old one is dropped when it comes up). Expiry then costs O(log n) per renewal
   * instead of a scan of every session.
   */
  private readonly deadlines = new MinHeap<string>();
  /** Sessions whose promise has passed and that the log has not ended yet. */
  private readonly overdue = new Set<string>();
  private tracked = 0;
  /** lock name -> session id -> pending revocation. */
  private readonly revocations = new Map<string, Map<string, PendingRevocation>>();
  private readonly deposedLeaderOverhangMs: number;

  constructor(options: SessionTrackerOptions = {}) {
    this.deposedLeaderOverhangMs = options.deposedLeaderOverhangMs ?? 0;
  }

  /** A session was opened by this leader: the open answer promises one TTL from `nowMs`. */
  opened(sessionId: string, ttlMs: number, nowMs: number): void {
    const order = this.sessions.get(sessionId)?.order ?? this.tracked++;
    this.sessions.set(sessionId, { ttlMs, promisedUntilMs: nowMs + ttlMs, order });
    this.overdue.delete(sessionId);
    this.deadlines.push(nowMs + ttlMs, sessionId);
  }

  /**
   * Records an answer to a keepalive received at `sentAtMs` (server time) whose lease runs `leaseMs` from then (the
   * guarantee it carries, stretched for a client clock measured slow), and returns the new promisedUntil. Returns null,
   * extending nothing, when the session is unknown or its promise had already passed: that session has expired and
   * must be told so, not renewed.
   */
  keepaliveAnswered(sessionId: string, sentAtMs: number, leaseMs: number): number | null {
    const session = this.sessions.get(sessionId);
    if (!session || sentAtMs >= session.promisedUntilMs) return null;
    if (sentAtMs + leaseMs > session.promisedUntilMs) {
      session.promisedUntilMs = sentAtMs + leaseMs;
      this.deadlines.push(session.promisedUntilMs, sessionId);
      this.overdue.delete(sessionId); // a renewal received before the promise passed, handled after it was found due
    }
    return session.promisedUntilMs;
  }

  /** The session's promise, or undefined when it is not tracked. */
  promisedUntil(sessionId: string): number | undefined {
    return this.sessions.get(sessionId)?.promisedUntilMs;
  }

  /**
   * Sessions whose promise has passed by `nowMs` (to be expired together in one entry), in tracking order; a session
   * stays in the answer until the log ends it. O(log n) per promise that has come up, not a scan.
   */
  expiredAt(nowMs: number): string[] {
    for (let atMs = this.deadlines.peekKey(); atMs !== undefined && atMs <= nowMs; atMs = this.deadlines.peekKey()) {
      const sessionId = this.deadlines.pop() as string;
      if (this.sessions.get(sessionId)?.promisedUntilMs === atMs) this.overdue.add(sessionId);
    }
    if (this.overdue.size === 0) return [];
    const order = (sessionId: string) => (this.sessions.get(sessionId) as TrackedSession).order;
    return [...this.overdue].sort((a, b) => order(a) - order(b));
  }

  /** The earliest promise still current (stale heap entries are dropped on the way), or null. */
  private earliestPromiseMs(): number | null {
    for (let atMs = this.deadlines.peekKey(); atMs !== undefined; atMs = this.deadlines.peekKey()) {
      const sessionId = this.deadlines.peek() as string;
      if (this.sessions.get(sessionId)?.promisedUntilMs === atMs) return atMs;
      this.deadlines.pop();
    }
    return null;
  }

  /** The session was closed or expired in the log: forget it and its revocations. */
  ended(sessionId: string): void {
    this.sessions.delete(sessionId);
    this.overdue.delete(sessionId);
    for (const [lockName, bySession] of this.revocations) {
      bySession.delete(sessionId);
      if (bySession.size === 0) this.revocations.delete(lockName);
    }
  }

  /**
   * This node just became leader. It cannot know what its predecessor promised, so every session gets one full TTL
   * from now (docs/design.md, principle 4), plus the time a deposed leader may still be answering, and pending
   * revocations are dropped (the RPH requests them again). A promise this node made itself and that runs longer is
   * kept: it answers keepalives between winning the election and taking office, and a lease stretched for a slow client
   * clock can outrun the TTL (found by the lock simulator, seed 22: a session expired before such a promise).
   */
  becameLeader(nowMs: number, sessions: Iterable<{ readonly sessionId: string; readonly ttlMs: number }>): void {
    const made = new Map([...this.sessions].map(([sessionId, session]) => [sessionId, session.promisedUntilMs]));
    this.sessions.clear();
    this.revocations.clear();
    this.deadlines.clear();
    this.overdue.clear();
    for (const { sessionId, ttlMs } of sessions) {
      this.opened(sessionId, ttlMs, nowMs + this.deposedLeaderOverhangMs);
      const madeUntilMs = made.get(sessionId) ?? Number.NEGATIVE_INFINITY;
      const session = this.sessions.get(sessionId)!;
      if (madeUntilMs > session.promisedUntilMs) {
        session.promisedUntilMs = madeUntilMs;
        this.deadlines.push(madeUntilMs, sessionId);
      }
    }
  }

  /**
   * Requests the revocation of `sessionId`'s hold of `lockName` (token `token`) with the deadline sent to the client,
   * and returns when it will be revoked: at the deadline for a fenced lock; for an ordinary one at the later of the
   * deadline and the promise the session had at the first request. A repeated request can only bring it forward.
   */
  requestRevocation(lockName: string, token: bigint, sessionId: string, deadlineMs: number, fenced: boolean): number {
    const session = this.sessions.get(sessionId);
    if (!session) throw new UntrackedSessionError(sessionId);
    let bySession = this.revocations.get(lockName);
    if (!bySession) {
      bySession = new Map();
      this.revocations.set(lockName, bySession);
    }
    const existing = bySession.get(sessionId);
    const sameGrant = existing !== undefined && existing.token === token;
    const lockPromisedUntilMs = sameGrant ? existing.lockPromisedUntilMs : session.promisedUntilMs;
    const revokeAtMs = fenced ? deadlineMs : Math.max(deadlineMs, lockPromisedUntilMs);
    bySession.set(sessionId, {
      lockName,
      sessionId,
      token,
      fenced,
      deadlineMs: sameGrant ? Math.min(existing.deadlineMs, deadlineMs) : deadlineMs,
      lockPromisedUntilMs,
      revokeAtMs: sameGrant ? Math.min(existing.revokeAtMs, revokeAtMs) : revokeAtMs,
    });
    return bySession.get(sessionId)!.revokeAtMs;
  }

  /** The pending revocation of `sessionId`'s hold of `lockName`, if any. */
  revocation(lockName: string, sessionId: string): PendingRevocation | undefined {
    return this.revocations.get(lockName)?.get(sessionId);
  }

  /** Revocations whose time has come by `nowMs`, earliest first. */
  dueRevocations(nowMs: number): DueRevocation[] {
    const due: DueRevocation[] = [];
    for (const bySession of this.revocations.values()) {
      for (const { lockName, sessionId, token, fenced, revokeAtMs } of bySession.values()) {
        if (revokeAtMs <= nowMs) due.push({ lockName, sessionId, token, fenced, revokeAtMs });
      }
    }
    return due.sort((a, b) => a.revokeAtMs - b.revokeAtMs);
  }

  /** The hold ended in the log (released, revoked or expired): nothing left to revoke. */
  revocationDone(lockName: string, sessionId: string): void {
    const bySession = this.revocations.get(lockName);
    bySession?.delete(sessionId);
    if (bySession?.size === 0) this.revocations.delete(lockName);
  }

  /** The earliest expiry or revocation time, so the driver knows when to look again; null when nothing is pending. */
  nextDeadlineMs(): number | null {
    let earliest: number | null = null;
    const consider = (ms: number) => {
      if (earliest === null || ms < earliest) earliest = ms;
    };
    for (const sessionId of this.overdue) consider((this.sessions.get(sessionId) as TrackedSession).promisedUntilMs);
    const promiseMs = this.earliestPromiseMs();
    if (promiseMs !== null) consider(promiseMs);
    for (const bySession of this.revocations.values()) for (const r of bySession.values()) consider(r.revokeAtMs);
    return earliest;
  }
}
