// What the server sees of a running Raft node: propose, read, membership, status. Implemented by node.ts.
import type { ConfState, NodeId, Role } from './types.js';

/** A point-in-time view of a node, for status pages and leader discovery. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leaderId: NodeId | null;
  /** The leader's address (clients and peers share one port), or null when no leader is known. */
  readonly leaderAddress: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly conf: ConfState;
}

/** The result of a committed proposal: its log position and what the state machine returned. */
export interface ProposalResult<T = unknown> {
  readonly index: number;
  readonly term: number;
  readonly result: T;
}

/** A running Raft node as the services use it. */
export interface RaftNodeApi {
  readonly id: NodeId;
  /** Proposes `data`; resolves once committed and applied locally, rejects with RaftNotLeaderError on a follower. */
  propose<T = unknown>(data: Uint8Array, options?: { signal?: AbortSignal }): Promise<ProposalResult<T>>;
  /** Resolves when a read at this moment would be linearizable (ReadIndex, Raft thesis §6.4). */
  readBarrier(options?: { signal?: AbortSignal }): Promise<void>;
  addLearner(id: NodeId, address: string): Promise<void>;
  addVoter(id: NodeId, address: string): Promise<void>;
  promote(id: NodeId): Promise<void>;
  remove(id: NodeId): Promise<void>;
  transferLeadership(to: NodeId): Promise<void>;
  status(): RaftStatus;
  /** Called on every change of role, term or leader (leader discovery, RPH rebuild on promotion). */
  onStatusChange(listener: (status: RaftStatus) => void): () => void;
  /**
   * How late this process's event loop ran, in ms: p99 over the last second, beyond the 10 ms sampling timer's own
   * interval. Read by the SPM as node load.
   */
  eventLoopDelayMs(): number;
  close(): Promise<void>;
}
