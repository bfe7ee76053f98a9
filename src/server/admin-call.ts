// How one unary Admin call is served: its caller authenticated and its access checked (docs/design.md, "Security"),
// then answered here or, for a leader-only call that reaches a follower, forwarded to the leader with a token for the
// same caller, and its outcome written to the audit trail when it is an admin action.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { audit } from '../security/audit.js';
import { type AdminForwarder, LeaderRefusal } from './admin-forwarder.js';
import type { Authenticator, Caller } from './authenticator.js';
import { OversizedRequest } from './frame-limit.js';
import { ERROR_CODE_METADATA, toServiceError } from './grpc-status.js';

/** Who may make a call: nobody needs credentials ('open'), any authenticated caller, or a check of the request. */
export type Access<Request> = 'open' | 'authenticated' | ((caller: Caller, request: Request) => void);

/** How one Admin method is served. */
export interface AdminCallSpec<Request> {
  /** The method's name (as forwarded, and as the audit and the denial metric name the action). */
  readonly name: string;
  readonly access: Access<Request>;
  readonly handler: (request: Request, caller: Caller) => Promise<unknown>;
  /** Set for a leader-only call: a follower that knows the leader forwards it there. */
  readonly forwarder?: AdminForwarder;
  /** Set for an admin action: its target as the audit trail names it. */
  readonly auditTarget?: (request: Request) => string;
}

/** What every Admin method shares: the node's log and authenticator. */
export interface AdminCallContext {
  readonly log: Logger;
  readonly authenticator: Authenticator;
}

/** The result an audit line records for a refused call: its stable error code, else INTERNAL. */
export function auditResultOf(status: Partial<grpc.ServiceError>): string {
  const code = status.metadata?.get(ERROR_CODE_METADATA)[0];
  return typeof code === 'string' ? code : 'INTERNAL';
}

/** The caller of `call` after its access check (throws UnauthenticatedError or PermissionDeniedError). */
export function admitted<Request>(
  context: AdminCallContext,
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  name: string,
  access: Access<Request>,
  request: Request,
): Caller {
  if (access === 'open') return { user: null, revision: 0, identity: `anonymous@${call.getPeer()}` };
  const caller = context.authenticator.callerOf(call, name);
  if (typeof access === 'function') access(caller, request);
  return caller;
}

/** Adapts `spec` to grpc-js's unary signature; every error becomes its mapped gRPC status. */
export function adminCall<Request>(
  context: AdminCallContext,
  spec: AdminCallSpec<Request>,
): grpc.handleUnaryCall<unknown, unknown> {
  const { log, authenticator } = context;
  const { name, forwarder, auditTarget } = spec;
  return (call, callback) => {
    const request = call.request as Request;
    if (request instanceof OversizedRequest) {
      callback(toServiceError(request.error));
      return;
    }
    let caller: Caller | null = null;
    let leaderAddress: string | null = null;
    let reply: Promise<unknown>;
    try {
      caller = admitted(context, call, name, spec.access, request);
      leaderAddress = forwarder?.targetOf(call) ?? null;
      reply =
        leaderAddress === null
          ? spec.handler(request, caller)
          : forwarder!.forward(
              leaderAddress,
              name,
              call,
              caller.user === null ? null : authenticator.tokenFor(caller.user).token,
            );
    } catch (error) {
      reply = Promise.reject(error);
    }
    const record = (result: string): void => {
      // A call refused by its access check was audited by the Authenticator under the caller's identity; a second line
      // here named the caller anonymous, as its identity was not known yet.
      if (auditTarget === undefined || caller === null) return;
      audit(log, {
        identity: caller.identity,
        action: name,
        target: auditTarget(request),
        result,
        ...(leaderAddress === null ? {} : { forwardedTo: leaderAddress }),
      });
    };
    reply.then(
      (answer) => {
        record('ok');
        callback(null, answer);
      },
      (error: unknown) => {
        log.debug({ err: error, call: name, forwardedTo: leaderAddress ?? undefined }, 'admin call refused');
        const status = error instanceof LeaderRefusal ? error.status : toServiceError(error);
        record(auditResultOf(status));
        callback(status);
      },
    );
  };
}

/** An Access check: the caller has the root role. */
export function rootOnly<Request>(
  authenticator: Authenticator,
  name: string,
  target: (request: Request) => string,
): Access<Request> {
  return (caller, request) => authenticator.requireRoot(caller, name, target(request));
}
