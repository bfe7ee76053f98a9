// The Admin gRPC service: status, lock listing, operator revoke, membership and leadership transfer.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RaftNodeApi } from '../raft/node-api.js';
import { encodeSnapshotFile } from '../raft/snapshot-file.js';
import { audit, callerIdentity } from '../security/audit.js';
import { type AdminForwarder, LeaderRefusal } from './admin-forwarder.js';
import { parseHostPort } from './config.js';
import { InvalidRequestError } from './errors.js';
import { OversizedRequest } from './frame-limit.js';
import { ERROR_CODE_METADATA, toServiceError } from './grpc-status.js';
import type { LeaderDuties } from './leader-duties.js';
import type { LockService } from './lock-service.js';
import type { SessionHub } from './session-hub.js';
import { lockToWire, membersOf, operatorPreemptionRequest } from './wire.js';

/** What the Admin service needs from the node. */
export interface AdminServiceDeps {
  readonly raft: RaftNodeApi;
  readonly service: LockService;
  readonly duties: LeaderDuties;
  /** Tells a holder of a revoke that takes effect later (a Pre-emption Request with no grace beyond its promise). */
  readonly hub: SessionHub;
  /** Sends a leader-only call that reaches a follower on to the leader. */
  readonly forwarder: AdminForwarder;
  readonly log: Logger;
}

type Handler<Request> = (request: Request) => Promise<unknown>;

/**
 * Adapts an async handler to grpc-js's unary signature; every error becomes its mapped gRPC status. With a
 * forwarder (a leader-only call), a follower that knows the leader sends the call there and answers with the
 * leader's reply or status. With `auditTarget` (an admin action), the outcome is written to the audit trail.
 */
function unary<Request>(
  log: Logger,
  name: string,
  handler: Handler<Request>,
  forwarder?: AdminForwarder,
  auditTarget?: (request: Request) => string,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const request = call.request;
    if (request instanceof OversizedRequest) {
      callback(toServiceError(request.error));
      return;
    }
    const leaderAddress = forwarder?.targetOf(call) ?? null;
    const reply = leaderAddress === null ? handler(request as Request) : forwarder!.forward(leaderAddress, name, call);
    const record = (result: string): void => {
      if (auditTarget === undefined) return;
      audit(log, {
        identity: callerIdentity(call),
        action: name,
        target: auditTarget(request as Request),
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

/** The result an audit line records for a refused call: its stable error code, else INTERNAL. */
function auditResultOf(status: Partial<grpc.ServiceError>): string {
  const code = status.metadata?.get(ERROR_CODE_METADATA)[0];
  return typeof code === 'string' ? code : 'INTERNAL';
}

/** Bytes per chunk of a streamed snapshot file. */
const SNAPSHOT_CHUNK_BYTES = 1 << 20;

/** Streams `file()`'s bytes in chunks, waiting for the client when its buffer is full; a failure ends the call with its status. */
function streamFile(log: Logger, file: () => Promise<Uint8Array>): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    const send = async (): Promise<void> => {
      const bytes = await file();
      for (let offset = 0; offset < bytes.length && !call.cancelled; offset += SNAPSHOT_CHUNK_BYTES) {
        const chunk = Buffer.from(bytes.subarray(offset, offset + SNAPSHOT_CHUNK_BYTES));
        if (!call.write({ chunk })) await new Promise((resolve) => call.once('drain', resolve));
      }
      call.end();
    };
    const record = (result: string): void =>
      audit(log, { identity: callerIdentity(call), action: 'Snapshot', target: 'cluster state', result });
    send().then(
      () => record('ok'),
      (error: unknown) => {
        log.debug({ err: error, call: 'Snapshot' }, 'admin call refused');
        const status = toServiceError(error);
        record(auditResultOf(status));
        call.emit('error', status);
      },
    );
  };
}

function requireMemberId(id: string): string {
  if (id === '') throw new InvalidRequestError('a member id is required');
  return id;
}

/** The Admin service's handlers, for `server.addService(Admin.service, adminHandlers(deps))`. */
export function adminHandlers(deps: AdminServiceDeps): grpc.UntypedServiceImplementation {
  const { raft, service, duties, hub, forwarder, log } = deps;
  const statusReply = async (): Promise<unknown> => {
    const status = raft.status();
    return {
      id: status.id,
      leader: status.leaderId ?? '',
      leaderAddress: status.leaderAddress ?? '',
      term: status.term,
      commitIndex: status.commitIndex,
      appliedIndex: status.appliedIndex,
      members: membersOf(status),
      sessions: service.machine.sessions().length,
      locks: service.machine.locks().length,
    };
  };
  return {
    Status: unary(log, 'Status', statusReply),
    // A linearizable snapshot for backup: the read barrier makes the image at least as new as every write
    // acknowledged before the call, and captureSnapshot takes it in the same turn of the event loop.
    Snapshot: streamFile(log, async () => {
      service.requireLeader();
      await raft.readBarrier();
      const snapshot = raft.captureSnapshot();
      log.info({ index: snapshot.meta.index, term: snapshot.meta.term }, 'snapshot saved for backup');
      return encodeSnapshotFile(raft.clusterId, snapshot);
    }),
    ListLocks: unary<{ prefix: string; after: string; limit: number }>(
      log,
      'ListLocks',
      async ({ prefix, after, limit }) => {
        service.requireLeader();
        await raft.readBarrier();
        const page = service.machine.lockPage(prefix, after, limit);
        return { locks: page.locks.map(lockToWire), nextAfter: page.nextAfter ?? '' };
      },
      forwarder,
    ),
    Revoke: unary<{ name: string; session: string; force: boolean; reason: string }>(
      log,
      'Revoke',
      async (request) => {
        service.checkLockName(request.name);
        const reason = request.reason === '' ? 'revoked by an operator' : request.reason;
        const revoked = await duties.revoke(request.name, request.session, request.force, reason);
        // docs/design.md, principle 2: the holder's safe period must end by the revocation, however its keepalives are
        // answered meanwhile.
        for (const each of revoked.filter((r) => !r.immediate)) {
          hub.push(each.sessionId, {
            preemption: operatorPreemptionRequest(request.name, each.token, each.revokeAtMs, each.graceMs, reason),
          });
        }
        log.info({ lock: request.name, force: request.force, reason, revoked: revoked.length }, 'operator revoke');
        return {
          revoked: revoked.map((each) => ({
            session: each.sessionId,
            token: String(each.token),
            revokeAtMs: each.revokeAtMs,
            immediate: each.immediate,
          })),
        };
      },
      forwarder,
      (request) =>
        `${request.name}${request.session === '' ? '' : ` session ${request.session}`}${request.force ? ' --force' : ''}`,
    ),
    AddMember: unary<{ id: string; address: string; learner: boolean }>(
      log,
      'AddMember',
      async (request) => {
        const id = requireMemberId(request.id);
        parseHostPort(request.address, 'member address');
        if (request.learner) await raft.addLearner(id, request.address);
        else await raft.addVoter(id, request.address);
        log.info({ member: id, address: request.address, learner: request.learner }, 'member added');
        return statusReply();
      },
      forwarder,
      (request) => `${request.id}=${request.address}`,
    ),
    PromoteMember: unary<{ id: string }>(
      log,
      'PromoteMember',
      async (request) => {
        await raft.promote(requireMemberId(request.id));
        log.info({ member: request.id }, 'member promoted');
        return statusReply();
      },
      forwarder,
      (request) => request.id,
    ),
    RemoveMember: unary<{ id: string; force: boolean }>(
      log,
      'RemoveMember',
      async (request) => {
        await raft.remove(requireMemberId(request.id), { force: request.force });
        log.info({ member: request.id, force: request.force }, 'member removed');
        return statusReply();
      },
      forwarder,
      (request) => request.id,
    ),
    TransferLeadership: unary<{ id: string }>(
      log,
      'TransferLeadership',
      async (request) => {
        await raft.transferLeadership(requireMemberId(request.id));
        log.info({ to: request.id }, 'leadership transferred');
        return statusReply();
      },
      forwarder,
      (request) => request.id,
    ),
  };
}
