// What the leader promises each session: its guarantee g and keepalive interval (the seam the SPM shortens).
import type { KeepaliveSample } from '../spm/types.js';

/** A session's promise in one keepalive answer (docs/design.md, principle 2). */
export interface Guarantee {
  /** How long after the answered keepalive's send time the client may count on its locks, in ms. */
  readonly guaranteeMs: number;
  /** The keepalive interval the client should use from now on: g / 3. */
  readonly keepaliveIntervalMs: number;
  /** How long after the keepalive's receipt the server keeps the session's lease (its promise): at least g, longer
   * for a client whose clock was measured slower than the SDK's drift bound, so the lease covers its belief. */
  readonly leaseMs: number;
}

/** Decides each session's guarantee from what its keepalives show (the TTL policy, or the SPM's). */
export interface GuaranteePolicy {
  /** A keepalive arrived (before its answer's guarantee is decided). */
  keepaliveReceived(sample: KeepaliveSample): void;
  /** The guarantee for `sessionId` (whose TTL is `ttlMs`) at `nowMs`, recorded as sent. */
  guaranteeFor(sessionId: string, ttlMs: number, nowMs: number): Guarantee;
}

/** The guarantee for a session whose g is `guaranteeMs`: keepalives every g/3, the lease `leaseMs` (g by default). */
export function guaranteeOf(guaranteeMs: number, leaseMs: number = guaranteeMs): Guarantee {
  return { guaranteeMs, keepaliveIntervalMs: Math.max(1, Math.floor(guaranteeMs / 3)), leaseMs };
}

/** The policy without prediction: every session is promised its full TTL, whatever its keepalives show. */
export const ttlGuarantee: GuaranteePolicy = {
  keepaliveReceived: () => {},
  guaranteeFor: (_sessionId, ttlMs) => guaranteeOf(ttlMs),
};
