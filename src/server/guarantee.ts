// What the leader promises each session: its guarantee g and keepalive interval (the seam the SPM will shorten).

/** A session's promise in one keepalive answer (ARCHITECTURE.md, principle 2). */
export interface Guarantee {
  /** How long after the answered keepalive's send time the client may count on its locks, in ms. */
  readonly guaranteeMs: number;
  /** The keepalive interval the client should use from now on: g / 3. */
  readonly keepaliveIntervalMs: number;
}

/** Decides each session's guarantee. Issue 5 replaces the TTL-only policy with the SPM's shortened one. */
export interface GuaranteePolicy {
  /** The guarantee for `sessionId` (whose TTL is `ttlMs`) at `nowMs`. */
  guaranteeFor(sessionId: string, ttlMs: number, nowMs: number): Guarantee;
}

/** The guarantee for a session whose g is `guaranteeMs`: keepalives every g/3. */
export function guaranteeOf(guaranteeMs: number): Guarantee {
  return { guaranteeMs, keepaliveIntervalMs: Math.max(1, Math.floor(guaranteeMs / 3)) };
}

/** The policy of issue 3: every session is promised its full TTL. */
export const ttlGuarantee: GuaranteePolicy = {
  guaranteeFor: (_sessionId, ttlMs) => guaranteeOf(ttlMs),
};
