// Default Raft timing and limits (docs/design.md, "Defaults": heartbeat 100 ms, election timeout 1000-2000 ms
// randomized).
import type { NodeId, RaftConfig } from './types.js';

/** The driver's default tick interval: every count in RaftConfig is in ticks of this length. */
export const DEFAULT_TICK_MS = 100;

/**
 * A snapshot is also taken once the entries applied since the last one carry this many bytes, or as many as its image
 * if larger (RaftDriverOptions.snapshotLogBytes): about 80,000 acquires, which fit in a few hundred batched entries.
 */
export const DEFAULT_SNAPSHOT_LOG_BYTES = 8 * 1024 * 1024;

/** Committed entries the driver applies before yielding, so timers stay on time under a long backlog. */
export const DEFAULT_APPLY_CHUNK_ENTRIES = 256;

/**
 * How long one chunk of applying may hold the event loop before the driver yields, in ms: a tenth of the 100 ms
 * heartbeat, so that a Ready with heartbeats waits at most about that long behind a long apply.
 */
export const DEFAULT_APPLY_SLICE_MS = 10;

/** How long a leadership transfer may take, in shortest election timeouts (two of the longest), before it fails. */
export const TRANSFER_TIMEOUT_ELECTIONS = 4;

/**
 * The default core configuration for node `id`: a heartbeat every tick, an election timeout drawn from
 * [10, 20) ticks (1000-2000 ms at 100 ms a tick), PreVote and CheckQuorum on, batches of up to 1024 entries with
 * up to 64 appends in flight per follower, and 1 MiB InstallSnapshot chunks.
 */
export function defaultRaftConfig(id: NodeId): RaftConfig {
  return {
    id,
    heartbeatTicks: 1,
    electionTicks: 10,
    maxEntriesPerAppend: 1024,
    maxInflight: 64,
    snapshotChunkBytes: 1024 * 1024,
    preVote: true,
    checkQuorum: true,
  };
}
