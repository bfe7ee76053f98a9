// The audit trail of admin actions and refusals (docs/design.md, "Security"): who (`user:NAME`, `cn:NAME`, `node:NAME`
// or `anonymous@ADDRESS`, as src/server/authenticator.ts names a caller), what, on what, and how it ended, as one pino
// line at info per action. Never a secret: identities are names.
import type { Logger } from 'pino';

/** One audited action. */
export interface AuditEntry {
  /** Who asked: `user:NAME` (a token), `cn:NAME` (a client certificate), `node:NAME` (a member's), else `anonymous@ADDRESS`. */
  readonly identity: string;
  /** The Admin call (Revoke, AddMember, ..., Snapshot, AuthEnable, UserAdd, ...) or the refused request. */
  readonly action: string;
  /** What it acted on: a lock name, a member id. */
  readonly target: string;
  /** `ok`, or the stable error code it was refused with. */
  readonly result: string;
  /** Why a caller was not authenticated (never quoting its credentials). */
  readonly reason?: string;
  /** Set when this node sent the call on to the leader, which audits it again under the same caller's identity. */
  readonly forwardedTo?: string;
}

/** Writes one audit line. */
export function audit(log: Logger, entry: AuditEntry): void {
  log.info({ audit: entry }, 'audit');
}
