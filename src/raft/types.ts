// The Raft contract shared by the pure core (core.ts), its drivers (node.ts, the simulator) and the storage.
// Shaped after etcd-io/raft: the core is driven by tick()/step()/propose() and hands back a Ready batch.

/** A node's stable identity in the cluster (e.g. "node1"). */
export type NodeId = string;

/** What an entry carries: application data, a membership change, or the leader's empty entry of a new term. */
export type EntryType = 'normal' | 'conf-change' | 'noop';

/** One log entry. `data` is opaque to Raft (the application encodes it with msgpackr). */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The state that must be on stable storage before any message that depends on it is sent (Raft Figure 2). */
export interface HardState {
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly commit: number;
}

/** Cluster membership: voters, non-voting learners, and each member's one address (clients and peers alike). */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly addresses: Readonly<Record<NodeId, string>>;
}

/** A single-server membership change (Raft thesis §4.1), carried in a 'conf-change' entry's data. */
export type ConfChange =
  | { readonly kind: 'add-learner'; readonly id: NodeId; readonly address: string }
  | { readonly kind: 'add-voter'; readonly id: NodeId; readonly address: string }
  | { readonly kind: 'promote'; readonly id: NodeId }
  | { readonly kind: 'remove'; readonly id: NodeId };

/** Where a snapshot stands in the log, and the membership in force at that point. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/** A point-in-time image of the application state machine, covering the log up to `meta.index`. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** A node's role. */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader' | 'learner';

/** Volatile state a driver may want to observe (leader changes, role changes). */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
  readonly term: number;
}

/** A linearizable read that may be served once the local node has applied up to `index` (Raft thesis §6.4). */
export interface ReadState {
  readonly index: number;
  /** The opaque context the caller passed to readIndex(), to match the answer to the request. */
  readonly context: string;
}

/** Every message between peers. Fields beyond the common ones depend on `type`. */
export type Message =
  | (MessageBase & {
      readonly type: 'pre-vote' | 'vote';
      readonly lastLogIndex: number;
      readonly lastLogTerm: number;
      readonly transfer?: boolean;
    })
  | (MessageBase & { readonly type: 'pre-vote-response' | 'vote-response'; readonly granted: boolean })
  | (MessageBase & {
      readonly type: 'append';
      readonly prevLogIndex: number;
      readonly prevLogTerm: number;
      readonly entries: readonly Entry[];
      readonly commit: number;
      /** Set on heartbeats sent for a ReadIndex round, echoed back in the response. */
      readonly readContext?: string;
    })
  | (MessageBase & {
      readonly type: 'append-response';
      readonly success: boolean;
      /** On success the last index now matched; on rejection the index that was probed. */
      readonly index: number;
      /** On rejection: a hint for fast backtracking (the follower's conflicting term and its first index, Raft §5.3). */
      readonly rejectHint?: { readonly term: number; readonly index: number };
      readonly readContext?: string;
    })
  | (MessageBase & {
      readonly type: 'snapshot';
      readonly meta: SnapshotMeta;
      /** Chunked InstallSnapshot: byte offset of `chunk` and whether it is the last one. */
      readonly offset: number;
      readonly chunk: Uint8Array;
      readonly done: boolean;
    })
  | (MessageBase & {
      readonly type: 'snapshot-response';
      readonly index: number;
      readonly offset: number;
      readonly success: boolean;
    })
  | (MessageBase & { readonly type: 'timeout-now' });

/** Fields common to every message. */
export interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/**
 * What the core asks its driver to do, in this order:
 * 1. persist `hardState`, `snapshot` and `entries` (synced when `mustSync`), 2. send `messages`,
 * 3. apply `snapshot` then `committedEntries` to the state machine, 4. call `advance(ready)`.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  /** Entries to append to stable storage (they may overwrite a conflicting suffix from `entries[0].index`). */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader, to persist and restore before applying further entries. */
  readonly snapshot?: Snapshot;
  /** Entries now committed, to apply in order. */
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** True when hardState or entries changed and must be fsynced before the messages are sent. */
  readonly mustSync: boolean;
}

/** Timing and limits of the core, in ticks and counts. */
export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks between heartbeats (one tick is the driver's tick interval, 100 ms by default). */
  readonly heartbeatTicks: number;
  /** Base election timeout in ticks; each node picks a random timeout in [electionTicks, 2 * electionTicks). */
  readonly electionTicks: number;
  /** Maximum entries per append message. */
  readonly maxEntriesPerAppend: number;
  /** Maximum append messages in flight per follower (bounded pipelining). */
  readonly maxInflight: number;
  /** Bytes per InstallSnapshot chunk. */
  readonly snapshotChunkBytes: number;
  /** Whether elections begin with a PreVote round (Raft thesis §9.6). */
  readonly preVote: boolean;
  /** Whether a leader steps down when it has not heard a quorum for an election timeout. */
  readonly checkQuorum: boolean;
}

/** The persisted state a core is restarted from. */
export interface RestoredState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot, in order. */
  readonly entries: readonly Entry[];
  /** Membership for a fresh cluster with no snapshot and no conf-change entry yet (bootstrap). */
  readonly initialConf: ConfState;
}

/** The application's replicated state machine (hashicorp/raft's FSM). Deterministic: no clocks, no I/O. */
export interface StateMachine {
  /** Applies one committed normal entry and returns the result handed back to the proposer. */
  apply(entry: Entry): unknown;
  /** Serializes the whole state, as of the last applied entry. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void;
  /**
   * Optional: snapshot() in bounded slices. The image is of the state as of the last applied entry when this is
   * called, however many entries are applied while its slices run (docs/design.md, "Snapshots").
   */
  beginSnapshot?(): SnapshotJob;
  /** Optional: restore() in bounded slices; the state is replaced at once by the last slice. */
  beginRestore?(data: Uint8Array): RestoreJob;
}

/** A snapshot being written a slice at a time (StateMachine.beginSnapshot). */
export interface SnapshotJob {
  /** Writes one bounded slice of the image; returns the image once it is complete, undefined before. */
  step(): Uint8Array | undefined;
  /** Abandons the image; the state machine keeps nothing of it. */
  cancel(): void;
}

/** A snapshot being restored a slice at a time (StateMachine.beginRestore). */
export interface RestoreJob {
  /** Reads one bounded slice of the image; true once the state machine holds the image's state. */
  step(): boolean;
  /** Abandons the restore; the state machine keeps the state it had. */
  cancel(): void;
}

/** The pure core's surface, as drivers (node.ts and the simulator) use it. Implemented by RaftCore in core.ts. */
export interface RaftCoreApi {
  readonly id: NodeId;
  /** Advances logical time by one tick (heartbeats, election timeouts, CheckQuorum). */
  tick(): void;
  /** Handles one message from a peer. */
  step(message: Message): void;
  /** Appends `data` as a new entry on the leader; returns its index and term, or null when not leader. */
  propose(data: Uint8Array): { index: number; term: number } | null;
  /** Proposes one membership change on the leader; null when not leader or a change is still pending. */
  proposeConfChange(change: ConfChange): { index: number; term: number } | null;
  /** Starts a leadership transfer to `to` (Raft thesis §3.10); false when not leader or `to` is not a voter. */
  transferLeadership(to: NodeId): boolean;
  /** Starts a ReadIndex round; the answer comes back as a ReadState with the same context. */
  readIndex(context: string): void;
  /** Whether there is anything in the next Ready. */
  hasReady(): boolean;
  /** The next batch of work for the driver. */
  ready(): Ready;
  /** Acknowledges that the driver has done everything in `ready`. */
  advance(ready: Ready): void;
  /** Replaces the log up to `index` (already applied) with a snapshot whose state machine image is `data`. */
  compact(index: number, data: Uint8Array): void;
  /** Tells the core that the snapshot sent to `to` failed (unreachable), so it retries later. */
  reportUnreachable(to: NodeId): void;
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId | null;
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
}
