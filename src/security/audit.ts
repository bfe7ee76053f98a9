// The audit trail of admin actions (docs/design.md, principle 8): who (the client certificate's CN with TLS), what,
// on what, and how it ended, as one pino line at info per action. Never a secret: identities are certificate names.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';

/** One audited action. */
export interface AuditEntry {
  /** Who asked: `cn:NAME` from a verified client certificate, else `anonymous` and the caller's address. */
  readonly identity: string;
  /** The Admin call: Revoke, AddMember, PromoteMember, RemoveMember, TransferLeadership, Snapshot. */
  readonly action: string;
  /** What it acted on: a lock name, a member id. */
  readonly target: string;
  /** `ok`, or the stable error code it was refused with. */
  readonly result: string;
  /** Set when this node sent the call on to the leader, which audits it again under this node's identity. */
  readonly forwardedTo?: string;
}

/** The caller of `call` as the audit names it: the CN of its verified client certificate, or its address. */
export function callerIdentity(
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
): string {
  const commonName = call.getAuthContext().sslPeerCertificate?.subject?.CN;
  if (typeof commonName === 'string' && commonName !== '') return `cn:${commonName}`;
  return `anonymous@${call.getPeer()}`;
}

/** Writes one audit line. */
export function audit(log: Logger, entry: AuditEntry): void {
  log.info({ audit: entry }, 'audit');
}
