// What the Raft driver (driver.ts) needs from its surroundings: a disk, a network and a way to run things later.
// Production plugs in level, gRPC and Node's timers (node.ts); the simulator in-memory ones on virtual time.
import type { Message, NodeId, Ready, SnapshotMeta } from './types.js';

/** Called once a write is durable, or with the error that stopped it. */
export type WriteDone = (error?: unknown) => void;

/**
 * A node's durable log (hashicorp/raft's LogStore and SnapshotStore): LevelRaftStorage in production, the
 * simulator's in-memory disk otherwise. Completion is a callback rather than a Promise so that a store on virtual time
 * can finish a write at a later simulated instant (or at once) without leaving the simulator's synchronous loop.
 */
export interface RaftLogStore {
  /** Writes the snapshot, hard state and entries `ready` asks to persist; `done` once durable. */
  persist(ready: Ready, done: WriteDone): void;
  /** Records a snapshot the node took itself at `meta.index` (already applied) and drops the log it covers. */
  compact(meta: SnapshotMeta, data: Uint8Array, done: WriteDone): void;
}

/**
 * The links to the other members (hashicorp/raft's Transport): the gRPC peer transport in production, the
 * simulator's in-memory network otherwise. Received messages reach the driver through RaftDriver.step.
 */
export interface RaftTransport {
  /** Sends `messages` now (each to its `to`); lost messages are Raft's to recover from. */
  send(messages: readonly Message[]): void;
  /** The members to keep links to, by id, with their addresses. */
  setPeers(addresses: Readonly<Record<NodeId, string>>): void;
  close(): void;
}

/** Running things later: Node's timers in production, the simulator's event queue on virtual time. */
export interface RaftScheduler {
  /** Runs `action` after the callbacks already due now (setImmediate), so work that arrives together is batched. */
  soon(action: () => void): void;
  /** Runs `action` after `delayMs`; the returned function cancels it. */
  after(delayMs: number, action: () => void): () => void;
  /** A monotonic clock in ms, for bounding work per turn (absent: work is bounded by counts only). */
  readonly now?: () => number;
}

/** Node's event loop as a RaftScheduler. */
export const nodeScheduler: RaftScheduler = {
  soon: (action) => {
    setImmediate(action);
  },
  after: (delayMs, action) => {
    const timer = setTimeout(action, delayMs);
    return () => clearTimeout(timer);
  },
  now: () => performance.now(),
};
