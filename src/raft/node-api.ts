// What the server sees of a running Raft node: propose, read, membership, status. Implemented by node.ts.
import type { ConfState, NodeId, Role, Snapshot } from './types.js';

/** One member's replication as the leader sees it (`status --json`, /metrics' peer lag). */
export interface MemberReplication {
  readonly id: NodeId;
  /** The highest log index known replicated on the member (the leader's own persisted index for itself). */
  readonly matchIndex: number;
  /** Entries the leader's log holds beyond matchIndex. */
  readonly lagEntries: number;
  /** Whether the leader heard from the member within the last election timeout (always true for itself). */
  readonly reachable: boolean;
}

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
  /** On the leader, every member's replication, itself included; absent on other nodes. */
  readonly replication?: readonly MemberReplication[];
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
  /** Adds a voter; refused when the cluster would lose its quorum if `id` never started. */
  addVoter(id: NodeId, address: string): Promise<void>;
  /** Promotes learner `id`; refused until it has caught up with the leader's log. */
  promote(id: NodeId): Promise<void>;
  /**
   * Removes member `id`. The leader refuses (etcd's strict reconfiguration) a removal that leaves fewer started voters
   * than a quorum, unless `force`; an unknown id is refused with MemberNotFoundError.
   */
  remove(id: NodeId, options?: { force?: boolean }): Promise<void>;
  transferLeadership(to: NodeId): Promise<void>;
  status(): RaftStatus;
  /** The id of the cluster this node's log belongs to (from its data directory's identity). */
  readonly clusterId: string;
  /**
   * The state machine's image at the applied index, with that index, its term and the membership there: what
   * `forelock snapshot save` writes, after a read barrier makes it linearizable. Captured when called, packed in
   * slices (the loop is not held).
   */
  captureSnapshot(): Promise<Snapshot>;
  /** Called on every change of role, term or leader (leader discovery, RPH rebuild on promotion). */
  onStatusChange(listener: (status: RaftStatus) => void): () => void;
  /**
   * How late this process's event loop ran, in ms: p99 over the last second, beyond the 10 ms sampling timer's own
   * interval. Read by the SPM as node load.
   */
  eventLoopDelayMs(): number;
  /**
   * The longest this process's event loop was blocked within the last minute, in ms (beyond the sampling timer's
   * interval): what delayed heartbeats and elections most (docs/design.md, "Nothing starves Raft").
   */
  eventLoopStallMs(): number;
  close(): Promise<void>;
}
