// Conversions between the wire's shapes (util/wire-frames.ts, generated from the .proto) and the domain, on the
// server.

import type { LockHolder__Output } from '../generated/forelock/v1/LockHolder.js';
import type { LockInfo__Output } from '../generated/forelock/v1/LockInfo.js';
import type { LockMode } from '../lock/commands.js';
import type { HolderView, LockView, SessionHold } from '../lock/state-machine.js';
import type { RaftStatus } from '../raft/node-api.js';
import type { WireHeldLock, WireLockMode, WirePreemptionRequest } from '../util/wire-frames.js';
import { InvalidRequestError } from './errors.js';
import type { ScheduledRevocation } from './leader-duties.js';

export type { ClientFrame, ServerFramePayload } from '../util/wire-frames.js';

/** The wire name of a lock mode. */
export function modeToWire(mode: LockMode): WireLockMode {
  return mode === 'shared' ? 'SHARED' : 'EXCLUSIVE';
}

/** The domain lock mode of a wire enum value (unset: exclusive); throws InvalidRequestError for an unknown one. */
export function modeFromWire(mode: WireLockMode | undefined): LockMode {
  if (mode === undefined || mode === 'EXCLUSIVE') return 'exclusive';
  if (mode === 'SHARED') return 'shared';
  throw new InvalidRequestError(`mode must be EXCLUSIVE or SHARED, got ${JSON.stringify(mode)}`);
}

/** A uint64 decimal string as a bigint; throws InvalidRequestError for anything else. */
export function tokenFromWire(token: string, what = 'token'): bigint {
  if (!/^\d{1,20}$/.test(token))
    throw new InvalidRequestError(`${what} must be a uint64 decimal string, got "${token}"`);
  return BigInt(token);
}

/** A request sequence number (uint64 string) as a safe integer; throws InvalidRequestError beyond 2^53. */
export function requestSeqFromWire(seq: string): number {
  const value = Number(seq);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRequestError(`request_seq must be an integer from 0 to 2^53-1, got "${seq}"`);
  }
  return value;
}

/** The locks a session holds, for SessionOpened on resumption. */
export function heldLocksOf(holds: readonly SessionHold[]): WireHeldLock[] {
  return holds.map(({ name, holder }) => ({
    name,
    mode: modeToWire(holder.mode),
    token: String(holder.token),
    fenced: holder.fenced,
  }));
}

/** The Pre-emption Request that tells a holder an operator's revoke ends its hold at `revokeAtMs` (`graceMs` away). */
export function operatorPreemptionRequest(
  name: string,
  token: bigint,
  revokeAtMs: number,
  graceMs: number,
  reason: string,
): WirePreemptionRequest {
  return {
    resourceId: name,
    token: String(token),
    graceMs: Math.max(0, Math.round(graceMs)),
    revokeAtMs,
    reason,
    warningId: '',
  };
}

/** The Pre-emption Requests of an operator's revoke: one to each holder whose revocation comes later. */
export function operatorPreemptionRequests(
  name: string,
  scheduled: readonly ScheduledRevocation[],
  reason: string,
): { readonly sessionId: string; readonly preemption: WirePreemptionRequest }[] {
  return scheduled
    .filter((each) => !each.immediate)
    .map((each) => ({
      sessionId: each.sessionId,
      preemption: operatorPreemptionRequest(name, each.token, each.revokeAtMs, each.graceMs, reason),
    }));
}

/**
 * The Pre-emption Requests of `sessionId`'s holds that an operator's revoke (replicated with the hold) will end
 * later: sent again when the session resumes, since it may have missed them while disconnected.
 */
export function scheduledRevocationRequestsOf(holds: readonly SessionHold[], nowMs: number): WirePreemptionRequest[] {
  const requests: WirePreemptionRequest[] = [];
  for (const { name, holder } of holds) {
    const scheduled = holder.scheduledRevocation;
    if (scheduled === undefined) continue;
    const { revokeAtMs, reason } = scheduled;
    requests.push(operatorPreemptionRequest(name, holder.token, revokeAtMs, revokeAtMs - nowMs, reason));
  }
  return requests;
}

/** A holder as Admin.ListLocks returns it. */
export function holderToWire(holder: HolderView): LockHolder__Output {
  return {
    session: holder.sessionId,
    client: holder.clientName,
    token: String(holder.token),
    fenced: holder.fenced,
    grantedAtMs: holder.grantedAtMs,
    mode: modeToWire(holder.mode),
    preemptible: holder.preemptible,
    metadata: holder.metadata,
    user: holder.user,
  };
}

/** A lock as Admin.ListLocks returns it. */
export function lockToWire(lock: LockView): LockInfo__Output {
  return {
    name: lock.name,
    mode: modeToWire(lock.mode ?? 'exclusive'),
    holders: lock.holders.map(holderToWire),
    waiters: lock.waiters.length,
  };
}

/** A member as Status and /v1/status report it: its role as this node sees it, and the leader's replication view. */
export interface MemberJson {
  readonly id: string;
  readonly address: string;
  readonly role: string;
  /** On the leader: whether it heard from the member within an election timeout; null on other nodes. */
  readonly reachable: boolean | null;
  /** On the leader: the highest index replicated on the member; null on other nodes. */
  readonly matchIndex: number | null;
  /** On the leader: entries of its log the member lacks; null on other nodes. */
  readonly lagEntries: number | null;
}

/**
 * `forelock status --json` and GET /v1/status: the answering node (`id`, its `appliedIndex`) and its view of the
 * cluster (`leader`, `term`, `commitIndex`, `members`).
 */
export interface StatusJson {
  readonly id: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly members: MemberJson[];
}

/** The role of each member as this node sees it (its own role, "leader", "learner" or "follower"), with replication. */
export function membersOf(status: RaftStatus): MemberJson[] {
  const { voters, learners, addresses } = status.conf;
  const roleOf = (id: string): string => {
    if (id === status.id) return status.role === 'pre-candidate' ? 'candidate' : status.role;
    if (id === status.leaderId) return 'leader';
    return learners.includes(id) ? 'learner' : 'follower';
  };
  const replication = new Map(status.replication?.map((member) => [member.id, member]));
  return [...voters, ...learners].map((id) => {
    const seen = replication.get(id);
    return {
      id,
      address: addresses[id] ?? '',
      role: roleOf(id),
      reachable: seen?.reachable ?? null,
      matchIndex: seen?.matchIndex ?? null,
      lagEntries: seen?.lagEntries ?? null,
    };
  });
}

/** The JSON status of this node's view of the cluster. */
export function statusJson(status: RaftStatus): StatusJson {
  return {
    id: status.id,
    leader: status.leaderId,
    term: status.term,
    commitIndex: status.commitIndex,
    appliedIndex: status.appliedIndex,
    members: membersOf(status),
  };
}

/**
 * `forelock locks --json` and GET /v1/locks: tokens as decimal strings, grantedAt in epoch ms, `user` the user that
 * opened the holding session ('' when it was opened with auth disabled).
 */
export function locksJson(locks: readonly LockView[]): Record<string, unknown>[] {
  return locks.map((lock) => ({
    name: lock.name,
    mode: lock.mode ?? 'exclusive',
    holders: lock.holders.map((holder) => ({
      session: holder.sessionId,
      client: holder.clientName,
      user: holder.user,
      token: String(holder.token),
      fenced: holder.fenced,
      grantedAt: holder.grantedAtMs,
    })),
    waiters: lock.waiters.length,
  }));
}
