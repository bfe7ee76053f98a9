// The leader's view of one follower: match/next indexes, flow-control state, in-flight appends and snapshot transfer.
import type { Snapshot } from './types.js';

/**
 * How the leader sends to a follower (etcd-io/raft's tracker.Progress): `probe` sends one append at a time until
 * the follower's match is found, `replicate` pipelines up to maxInflight appends, `snapshot` streams an
 * InstallSnapshot in chunks and sends nothing else.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A snapshot being streamed to a follower, chunk by chunk. */
export interface SnapshotTransfer {
  readonly snapshot: Snapshot;
  /** Byte offset of the next chunk to send (the follower's last acknowledged offset). */
  offset: number;
  /** Ticks since the follower last acknowledged a chunk; the current chunk is resent when this grows too large. */
  idleTicks: number;
}

/** Replication progress of one follower, as tracked by the leader. */
export class Progress {
  /** Highest index known to be replicated (and persisted) on the follower. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding, so wait for its answer (or the next heartbeat answer). */
  probeSent = false;
  /** In replicate state: last index of each append in flight, oldest first. */
  readonly inflight: number[] = [];
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Leader ticks since the follower last answered (infinite until it first does: a member that never started). */
  ticksSinceHeard = Number.POSITIVE_INFINITY;
  /** Consecutive heartbeat intervals in replicate state in which the follower answered but its match stood still. */
  private stalledHeartbeats = 0;
  private matchAtHeartbeat = 0;
  /** The follower answered an append since the last heartbeat. */
  heardSinceHeartbeat = false;
  /** Highest commit index sent to the follower (to skip commit notices that tell it nothing). */
  commitSent = 0;
  /** The InstallSnapshot in progress, in snapshot state. */
  transfer: SnapshotTransfer | null = null;

  constructor(next: number) {
    this.next = next;
  }

  /** Falls back to probing from `next`. */
  becomeProbe(next: number): void {
    this.state = 'probe';
    this.next = Math.max(next, this.match + 1);
    this.probeSent = false;
    this.inflight.length = 0;
    this.transfer = null;
  }

  /** Starts pipelining right after the match. */
  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflight.length = 0;
    this.transfer = null;
  }

  /** Starts streaming `snapshot`. */
  becomeSnapshot(snapshot: Snapshot): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.inflight.length = 0;
    this.transfer = { snapshot, offset: 0, idleTicks: 0 };
  }

  /** Records a successful append up to `index`; returns whether the match moved. */
  acknowledge(index: number): boolean {
    while (this.inflight.length > 0 && (this.inflight[0] as number) <= index) this.inflight.shift();
    if (index <= this.match) return false;
    this.match = index;
    if (this.next <= index) this.next = index + 1;
    return true;
  }

  /**
   * Called at each heartbeat: counts consecutive intervals in which the follower answered, appends were outstanding
   * in replicate state, and yet its match did not move (so those appends were lost); returns that count.
   */
  stalledHeartbeat(): number {
    const stalled =
      this.state === 'replicate' &&
      this.heardSinceHeartbeat &&
      this.next - 1 > this.match &&
      this.match === this.matchAtHeartbeat;
    this.stalledHeartbeats = stalled ? this.stalledHeartbeats + 1 : 0;
    this.matchAtHeartbeat = this.match;
    this.heardSinceHeartbeat = false;
    return this.stalledHeartbeats;
  }

  /** Whether another append may be sent now. */
  canSend(maxInflight: number): boolean {
    if (this.state === 'probe') return !this.probeSent;
    if (this.state === 'replicate') return this.inflight.length < maxInflight;
    return false;
  }
}
