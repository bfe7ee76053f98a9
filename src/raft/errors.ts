// Typed errors of the Raft node driver, storage and transport (stable codes, retriable flags).
import { ForelockError } from '../util/errors.js';
import type { NodeId } from './types.js';

/**
 * The Raft node refused because it is not the leader; retry at `leaderAddress` (null when no leader is known yet).
 * Server side: it carries the leader's id for the refusal's metadata. The SDK's NotLeaderError
 * (src/client/errors.ts) is what a client makes of the refusal it receives.
 */
export class RaftNotLeaderError extends ForelockError {
  constructor(
    readonly leaderId: NodeId | null,
    readonly leaderAddress: string | null,
    message = leaderId === null
      ? 'this node is not the leader and no leader is known yet; retry shortly'
      : `this node is not the leader; the leader is ${leaderId} at ${leaderAddress ?? 'an unknown address'}`,
  ) {
    super(message, 'NOT_LEADER', true);
  }
}

/** The outcome of a proposal is unknown (it may or may not have been applied); retry with the same request id. */
export class ProposalDroppedError extends ForelockError {
  constructor(message: string) {
    super(message, 'PROPOSAL_DROPPED', true);
  }
}

/**
 * A membership change cannot start yet: another one is still pending (one at a time, Raft thesis §4.1), or a new
 * leader has not yet committed an entry of its term.
 */
export class ConfChangeInProgressError extends ForelockError {
  constructor() {
    super(
      'a membership change is still in progress (or the new leader has not committed an entry of its term yet); retry shortly',
      'CONF_CHANGE_IN_PROGRESS',
      true,
    );
  }
}

/** A leadership transfer could not start or did not finish in time. */
export class LeadershipTransferError extends ForelockError {
  constructor(message: string) {
    super(message, 'LEADERSHIP_TRANSFER_FAILED', true);
  }
}

/** The node has been closed; nothing more can be proposed or read on it. */
export class NodeClosedError extends ForelockError {
  constructor() {
    super('the Raft node is closed', 'NODE_CLOSED', false);
  }
}

/** Persisted state is unreadable or inconsistent (a missing snapshot file, a gap in the log). */
export class StorageCorruptError extends ForelockError {
  constructor(message: string) {
    super(message, 'STORAGE_CORRUPT', false);
  }
}

/** Fault injection was requested on a transport constructed without `faultInjection: true`. */
export class FaultInjectionDisabledError extends ForelockError {
  constructor() {
    super(
      'fault injection is off: construct the transport with faultInjection: true (tests only)',
      'FAULT_INJECTION_DISABLED',
      false,
    );
  }
}

/** A membership change that makes no sense against the current configuration (e.g. adding an existing member). */
export class InvalidConfChangeError extends ForelockError {
  constructor(message: string) {
    super(message, 'INVALID_CONF_CHANGE', false);
  }
}

/** Another process (or another node in this process) already runs on this data directory. */
export class DataDirInUseError extends ForelockError {
  constructor(
    readonly dataDir: string,
    readonly ownerPid: number | null,
    readonly selfPid: number,
  ) {
    super(
      ownerPid === selfPid
        ? `data directory ${dataDir} is already in use by another node of this process (pid ${selfPid}); give each node its own --data`
        : `data directory ${dataDir} is in use by process ${ownerPid ?? 'unknown'} (this is process ${selfPid}); stop that process or give this node another --data`,
      'DATA_DIR_IN_USE',
      false,
    );
  }
}

/**
 * The data directory belongs to another member or another cluster than the flags say: starting would make this node
 * answer for a log that is not its own (docs/design.md, principle 1: tokens must come from one history).
 */
export class DataDirMismatchError extends ForelockError {
  constructor(message: string) {
    super(message, 'DATA_DIR_MISMATCH', false);
  }
}

/** The data directory was written by a newer release, whose format this binary cannot read. */
export class DataFormatTooNewError extends ForelockError {
  constructor(dataDir: string, found: number, supported: number) {
    super(
      `data directory ${dataDir} has data format version ${found}, newer than this binary's ${supported}; run the newer forelock that wrote it`,
      'DATA_FORMAT_TOO_NEW',
      false,
    );
  }
}

/** A membership change names a member the cluster does not have. */
export class MemberNotFoundError extends ForelockError {
  constructor(id: NodeId, members: readonly NodeId[]) {
    super(
      `${id} is not a member of this cluster (members: ${members.length > 0 ? [...members].sort().join(', ') : 'none'}); check the id with \`forelock members\``,
      'MEMBER_NOT_FOUND',
      false,
    );
  }
}
