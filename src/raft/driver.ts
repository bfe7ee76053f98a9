// The one Raft driver: the Ready loop (persist -> send -> apply -> advance), proposals, reads, membership and
// snapshots, over whatever disk, network and scheduler it is given (driver-ports.ts). node.ts runs it with level and
// gRPC; the simulator (src/sim/raft-cluster.ts) with in-memory ones on virtual time, so both run this same code.
import type { Rng } from '../util/rng.js';
import { applyConfChange, confChangeProblem, decodeConfChange } from './conf.js';
import type { RaftCore } from './core.js';
import type { RaftLogStore, RaftScheduler, RaftTransport, WriteDone } from './driver-ports.js';
import {
  ConfChangeInProgressError,
  InvalidConfChangeError,
  LeadershipTransferError,
  MemberNotFoundError,
  NodeClosedError,
  ProposalDroppedError,
  RaftNotLeaderError,
} from './errors.js';
import type { MemberReplication, ProposalResult, RaftNodeApi, RaftStatus } from './node-api.js';
import { checkReconfigSafety } from './reconfig-safety.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ReadState,
  Ready,
  RestoreJob,
  Snapshot,
  SnapshotJob,
  SnapshotMeta,
  StateMachine,
} from './types.js';

/** How far apart the nodes' snapshot thresholds are drawn: up to 50% above the configured ones. */
export const SNAPSHOT_STAGGER = 0.5;

/** What a driver is built from. */
export interface RaftDriverOptions {
  readonly core: RaftCore;
  readonly stateMachine: StateMachine;
  readonly storage: RaftLogStore;
  readonly transport: RaftTransport;
  readonly scheduler: RaftScheduler;
  /** What the node restarted from: the hard state on disk, and the index, term and membership of its snapshot. */
  readonly restored: {
    readonly hardState: HardState;
    readonly snapshotIndex: number;
    readonly snapshotTerm: number;
    readonly conf: ConfState;
    /** The size of that snapshot's image, in bytes (0 or absent: none). */
    readonly snapshotBytes?: number;
  };
  /** Take a snapshot and compact the log every this many applied entries (Infinity: never). */
  readonly snapshotEveryEntries: number;
  /**
   * Also take one once the entries applied since the last snapshot carry this many bytes, or as many as that
   * snapshot's image if it was larger (absent: never). An entry is a batch of commands, so counting entries alone let
   * a log of 100,000 acquires in a few hundred entries go unsnapshotted, and every restart replayed all of it
   * (issue 13). Never taking one before the log since the last has grown as large as its image keeps the snapshots'
   * work no larger than the log's, and a restart's replay no longer than the image or this bound.
   */
  readonly snapshotLogBytes?: number;
  /**
   * Staggers this node's snapshots: after each one, both thresholds above are scaled by a factor drawn from
   * [1, 1 + SNAPSHOT_STAGGER) (absent: 1, every node snapshotting at the same index).
   */
  readonly snapshotStaggerRng?: Rng;
  /** Entries applied before yielding to the scheduler, so timers stay on time under a long backlog. */
  readonly applyChunkEntries: number;
  /** A chunk also ends once it has taken this long by the scheduler's clock (when it has one), in ms. */
  readonly applySliceMs: number;
  /** How long a leadership transfer may take before transferLeadership() rejects, ms. */
  readonly transferTimeoutMs: number;
  /** Addresses of peers known before the log names them (a joining node's contacts). */
  readonly knownPeers?: Readonly<Record<NodeId, string>>;
  /** Called once when the disk (or the state machine) fails; the driver has stopped and the owner closes the rest. */
  readonly onFatal: (error: unknown) => void;
  /** The simulator's view into the loop, for its safety checks; production passes none. */
  readonly observer?: RaftDriverObserver;
}

/** Hooks the simulator checks Raft's invariants through; each is called synchronously, inside the loop. */
export interface RaftDriverObserver {
  /** A Ready was taken from the core, before any of it is written. */
  readyTaken?(ready: Ready): void;
  /** An entry was applied (`result` is the state machine's for a normal entry, undefined otherwise). */
  entryApplied?(entry: Entry, result: unknown): void;
  /** A snapshot from the leader replaced the state machine's state. */
  snapshotRestored?(snapshot: Snapshot): void;
  /** The core answered a ReadIndex round. */
  readState?(read: ReadState): void;
  /** The loop handled every Ready the core had (it may run again on the next message or tick). */
  settled?(): void;
}

/** A proposal or membership change waiting for its entry to be applied. */
interface PendingProposal {
  readonly index: number;
  readonly term: number;
  readonly resolve: (result: ProposalResult) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

/** A read barrier waiting for its ReadState, then for the node to apply up to the read index. */
interface PendingRead {
  index: number | null;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** A local snapshot being packed (in slices) or written; at most one at a time. */
interface SnapshotInFlight {
  readonly meta: SnapshotMeta;
  /** `appliedBytes` at `meta.index`. */
  readonly atBytes: number;
  readonly job: SnapshotJob;
  /** Its image is being written (storage.compact has it). */
  writing: boolean;
  /** Abandoned while being written: the write finishes, and nothing is compacted. */
  abandoned: boolean;
}

/** What the server sees of a node, less what only a process has (its data directory, event loop and close). */
export type RaftDriverApi = Omit<RaftNodeApi, 'clusterId' | 'eventLoopDelayMs' | 'eventLoopStallMs' | 'close'>;

/**
 * Drives one RaftCore. readBarrier() runs ReadIndex on the leader only; a follower rejects with RaftNotLeaderError
 * naming the leader (reads are not forwarded). The owner feeds it ticks (tick()) and received messages (step()).
 */
export class RaftDriver implements RaftDriverApi {
  readonly id: NodeId;
  private readonly core: RaftCore;
  private readonly pending = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private readonly statusListeners = new Set<(status: RaftStatus) => void>();
  private readonly idleWaiters: (() => void)[] = [];
  private appliedIndex: number;
  private appliedTerm: number;
  /** Membership as of the applied index (what a snapshot at that index records). */
  private appliedConf: ConfState;
  private snapshotIndex: number;
  /** Bytes of the entries applied since this node started (or installed a leader's snapshot). */
  private appliedBytes = 0;
  /** `appliedBytes` at the latest snapshot's index, and the size of its image. */
  private snapshotAtBytes = 0;
  private snapshotBytes: number;
  /** This node's factor on the snapshot thresholds until its next snapshot (1 without a stagger). */
  private snapshotStagger = 1;
  private persistedHardState: HardState;
  private peersConf: ConfState | null = null;
  private lastStatus: RaftStatus;
  private readSeq = 0;
  /** A drain is due on the scheduler. */
  private scheduled = false;
  /** A drain is running on the stack (a write that completes at once continues it rather than starting another). */
  private draining = false;
  /** A Ready is being handled (its write or its apply may be in flight); the next one waits. */
  private busy = false;
  /** The local snapshot being packed or written while Readies go on (docs/design.md, "Snapshots"). */
  private snapshotInFlight: SnapshotInFlight | null = null;
  /**
   * Committed entries handed out by Readies and not yet applied, oldest first, from `applyHead` on. They are applied
   * in bounded chunks between turns while later Readies go on: a long apply (a thousand sessions closing with
   * 100,000 locks is about a second of it) held the next Ready, and with it the leader's heartbeats, until a
   * follower's election timeout passed (etcd applies asynchronously for the same reason).
   */
  private toApply: Entry[] = [];
  private applyHead = 0;
  /** A chunk of `toApply` is due on the scheduler, or running (an entry's listeners may hand out more). */
  private applyScheduled = false;
  /** Waiting for `toApply` to be empty (a snapshot from the leader is installed only then). */
  private readonly appliedWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: RaftDriverOptions) {
    this.core = options.core;
    this.id = options.core.id;
    this.appliedIndex = options.restored.snapshotIndex;
    this.appliedTerm = options.restored.snapshotTerm;
    this.snapshotIndex = options.restored.snapshotIndex;
    this.snapshotBytes = options.restored.snapshotBytes ?? 0;
    this.drawSnapshotStagger();
    this.appliedConf = options.restored.conf;
    this.persistedHardState = options.restored.hardState;
    this.syncPeers();
    this.lastStatus = this.status();
    this.schedule();
  }

  /** One tick of the core's logical clock. */
  tick(): void {
    if (this.closed) return;
    this.core.tick();
    this.schedule();
  }

  /** A message received from a peer. */
  step(message: Message): void {
    if (this.closed) return;
    this.core.step(message);
    this.schedule();
  }

  /** The transport could not reach `peer` (or dropped a message to it), so the core may retry (snapshots). */
  reportUnreachable(peer: NodeId): void {
    if (!this.closed) this.core.reportUnreachable(peer);
  }

  /**
   * Runs `action` on the core and handles what it produced: the simulator's clients and fault schedule act on the
   * core directly (raw proposals, ReadIndex rounds, transfers) and its checks read it.
   */
  act<T>(action: (core: RaftCore) => T): T {
    const result = action(this.core);
    this.schedule();
    return result;
  }

  /**
   * Appends `data` on the leader and resolves with the state machine's result once the entry is applied here.
   * Rejects with RaftNotLeaderError when this node is not the leader or the entry was overwritten by another term,
   * ProposalDroppedError when a snapshot from a new leader covered it (outcome unknown). An entry left behind by
   * a deposed leader settles only when the log reaches its index again, so callers pass a `signal` with a deadline.
   */
  propose<T = unknown>(data: Uint8Array, options?: { signal?: AbortSignal }): Promise<ProposalResult<T>> {
    return this.track(() => this.core.propose(data), options?.signal) as Promise<ProposalResult<T>>;
  }

  readBarrier(options?: { signal?: AbortSignal }): Promise<void> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    if (this.core.role !== 'leader') return Promise.reject(this.notLeader());
    const context = `${this.id}:${++this.readSeq}`;
    return new Promise<void>((resolve, reject) => {
      const signal = options?.signal;
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        this.reads.delete(context);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.reads.set(context, {
        index: null,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      this.core.readIndex(context);
      this.schedule();
    });
  }

  async addLearner(id: NodeId, address: string): Promise<void> {
    await this.changeMembership({ kind: 'add-learner', id, address });
  }

  async addVoter(id: NodeId, address: string): Promise<void> {
    await this.changeMembership({ kind: 'add-voter', id, address });
  }

  async promote(id: NodeId): Promise<void> {
    await this.changeMembership({ kind: 'promote', id });
  }

  async remove(id: NodeId, options: { force?: boolean } = {}): Promise<void> {
    await this.changeMembership({ kind: 'remove', id }, options);
  }

  /** Resolves once `to` is the leader; rejects when the transfer cannot start or has not finished in time. */
  transferLeadership(to: NodeId): Promise<void> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    if (this.core.role !== 'leader') return Promise.reject(this.notLeader());
    if (this.core.leader === to) return Promise.resolve();
    const conf = this.core.conf;
    if (!conf.voters.includes(to)) {
      if (!conf.learners.includes(to)) {
        return Promise.reject(new MemberNotFoundError(to, [...conf.voters, ...conf.learners]));
      }
      return Promise.reject(
        new InvalidConfChangeError(
          `${to} is a learner and cannot lead; promote it first (forelock members promote ${to})`,
        ),
      );
    }
    if (!this.core.transferLeadership(to)) {
      return Promise.reject(new LeadershipTransferError(`cannot transfer leadership to ${to}: it is not a voter`));
    }
    this.schedule();
    const timeoutMs = this.options.transferTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const cancelTimeout = this.options.scheduler.after(timeoutMs, () => {
        unsubscribe();
        reject(new LeadershipTransferError(`leadership did not move to ${to} within ${timeoutMs} ms`));
      });
      const unsubscribe = this.onStatusChange((status) => {
        if (status.leaderId !== to) return;
        cancelTimeout();
        unsubscribe();
        resolve();
      });
    });
  }

  status(): RaftStatus {
    const leaderId = this.core.leader;
    return {
      id: this.id,
      role: this.core.role,
      term: this.core.term,
      leaderId,
      leaderAddress: leaderId === null ? null : (this.core.conf.addresses[leaderId] ?? null),
      commitIndex: this.core.commitIndex,
      appliedIndex: this.appliedIndex,
      conf: this.core.conf,
      ...(this.core.role === 'leader' ? { replication: this.replication() } : {}),
    };
  }

  /**
   * On the leader, the members it heard from within the last election timeout, itself included: what safe
   * reconfiguration counts as started. Empty on other nodes.
   */
  startedMembers(): ReadonlySet<NodeId> {
    return this.core.activeMembers();
  }

  /** The current membership (the latest configuration in the log, applied or not). */
  get conf(): ConfState {
    return this.core.conf;
  }

  /**
   * The state machine's image at the applied index (with that index, its term and membership), captured now and
   * packed in slices as a local snapshot is (docs/design.md, "Snapshots"), beside anything else in flight.
   */
  captureSnapshot(): Promise<Snapshot> {
    const meta = { index: this.appliedIndex, term: this.appliedTerm, conf: this.appliedConf };
    const job = this.snapshotJob();
    return new Promise<Snapshot>((resolve, reject) => {
      const step = (): void => {
        if (this.closed) {
          job.cancel();
          reject(new NodeClosedError());
          return;
        }
        try {
          const data = job.step();
          if (data === undefined) this.options.scheduler.soon(step);
          else resolve({ meta, data });
        } catch (error) {
          job.cancel();
          reject(error);
        }
      };
      step();
    });
  }

  /** The state machine's sliced snapshot, or one that packs it at once for a machine without slices. */
  private snapshotJob(): SnapshotJob {
    const stateMachine = this.options.stateMachine;
    return (
      stateMachine.beginSnapshot?.() ?? {
        step: () => stateMachine.snapshot(),
        cancel: () => {},
      }
    );
  }

  onStatusChange(listener: (status: RaftStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => {
      this.statusListeners.delete(listener);
    };
  }

  /** Stops the loop and the transport; pending proposals and reads fail with NodeClosedError. Idempotent. */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.transport.close();
    // Committed entries not yet applied are dropped: a restart applies them again from the log.
    this.toApply = [];
    this.applyHead = 0;
    this.failPending(() => new NodeClosedError());
  }

  /** Resolves once no Ready is being handled and no snapshot written (after stop(): once in-flight writes finished). */
  whenIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** On the leader: each member's match index, how far it lags the log, and whether it answered lately. */
  private replication(): MemberReplication[] {
    const { voters, learners } = this.core.conf;
    const lastIndex = this.core.lastIndex;
    const reachable = this.core.activeMembers();
    return [...voters, ...learners].map((id) => {
      const matchIndex = this.core.matchIndex(id) ?? 0;
      return { id, matchIndex, lagEntries: Math.max(0, lastIndex - matchIndex), reachable: reachable.has(id) };
    });
  }

  /** Proposes through `propose` (the core call) and tracks the entry until it is applied. */
  private track(
    propose: () => { index: number; term: number } | null,
    signal: AbortSignal | undefined,
    onRejected: () => Error = () => this.notLeader(),
  ): Promise<ProposalResult> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    const position = propose();
    if (position === null) return Promise.reject(onRejected());
    this.schedule();
    const { index, term } = position;
    return new Promise<ProposalResult>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      if (signal !== undefined) {
        onAbort = () => {
          this.pending.delete(index);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.pending.set(index, { index, term, resolve, reject, signal, onAbort });
    });
  }

  /** Settles a tracked proposal: with the apply result, or with `error`. */
  private settle(proposal: PendingProposal, outcome: { result: unknown } | { error: unknown }): void {
    if (proposal.onAbort !== undefined) proposal.signal!.removeEventListener('abort', proposal.onAbort);
    if ('error' in outcome) proposal.reject(outcome.error);
    else proposal.resolve({ index: proposal.index, term: proposal.term, result: outcome.result });
  }

  private async changeMembership(change: ConfChange, options: { force?: boolean } = {}): Promise<void> {
    if (this.core.role === 'leader') {
      const core = this.core;
      checkReconfigSafety(
        {
          conf: core.conf,
          active: this.startedMembers(),
          lastIndex: core.lastIndex,
          matchIndex: (id) => core.matchIndex(id),
        },
        change,
        options,
      );
      const problem = confChangeProblem(this.core.conf, change);
      if (problem !== null) throw new InvalidConfChangeError(problem);
    }
    await this.track(
      () => this.core.proposeConfChange(change),
      undefined,
      () => (this.core.role === 'leader' ? new ConfChangeInProgressError() : this.notLeader()),
    );
  }

  private notLeader(): RaftNotLeaderError {
    const leaderId = this.core.leader === this.id ? null : this.core.leader;
    return new RaftNotLeaderError(leaderId, leaderId === null ? null : (this.core.conf.addresses[leaderId] ?? null));
  }

  /** Runs the Ready loop soon (after the callbacks already due, so concurrent proposals share one Ready). */
  private schedule(): void {
    if (this.scheduled || this.closed || this.busy) return;
    this.scheduled = true;
    this.options.scheduler.soon(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Handles Readies one at a time until the core has none, or one is waiting for its write. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.closed && !this.busy && this.core.hasReady()) {
        const ready = this.core.ready();
        this.busy = true;
        this.guard(() => {
          this.options.observer?.readyTaken?.(ready);
          this.handleReady(ready);
        });
      }
    } finally {
      this.draining = false;
    }
    if (!this.busy) this.settledAndIdle();
  }

  /** No Ready in hand: once every handed-out entry is applied too, the loop has settled (the simulator checks then). */
  private settledAndIdle(): void {
    if (!this.closed && this.applyHead >= this.toApply.length) this.options.observer?.settled?.();
    this.notifyIdle();
  }

  /**
   * Raft's Ready contract: persist, send, hand the committed entries to the apply queue, then advance. A leader whose
   * term and vote are already durable sends appends while its own write is in flight (Raft thesis §10.2.1): the core
   * counts the leader's entries toward a quorum only once advance() says they are durable. Its committed entries are
   * durable already for that same reason, so they are queued (and start being applied) at once. The queue is applied
   * in chunks between turns, and the next Ready does not wait for it: only a snapshot from the leader does.
   */
  private handleReady(ready: Ready): void {
    const hard = ready.hardState;
    const termAndVoteDurable =
      hard === undefined ||
      (hard.term === this.persistedHardState.term && hard.votedFor === this.persistedHardState.votedFor);
    if (this.core.role === 'leader' && termAndVoteDurable) {
      this.send(ready);
      this.enqueueApply(ready.committedEntries);
      this.persist(ready, () => this.finishReady(ready));
    } else {
      this.persist(ready, () => {
        this.send(ready);
        const apply = () => {
          this.enqueueApply(ready.committedEntries);
          this.finishReady(ready);
        };
        const snapshot = ready.snapshot;
        // The snapshot replaces the state those entries lead to: every entry handed out before it is applied first.
        if (snapshot !== undefined) this.whenApplied(() => this.restoreSnapshot(snapshot, apply));
        else apply();
      });
    }
  }

  /** After a Ready's write and apply: answer reads, advance the core, follow membership and leadership, compact. */
  private finishReady(ready: Ready): void {
    for (const readState of ready.readStates) {
      this.options.observer?.readState?.(readState);
      const read = this.reads.get(readState.context);
      if (read !== undefined) read.index = readState.index;
    }
    this.resolveReads();
    this.core.advance(ready);
    this.syncPeers();
    this.emitStatus();
    this.maybeSnapshot();
    this.readyDone();
  }

  /** Takes a local snapshot of the applied state when one is due and none is in flight. */
  private maybeSnapshot(): void {
    if (this.snapshotInFlight === null && this.snapshotDue()) this.beginSnapshot();
  }

  /** The Ready in hand is finished: take the next one (at once, when this ran inside a drain). */
  private readyDone(): void {
    this.busy = false;
    this.drain();
  }

  /** Writes what `ready` asks to persist, then runs `next` (unless the driver stopped meanwhile). */
  private persist(ready: Ready, next: () => void): void {
    if (ready.hardState === undefined && ready.entries.length === 0 && ready.snapshot === undefined) {
      next();
      return;
    }
    this.options.storage.persist(
      ready,
      this.continuation(() => {
        if (ready.hardState !== undefined) this.persistedHardState = ready.hardState;
        next();
      }),
    );
  }

  /** A write's completion: a failure is fatal, a stop meanwhile ends the loop, otherwise `next` runs. */
  private continuation(next: () => void): WriteDone {
    return (error) => {
      if (error !== undefined) {
        this.fail(error);
        this.notifyIdle();
      } else if (this.closed) this.notifyIdle();
      else this.guard(next);
    };
  }

  private send(ready: Ready): void {
    if (ready.messages.length > 0) this.options.transport.send(ready.messages);
  }

  /**
   * Installs a snapshot from the leader, in slices when the state machine can (the Ready waits, the loop does not),
   * then runs `next`. A local snapshot still in flight is of the state being replaced: it is abandoned.
   */
  private restoreSnapshot(snapshot: Snapshot, next: () => void): void {
    this.endSnapshot();
    const stateMachine = this.options.stateMachine;
    const job: RestoreJob = stateMachine.beginRestore?.(snapshot.data) ?? {
      step: () => {
        stateMachine.restore(snapshot.data);
        return true;
      },
      cancel: () => {},
    };
    const step = (): void => {
      if (this.closed) {
        job.cancel();
        this.notifyIdle();
      } else if (job.step()) {
        this.restoredSnapshot(snapshot);
        next();
      } else this.options.scheduler.soon(() => this.guard(step));
    };
    step();
  }

  /** The state machine holds `snapshot`'s state: the driver's position follows, and proposals it covered fail. */
  private restoredSnapshot(snapshot: Snapshot): void {
    this.appliedIndex = snapshot.meta.index;
    this.appliedTerm = snapshot.meta.term;
    this.appliedConf = snapshot.meta.conf;
    this.snapshotIndex = snapshot.meta.index;
    this.snapshotAtBytes = this.appliedBytes;
    this.snapshotBytes = snapshot.data.length;
    this.drawSnapshotStagger();
    this.options.observer?.snapshotRestored?.(snapshot);
    for (const [index, proposal] of this.pending) {
      if (index > snapshot.meta.index) continue;
      this.pending.delete(index);
      this.settle(proposal, {
        error: new ProposalDroppedError(
          `entry ${index} was covered by a snapshot from the leader; its outcome is unknown`,
        ),
      });
    }
  }

  /** Queues a Ready's committed entries and applies the first chunk now (the rest between turns). */
  private enqueueApply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    for (const entry of entries) this.toApply.push(entry);
    if (!this.applyScheduled) this.applyChunk();
  }

  /**
   * Applies the next chunk of `toApply`: at most `applyChunkEntries` entries, and no more once `applySliceMs` has
   * passed (by the scheduler's clock, when it has one: the simulator's virtual clock does not move within a turn).
   * Then the next chunk after the callbacks already due (a Ready with heartbeats among them), or, once none is left,
   * whoever waited for the entries to be applied.
   */
  private applyChunk(): void {
    this.applyScheduled = true;
    if (this.closed) {
      this.applyScheduled = false;
      this.toApply = [];
      this.applyHead = 0;
      this.resolveIdle();
      return;
    }
    if (this.applyHead >= this.toApply.length) {
      this.applyScheduled = false;
      this.resolveIdle();
      return;
    }
    const clock = this.options.scheduler.now;
    const startedMs = clock?.() ?? 0;
    const end = Math.min(this.applyHead + this.options.applyChunkEntries, this.toApply.length);
    while (this.applyHead < end) {
      this.applyEntry(this.toApply[this.applyHead++]!);
      if (clock !== undefined && clock() - startedMs >= this.options.applySliceMs) break;
    }
    this.resolveReads();
    this.maybeSnapshot();
    if (this.applyHead < this.toApply.length) {
      // Under a steady stream the queue may never empty: drop the applied prefix now and then.
      if (this.applyHead >= 4_096 && this.applyHead * 2 >= this.toApply.length) {
        this.toApply = this.toApply.slice(this.applyHead);
        this.applyHead = 0;
      }
      this.options.scheduler.soon(() => this.guard(() => this.applyChunk()));
      return;
    }
    this.applyScheduled = false;
    this.toApply = [];
    this.applyHead = 0;
    for (const next of this.appliedWaiters.splice(0)) this.guard(next);
    if (!this.busy) this.settledAndIdle();
  }

  /** Runs `next` once every entry handed out so far is applied (now, when none is left). */
  private whenApplied(next: () => void): void {
    if (!this.applyScheduled) next();
    else this.appliedWaiters.push(next);
  }

  private applyEntry(entry: Entry): void {
    if (entry.index <= this.appliedIndex) return;
    let result: unknown;
    if (entry.type === 'normal') result = this.options.stateMachine.apply(entry);
    else if (entry.type === 'conf-change') {
      this.appliedConf = applyConfChange(this.appliedConf, decodeConfChange(entry.data));
    }
    this.appliedIndex = entry.index;
    this.appliedTerm = entry.term;
    this.appliedBytes += entry.data.length;
    this.options.observer?.entryApplied?.(entry, result);
    const proposal = this.pending.get(entry.index);
    if (proposal === undefined) return;
    this.pending.delete(entry.index);
    this.settle(proposal, proposal.term === entry.term ? { result } : { error: this.notLeader() });
  }

  private resolveReads(): void {
    for (const [context, read] of this.reads) {
      if (read.index === null || read.index > this.appliedIndex) continue;
      this.reads.delete(context);
      read.resolve();
    }
  }

  /**
   * Takes a snapshot of the state as of the applied index, without holding up the loop (docs/design.md,
   * "Snapshots"): the state machine packs it in slices between which Readies go on being handled (entries committed
   * and applied), then it is written while they go on too; the log is compacted only once the write is durable.
   * A state machine without slices packs it here, at once.
   */
  private beginSnapshot(): void {
    const job = this.snapshotJob();
    const meta = { index: this.appliedIndex, term: this.appliedTerm, conf: this.appliedConf };
    const inFlight: SnapshotInFlight = { meta, atBytes: this.appliedBytes, job, writing: false, abandoned: false };
    this.snapshotInFlight = inFlight;
    this.stepSnapshot(inFlight);
  }

  /**
   * Whether to take a snapshot now: every `snapshotEveryEntries` entries, or once the entries applied since the last
   * one carry `snapshotLogBytes`, or its image's size if larger.
   */
  private snapshotDue(): boolean {
    const stagger = this.snapshotStagger;
    if (this.appliedIndex - this.snapshotIndex >= this.options.snapshotEveryEntries * stagger) return true;
    const logBytes = this.options.snapshotLogBytes;
    return (
      logBytes !== undefined &&
      this.appliedIndex > this.snapshotIndex &&
      this.appliedBytes - this.snapshotAtBytes >= Math.max(logBytes, this.snapshotBytes) * stagger
    );
  }

  /**
   * Draws the factor on the snapshot thresholds until the next snapshot. Every node applies the same entries, so
   * with fixed thresholds all of them packed and wrote the same image at once: on a 3-node cluster holding 100,000
   * locks, the three 19 MB snapshots of one fill stalled commits for about 2 s (both followers busy at the same
   * moment, on the same disk). Drawn apart, at most one node's snapshot usually overlaps a quorum's work
   * (hashicorp/raft staggers its snapshot checks the same way).
   */
  private drawSnapshotStagger(): void {
    const rng = this.options.snapshotStaggerRng;
    this.snapshotStagger = rng === undefined ? 1 : 1 + SNAPSHOT_STAGGER * rng.next();
  }

  /** Packs one slice of `inFlight`, then the next one soon, then writes the image. */
  private stepSnapshot(inFlight: SnapshotInFlight): void {
    if (this.snapshotInFlight !== inFlight) return;
    if (this.closed) {
      this.endSnapshot();
      return;
    }
    const data = inFlight.job.step();
    if (data === undefined) {
      this.options.scheduler.soon(() => this.guard(() => this.stepSnapshot(inFlight)));
      return;
    }
    const { meta } = inFlight;
    inFlight.writing = true;
    this.options.storage.compact(meta, data, (error) => {
      this.snapshotInFlight = null;
      if (error !== undefined) this.fail(error);
      else if (!this.closed && !inFlight.abandoned && meta.index > this.snapshotIndex) {
        // Never behind a snapshot from the leader installed meanwhile (which abandons this one as well).
        this.guard(() => {
          this.core.compact(meta.index, data);
          this.snapshotIndex = meta.index;
          this.snapshotAtBytes = inFlight.atBytes;
          this.snapshotBytes = data.length;
          this.drawSnapshotStagger();
        });
      }
      this.resolveIdle();
    });
  }

  /**
   * Abandons the local snapshot in flight, if any: its slices stop; a write already started finishes (the storage
   * keeps whichever snapshot is newer) and compacts nothing.
   */
  private endSnapshot(): void {
    const inFlight = this.snapshotInFlight;
    if (inFlight === null) return;
    inFlight.job.cancel();
    if (inFlight.writing) {
      inFlight.abandoned = true;
      return;
    }
    this.snapshotInFlight = null;
    this.resolveIdle();
  }

  /** Points the transport at the current members (plus the known contacts of a joining node). */
  private syncPeers(): void {
    const conf = this.core.conf;
    if (conf === this.peersConf) return;
    this.peersConf = conf;
    this.options.transport.setPeers({ ...this.options.knownPeers, ...conf.addresses });
  }

  /** Tells listeners about a change of role, term or leader; a node that lost leadership fails its reads. */
  private emitStatus(): void {
    const status = this.status();
    const last = this.lastStatus;
    if (status.role === last.role && status.term === last.term && status.leaderId === last.leaderId) return;
    this.lastStatus = status;
    if (status.role !== 'leader') {
      for (const [context, read] of this.reads) {
        this.reads.delete(context);
        read.reject(this.notLeader());
      }
    }
    for (const listener of this.statusListeners) listener(status);
  }

  /** Runs `step`; anything it throws stops the driver and goes to onFatal. */
  private guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.fail(error);
    }
  }

  /** The disk or the state machine failed: stop (an unknown disk state must not go on) and tell the owner once. */
  private fail(error: unknown): void {
    if (this.closed) return;
    this.stop();
    this.options.onFatal(error);
  }

  /** No Ready is being handled, no committed entry waits to be applied, and no local snapshot is in flight. */
  private idle(): boolean {
    return !this.busy && this.applyHead >= this.toApply.length && this.snapshotInFlight === null;
  }

  private notifyIdle(): void {
    this.busy = false;
    this.resolveIdle();
  }

  private resolveIdle(): void {
    if (!this.idle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private failPending(error: () => Error): void {
    for (const proposal of this.pending.values()) this.settle(proposal, { error: error() });
    this.pending.clear();
    for (const read of this.reads.values()) read.reject(error());
    this.reads.clear();
  }
}
