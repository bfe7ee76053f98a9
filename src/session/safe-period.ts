// The client's safe period (docs/design.md, principle 2), built only from what the client received; the SDK imports it.

/** The client's assumptions about clocks: the defaults of docs/design.md (1% drift, 100 ms margin). */
export interface SafePeriodAssumptions {
  /** Bound on the relative rate difference of client and server clocks (0.01 = 1%). */
  readonly maxDrift: number;
  /** Subtracted from every deadline, for scheduling delays between checking and acting. */
  readonly marginMs: number;
}

/** The defaults (docs/design.md, "Defaults"). */
export const defaultSafePeriodAssumptions: SafePeriodAssumptions = { maxDrift: 0.01, marginMs: 100 };

/** A duration the server granted, counted from the send time (client clock) of the keepalive its message names. */
export interface GrantedDuration {
  /** Client clock when the client sent the last keepalive the server had received when it sent this message. */
  readonly keepaliveSentAtMs: number;
  readonly durationMs: number;
}

/**
 * Until when (client clock) a duration granted by the server is safe to rely on:
 * `keepaliveSentAtMs + durationMs * (1 - maxDrift) - marginMs`. The send time is never later than the server's
 * moment, so the client's deadline never outlives the server's.
 */
export function grantedUntilMs(granted: GrantedDuration, assumptions: SafePeriodAssumptions): number {
  return granted.keepaliveSentAtMs + granted.durationMs * (1 - assumptions.maxDrift) - assumptions.marginMs;
}

/**
 * The end of the client's safe period for one lock: from the guarantee of the last answered keepalive, capped by the
 * lock's revocation grace when a pre-emption request was received.
 */
export function safeUntilMs(
  guarantee: GrantedDuration,
  revocationGrace: GrantedDuration | undefined,
  assumptions: SafePeriodAssumptions = defaultSafePeriodAssumptions,
): number {
  const fromGuarantee = grantedUntilMs(guarantee, assumptions);
  return revocationGrace === undefined
    ? fromGuarantee
    : Math.min(fromGuarantee, grantedUntilMs(revocationGrace, assumptions));
}

/** The keepalive interval to send with a guarantee: a third of it, so two keepalives may be lost. */
export function keepaliveIntervalMs(guaranteeMs: number): number {
  return Math.floor(guaranteeMs / 3);
}
