// The Admin gRPC service: status, lock listing, operator revoke, membership and leadership transfer.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RaftNodeApi } from '../raft/node-api.js';
import { encodeSnapshotFile } from '../raft/snapshot-file.js';
import { audit } from '../security/audit.js';
import { type AdminCallContext, adminCall, admitted, auditResultOf, rootOnly } from './admin-call.js';
import type { AdminForwarder } from './admin-forwarder.js';
import type { Authenticator, Caller } from './authenticator.js';
import { parseHostPort } from './config.js';
import { InvalidRequestError } from './errors.js';
import { toServiceError } from './grpc-status.js';
import type { LeaderDuties } from './leader-duties.js';
import type { LockService } from './lock-service.js';
import type { SessionHub } from './session-hub.js';
import { lockToWire, membersOf, operatorPreemptionRequests } from './wire.js';

/** What the Admin service needs from the node. */
export interface AdminServiceDeps {
  readonly raft: RaftNodeApi;
  readonly service: LockService;
  readonly duties: LeaderDuties;
  /** Tells a holder of a revoke that takes effect later (a Pre-emption Request with no grace beyond its promise). */
  readonly hub: SessionHub;
  /** Sends a leader-only call that reaches a follower on to the leader. */
  readonly forwarder: AdminForwarder;
  /** Who is calling and what it may do (auth). */
  readonly authenticator: Authenticator;
  readonly log: Logger;
}

/** Bytes per chunk of a streamed snapshot file. */
const SNAPSHOT_CHUNK_BYTES = 1 << 20;

/**
 * Streams `file()`'s bytes in chunks to a root caller, waiting for the client when its buffer is full; a failure ends
 * the call with its status.
 */
function streamFile(
  context: AdminCallContext,
  file: () => Promise<Uint8Array>,
): grpc.handleServerStreamingCall<unknown, unknown> {
  const { log, authenticator } = context;
  return (call) => {
    // Known once admitted; a caller refused there was audited by the Authenticator under its own identity.
    let identity: string | null = null;
    const send = async (): Promise<void> => {
      const access = rootOnly<unknown>(authenticator, 'Snapshot', () => 'cluster state');
      identity = admitted(context, call, 'Snapshot', access, call.request).identity;
      const bytes = await file();
      for (let offset = 0; offset < bytes.length && !call.cancelled; offset += SNAPSHOT_CHUNK_BYTES) {
        const chunk = Buffer.from(bytes.subarray(offset, offset + SNAPSHOT_CHUNK_BYTES));
        if (!call.write({ chunk })) await new Promise((resolve) => call.once('drain', resolve));
      }
      call.end();
    };
    const record = (result: string): void => {
      if (identity !== null) audit(log, { identity, action: 'Snapshot', target: 'cluster state', result });
    };
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
  const { raft, service, duties, hub, forwarder, authenticator, log } = deps;
  const context: AdminCallContext = { log, authenticator };
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
      sessions: service.machine.sessionCount(),
      locks: service.machine.lockCount(),
    };
  };
  const root = <Request>(name: string, target: (request: Request) => string) =>
    rootOnly<Request>(authenticator, name, target);
  const member = (request: { id: string }) => request.id;
  return {
    Status: adminCall(context, { name: 'Status', access: 'authenticated', handler: statusReply }),
    // A linearizable snapshot for backup: the read barrier makes the image at least as new as every write
    // acknowledged before the call, and captureSnapshot captures it in the same turn of the event loop (then packs it
    // in slices).
    Snapshot: streamFile(context, async () => {
      service.requireLeader();
      await raft.readBarrier();
      const snapshot = await raft.captureSnapshot();
      log.info({ index: snapshot.meta.index, term: snapshot.meta.term }, 'snapshot saved for backup');
      return encodeSnapshotFile(raft.clusterId, snapshot);
    }),
    // Filtered to the locks the caller may read: a page may hold fewer than `limit` locks, and next_after goes on.
    ListLocks: adminCall<{ prefix: string; after: string; limit: number }>(context, {
      name: 'ListLocks',
      access: 'authenticated',
      handler: async ({ prefix, after, limit }, caller: Caller) => {
        service.requireLeader();
        await raft.readBarrier();
        const page = service.machine.lockPage(prefix, after, limit);
        const readable = page.locks.filter((lock) => authenticator.permits(caller, 'read', lock.name));
        return { locks: readable.map(lockToWire), nextAfter: page.nextAfter ?? '' };
      },
      forwarder,
    }),
    Revoke: adminCall<{ name: string; session: string; force: boolean; reason: string }>(context, {
      name: 'Revoke',
      access: (caller, request) => {
        if (request.force) authenticator.requireRoot(caller, 'Revoke --force', request.name);
        else authenticator.requirePermission(caller, 'Revoke', 'revoke', request.name);
      },
      handler: async (request) => {
        service.checkLockName(request.name);
        const reason = request.reason === '' ? 'revoked by an operator' : request.reason;
        // docs/design.md, principle 2: the holder's safe period must end by the revocation, however its keepalives are
        // answered meanwhile, so each Pre-emption Request goes out as soon as the revocation time is fixed.
        const revoked = await duties.revoke(request.name, request.session, request.force, reason, (scheduled) => {
          for (const each of operatorPreemptionRequests(request.name, scheduled, reason)) {
            hub.push(each.sessionId, { preemption: each.preemption });
          }
        });
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
      auditTarget: (request) =>
        `${request.name}${request.session === '' ? '' : ` session ${request.session}`}${request.force ? ' --force' : ''}`,
    }),
    AddMember: adminCall<{ id: string; address: string; learner: boolean }>(context, {
      name: 'AddMember',
      access: root('AddMember', member),
      handler: async (request) => {
        const id = requireMemberId(request.id);
        parseHostPort(request.address, 'member address');
        if (request.learner) await raft.addLearner(id, request.address);
        else await raft.addVoter(id, request.address);
        log.info({ member: id, address: request.address, learner: request.learner }, 'member added');
        return statusReply();
      },
      forwarder,
      auditTarget: (request) => `${request.id}=${request.address}`,
    }),
    PromoteMember: adminCall<{ id: string }>(context, {
      name: 'PromoteMember',
      access: root('PromoteMember', member),
      handler: async (request) => {
        await raft.promote(requireMemberId(request.id));
        log.info({ member: request.id }, 'member promoted');
        return statusReply();
      },
      forwarder,
      auditTarget: member,
    }),
    RemoveMember: adminCall<{ id: string; force: boolean }>(context, {
      name: 'RemoveMember',
      access: root('RemoveMember', member),
      handler: async (request) => {
        await raft.remove(requireMemberId(request.id), { force: request.force });
        log.info({ member: request.id, force: request.force }, 'member removed');
        return statusReply();
      },
      forwarder,
      auditTarget: member,
    }),
    TransferLeadership: adminCall<{ id: string }>(context, {
      name: 'TransferLeadership',
      access: root('TransferLeadership', member),
      handler: async (request) => {
        await raft.transferLeadership(requireMemberId(request.id));
        log.info({ to: request.id }, 'leadership transferred');
        return statusReply();
      },
      forwarder,
      auditTarget: member,
    }),
  };
}
