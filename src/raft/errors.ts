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
