// When a pre-empted lock may be revoked (docs/design.md, principle 2): never before a promise already given.

/**
 * The revocation time of a pre-empted lock: a fenced lock at its deadline; an ordinary lock at the later of its
 * deadline and the session's promise (`promisedUntil`) when the Pre-emption Request was sent.
 */
export function revokeAtMs(deadlineMs: number, promisedUntilAtRequestMs: number, fenced: boolean): number {
  return fenced ? deadlineMs : Math.max(deadlineMs, promisedUntilAtRequestMs);
}
