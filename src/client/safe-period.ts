// The client's bookkeeping for its safe period (docs/design.md, principle 2): keepalive send times by seq, the
// session's latest safe deadline and per-lock pre-emption caps. Every server frame names the last keepalive the server
// had received; durations in it count from that keepalive's SEND time (src/session/safe-period.ts has the formula).
// Pure: times are arguments.
import { defaultSafePeriodAssumptions, grantedUntilMs, type SafePeriodAssumptions } from '../session/safe-period.js';

/** How conservative the client is about its own clock. */
export interface SafePeriodOptions {
  /** Bound on the relative rate difference between client and server clocks. Default 0.01 (1%, as Redlock). */
  readonly maxDrift?: number;
  /** Subtracted from every safe deadline. Default 100 ms. */
  readonly marginMs?: number;
}

/** A lock's revocation cap, set when a Pre-emption Request for it arrived. */
interface RevocationCap {
  readonly token: bigint;
  readonly safeUntilMs: number;
}

/**
 * Tracks keepalive send times by seq for the current stream and turns guarantees and graces into client-clock
 * deadlines: `sendTime(seq) + duration x (1 - maxDrift) - margin`.
 */
export class SafePeriodTracker {
  private readonly assumptions: SafePeriodAssumptions;
  private readonly sentAtBySeq = new Map<number, number>();
  private streamOpenedAtMs = Number.NEGATIVE_INFINITY;
  private sessionSafeUntil = Number.NEGATIVE_INFINITY;
  private readonly caps = new Map<string, RevocationCap>();

  constructor(options: SafePeriodOptions = {}) {
    const maxDrift = options.maxDrift ?? defaultSafePeriodAssumptions.maxDrift;
    const marginMs = options.marginMs ?? defaultSafePeriodAssumptions.marginMs;
    if (!(maxDrift >= 0 && maxDrift < 1)) throw new RangeError(`maxDrift must be in [0, 1), got ${maxDrift}`);
    if (!(marginMs >= 0)) throw new RangeError(`marginMs must be >= 0, got ${marginMs}`);
    this.assumptions = { maxDrift, marginMs };
  }

  /** A new stream's open frame left at `sentAtMs`: frames naming keepalive 0 count from then. Forgets old seqs. */
  streamOpened(sentAtMs: number): void {
    this.sentAtBySeq.clear();
    this.streamOpenedAtMs = sentAtMs;
  }

  /** Keepalive `seq` left at `sentAtMs`. */
  keepaliveSent(seq: number, sentAtMs: number): void {
    this.sentAtBySeq.set(seq, sentAtMs);
  }

  /**
   * The send time of the keepalive a frame names (0: the stream's open frame), or undefined for a seq never sent on
   * this stream. Seqs older than `seq` are forgotten: the server names them in increasing order.
   */
  sentAtOf(seq: number): number | undefined {
    if (seq === 0) return Number.isFinite(this.streamOpenedAtMs) ? this.streamOpenedAtMs : undefined;
    const sentAtMs = this.sentAtBySeq.get(seq);
    if (sentAtMs !== undefined) {
      for (const older of this.sentAtBySeq.keys()) {
        if (older >= seq) break;
        this.sentAtBySeq.delete(older);
      }
    }
    return sentAtMs;
  }

  /** The client-clock deadline of a duration counted from keepalive `seq`'s send time (undefined: unknown seq). */
  deadlineFrom(seq: number, durationMs: number): number | undefined {
    const keepaliveSentAtMs = this.sentAtOf(seq);
    if (keepaliveSentAtMs === undefined) return undefined;
    return grantedUntilMs({ keepaliveSentAtMs, durationMs }, this.assumptions);
  }

  /** A guarantee `g` arrived in a frame naming keepalive `seq`; returns the session's safe deadline after it. */
  guaranteeReceived(seq: number, guaranteeMs: number): number {
    const deadline = this.deadlineFrom(seq, guaranteeMs);
    if (deadline !== undefined && deadline > this.sessionSafeUntil) this.sessionSafeUntil = deadline;
    return this.sessionSafeUntil;
  }

  /**
   * A Pre-emption Request for lock `name` (holding `token`) with `graceMs` arrived in a frame naming keepalive `seq`.
   * From now on guarantees no longer extend this lock: a fenced lock is safe until the grace ends; an ordinary one
   * until the later of that and the promise already given (docs/design.md, principle 2).
   */
  preemptionReceived(name: string, token: bigint, seq: number, graceMs: number, fenced: boolean): void {
    const graceDeadline = this.deadlineFrom(seq, graceMs) ?? Number.NEGATIVE_INFINITY;
    const safeUntilMs = fenced ? graceDeadline : Math.max(graceDeadline, this.sessionSafeUntil);
    const existing = this.caps.get(name);
    if (existing && existing.token === token && existing.safeUntilMs <= safeUntilMs) return;
    this.caps.set(name, { token, safeUntilMs });
  }

  /** Forgets lock `name`'s cap (released, lost, or granted anew). */
  forgetLock(name: string): void {
    this.caps.delete(name);
  }

  /** Until when the session's locks are safe, on the client's clock (-Infinity before any guarantee). */
  get sessionSafeUntilMs(): number {
    return this.sessionSafeUntil;
  }

  /** Until when the lock `name` holding `token` is safe: the session's deadline, capped by a pre-emption. */
  lockSafeUntilMs(name: string, token: bigint): number {
    const cap = this.caps.get(name);
    return cap && cap.token === token ? Math.min(cap.safeUntilMs, this.sessionSafeUntil) : this.sessionSafeUntil;
  }
}
