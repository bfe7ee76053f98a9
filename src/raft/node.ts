// The Raft node driver: tick timer, Ready loop (persist -> send -> apply -> advance), proposals, reads, snapshots.
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { type Rng, randomRng } from '../util/rng.js';
import { deriveClusterId, randomClusterId } from './cluster-id.js';
import { applyConfChange, confChangeProblem, decodeConfChange } from './conf.js';
import { RaftCore } from './core.js';
import { DataDirLock } from './data-dir-lock.js';
import { DEFAULT_TICK_MS, defaultRaftConfig } from './defaults.js';
import {
  ConfChangeInProgressError,
  InvalidConfChangeError,
  LeadershipTransferError,
  MemberNotFoundError,
  NodeClosedError,
  ProposalDroppedError,
  RaftNotLeaderError,
} from './errors.js';
import { forceNewCluster } from './force-new-cluster.js';
import { checkIdentity, DATA_FORMAT_VERSION, type DataDirIdentity, readIdentity, writeIdentity } from './identity.js';
import type { MemberReplication, ProposalResult, RaftNodeApi, RaftStatus } from './node-api.js';
import { checkReconfigSafety } from './reconfig-safety.js';
import { LevelRaftStorage } from './storage.js';
import { type PeerAuthenticator, PeerTransport } from './transport.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  NodeId,
  RaftConfig,
  Ready,
  Snapshot,
  StateMachine,
} from './types.js';

/** How a node is started. */
export interface RaftNodeOptions {
  readonly id: NodeId;
  /** Directory for the level log and snapshot files (created when missing). */
  readonly dataDir: string;
  readonly stateMachine: StateMachine;
  /**
   * Membership used only on the very first start with an empty data dir: bootstrapConf() for a founding member,
   * joiningConf() for a node that waits to be added to an existing cluster. Later starts read it from storage.
   */
  readonly initialConf: ConfState;
  /** Overrides of the core's timing and limits (defaultRaftConfig otherwise). */
  readonly config?: Partial<Omit<RaftConfig, 'id'>>;
  /** Milliseconds per core tick. Default 100. */
  readonly tickMs?: number;
  /** Take a snapshot and compact the log every this many applied entries. Default 10,000. */
  readonly snapshotEveryEntries?: number;
  /** Entries applied before yielding to the event loop. Default 256. */
  readonly applyChunkEntries?: number;
  /**
   * The cluster id this start's founding flags derive (deriveClusterId of --peers and --cluster-token), checked
   * against the data directory's; null (the default) when the flags name no cluster (--join, or no --peers).
   */
  readonly foundingClusterId?: string | null;
  /**
   * Recovery from quorum loss (etcd's --force-new-cluster): before starting, make this node the only member of its
   * cluster, keeping every entry it has (all committed) and so its token counter. The others are added back later.
   */
  readonly forceNewCluster?: boolean;
  /** Told what --force-new-cluster changed, for the log. */
  readonly onForcedNewCluster?: (removed: readonly NodeId[], commitIndex: number) => void;
  /** The --cluster-token; a data directory of format 1 adopts the id derived from its membership and this token. */
  readonly clusterToken?: string;
  /** Addresses of peers known before the log names them (a joining node's contacts). */
  readonly knownPeers?: Readonly<Record<NodeId, string>>;
  /** Enables the transport's test-only fault hook. */
  readonly faultInjection?: boolean;
  /** Transport security of peer links (TLS credentials, certificate identities); default plaintext. */
  readonly peerAuthenticator?: PeerAuthenticator;
  /** Called when a peer stream is refused (another cluster, a non-member, a bad certificate); the caller logs it. */
  readonly onPeerRefused?: (peer: string, direction: 'inbound' | 'outbound', reason: string) => void;
  /** Randomness for election timeouts. Default: seeded from the system. */
  readonly rng?: Rng;
  /** Called once if storage fails; the node closes itself (it must not go on with an unknown disk state). */
  readonly onFatal?: (error: unknown) => void;
  /** Called after each synced write of the log (hard state, entries or snapshot) with how long it took, in seconds. */
  readonly onSyncedWrite?: (seconds: number) => void;
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

/** How often the event-loop delay percentile is sampled and reset. */
const EVENT_LOOP_SAMPLE_MS = 1_000;

/** The interval of monitorEventLoopDelay's timer, in ms. */
const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * How late the loop was, in ms, from a monitorEventLoopDelay percentile (ns). The histogram records the whole time
 * between two runs of its timer, the resolution included (an idle loop reads about 10 ms), so the resolution is
 * taken off: an idle loop reads about 0, as the SPM's load signal and the trace format expect.
 */
export function loopDelayBeyondResolutionMs(percentileNs: number, resolutionMs = EVENT_LOOP_RESOLUTION_MS): number {
  return Math.max(0, percentileNs / 1e6 - resolutionMs);
}

/**
 * The id of a cluster founded with `initialConf` and no founding flags (embedded and test clusters): every founder
 * of a multi-member cluster derives the same one from the members; a lone node gets a random one.
 */
function foundersClusterId(initialConf: ConfState, token: string): string {
  return initialConf.voters.length > 1 ? deriveClusterId(initialConf.addresses, token) : randomClusterId();
}

/**
 * A running Raft node: drives a RaftCore with real time, level storage and the gRPC peer transport.
 * Register `node.transport` on the process's grpc.Server with registerPeerService().
 *
 * readBarrier() runs ReadIndex on the leader only; a follower rejects with RaftNotLeaderError naming the leader
 * (reads are not forwarded).
 */
export class RaftNode implements RaftNodeApi {
  readonly id: NodeId;
  /** The peer transport; its service must be registered on the server that listens at this node's address. */
  readonly transport: PeerTransport;
  private readonly tickMs: number;
  private readonly snapshotEveryEntries: number;
  private readonly applyChunkEntries: number;
  private readonly pending = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private readonly statusListeners = new Set<(status: RaftStatus) => void>();
  private readonly loopDelay: IntervalHistogram;
  private readonly timers: NodeJS.Timeout[] = [];
  private appliedIndex: number;
  private appliedTerm: number;
  /** Membership as of the applied index (what a snapshot at that index records). */
  private appliedConf: ConfState;
  private snapshotIndex: number;
  private persistedHardState: HardState;
  private peersConf: ConfState | null = null;
  private lastStatus: RaftStatus;
  private readSeq = 0;
  private adoption: Promise<void> | null = null;
  private loopDelayMs = 0;
  private scheduled = false;
  private loop: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly options: RaftNodeOptions,
    private readonly core: RaftCore,
    private readonly storage: LevelRaftStorage,
    private readonly dataDirLock: DataDirLock,
    /** The data directory's identity: its cluster, member and format. */
    private currentIdentity: DataDirIdentity,
    restoredHardState: HardState,
    restoredConf: ConfState,
    restoredSnapshot: { index: number; term: number },
  ) {
    this.id = options.id;
    this.tickMs = options.tickMs ?? DEFAULT_TICK_MS;
    this.snapshotEveryEntries = options.snapshotEveryEntries ?? 10_000;
    this.applyChunkEntries = options.applyChunkEntries ?? 256;
    this.appliedIndex = restoredSnapshot.index;
    this.appliedTerm = restoredSnapshot.term;
    this.snapshotIndex = restoredSnapshot.index;
    this.appliedConf = restoredConf;
    this.persistedHardState = restoredHardState;
    this.transport = new PeerTransport({
      selfId: options.id,
      faultInjection: options.faultInjection,
      ...(options.peerAuthenticator === undefined ? {} : { authenticator: options.peerAuthenticator }),
      ...(options.onPeerRefused === undefined ? {} : { onRefused: options.onPeerRefused }),
      membership: {
        clusterId: () => this.currentIdentity.clusterId,
        adoptClusterId: (clusterId) => this.adoptClusterId(clusterId),
        isMember: (peer) => {
          const conf = this.core.conf;
          if (conf.voters.length === 0 && conf.learners.length === 0) return true;
          return conf.voters.includes(peer) || conf.learners.includes(peer);
        },
      },
      onMessage: (message) => {
        if (this.closed) return;
        this.core.step(message);
        this.schedule();
      },
      onUnreachable: (peer) => {
        if (!this.closed) this.core.reportUnreachable(peer);
      },
    });
    this.syncPeers();
    this.lastStatus = this.status();
    this.loopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    this.loopDelay.enable();
    this.timers.push(
      setInterval(() => {
        if (this.closed) return;
        this.core.tick();
        this.schedule();
      }, this.tickMs),
      setInterval(() => {
        this.loopDelayMs = loopDelayBeyondResolutionMs(this.loopDelay.percentile(99));
        this.loopDelay.reset();
      }, EVENT_LOOP_SAMPLE_MS),
    );
    for (const timer of this.timers) timer.unref();
  }

  /**
   * Locks `options.dataDir`, checks its identity against the options (member id, founding cluster id, data format),
   * opens the storage, restores the state machine from the latest snapshot, and starts. A data directory written
   * before identity.json existed is upgraded in place: it records this member's id and the cluster id derived from
   * its current membership.
   */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const lock = await DataDirLock.acquire(options.dataDir);
    let storage: LevelRaftStorage | undefined;
    try {
      const foundingId = options.foundingClusterId ?? null;
      const recorded = await readIdentity(options.dataDir);
      if (recorded !== null) checkIdentity(options.dataDir, recorded, { memberId: options.id, foundingId });
      storage = await LevelRaftStorage.open(options.dataDir);
      const wasBootstrapped = await storage.isBootstrapped();
      let restored = await storage.load(options.initialConf);
      if (options.forceNewCluster === true) {
        const forced = forceNewCluster(restored, options.id);
        await storage.persist({
          hardState: forced.hardState,
          entries: forced.entries,
          committedEntries: [],
          messages: [],
          readStates: [],
          mustSync: true,
        });
        options.onForcedNewCluster?.(forced.removed, forced.hardState.commit);
        restored = await storage.load(options.initialConf);
      }
      const config: RaftConfig = { ...defaultRaftConfig(options.id), ...options.config, id: options.id };
      const core = new RaftCore(config, restored, options.rng ?? randomRng());
      let identity = recorded;
      if (identity === null) {
        const joining = options.initialConf.voters.length === 0 && options.initialConf.learners.length === 0;
        identity = {
          formatVersion: DATA_FORMAT_VERSION,
          clusterId: wasBootstrapped
            ? deriveClusterId(core.conf.addresses, options.clusterToken ?? '')
            : (foundingId ?? (joining ? '' : foundersClusterId(options.initialConf, options.clusterToken ?? ''))),
          memberId: options.id,
          foundingId,
        };
        await writeIdentity(options.dataDir, identity);
      } else if (identity.formatVersion < DATA_FORMAT_VERSION) {
        identity = { ...identity, formatVersion: DATA_FORMAT_VERSION };
        await writeIdentity(options.dataDir, identity);
      }
      if (restored.snapshot !== null) options.stateMachine.restore(restored.snapshot.data);
      const snapshotMeta = restored.snapshot?.meta;
      const node = new RaftNode(
        options,
        core,
        storage,
        lock,
        identity,
        restored.hardState,
        snapshotMeta?.conf ?? restored.initialConf,
        { index: snapshotMeta?.index ?? 0, term: snapshotMeta?.term ?? 0 },
      );
      node.schedule();
      return node;
    } catch (error) {
      await storage?.close();
      await lock.release();
      throw error;
    }
  }

  /** The data directory's identity: its cluster, member and format. */
  get identity(): DataDirIdentity {
    return this.currentIdentity;
  }

  /**
   * A joining node takes the cluster id of the first member that reaches it (the leader adding it), recorded in
   * identity.json before any of that member's messages is delivered. A node that has an id keeps it.
   */
  private adoptClusterId(clusterId: string): Promise<void> {
    // The first caller's id is the one adopted; streams that raced it compare against it once this settles.
    this.adoption ??= (async () => {
      const adopted = { ...this.currentIdentity, clusterId };
      await writeIdentity(this.options.dataDir, adopted);
      this.currentIdentity = adopted;
    })();
    return this.adoption;
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

  /** Resolves once `to` is the leader; rejects when the transfer cannot start or has not finished in two election timeouts. */
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
    const timeoutMs =
      4 * (this.options.config?.electionTicks ?? defaultRaftConfig(this.id).electionTicks) * this.tickMs;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new LeadershipTransferError(`leadership did not move to ${to} within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = this.onStatusChange((status) => {
        if (status.leaderId !== to) return;
        clearTimeout(timer);
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

  /**
   * On the leader, the members it heard from within the last election timeout, itself included: what safe
   * reconfiguration counts as started. Empty on other nodes.
   */
  startedMembers(): ReadonlySet<NodeId> {
    return this.core.activeMembers();
  }

  get clusterId(): string {
    return this.identity.clusterId;
  }

  captureSnapshot(): Snapshot {
    return {
      meta: { index: this.appliedIndex, term: this.appliedTerm, conf: this.appliedConf },
      data: this.options.stateMachine.snapshot(),
    };
  }

  onStatusChange(listener: (status: RaftStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => {
      this.statusListeners.delete(listener);
    };
  }

  eventLoopDelayMs(): number {
    return this.loopDelayMs;
  }

  /** Stops timers and the transport, fails whatever is pending with NodeClosedError, and closes the storage. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stop();
    await this.loop;
    await this.storage.close();
    await this.dataDirLock.release();
  }

  /** Stops everything that moves; pending proposals and reads fail with NodeClosedError. */
  private stop(): void {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.loopDelay.disable();
    this.transport.close();
    this.failPending(() => new NodeClosedError());
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

  /** Runs the Ready loop soon (after the current I/O callbacks, so concurrent proposals share one Ready). */
  private schedule(): void {
    if (this.scheduled || this.closed || this.loop !== null) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.closed || this.loop !== null) return;
      this.loop = this.runReadyLoop().finally(() => {
        this.loop = null;
        if (!this.closed && this.core.hasReady()) this.schedule();
      });
    });
  }

  private async runReadyLoop(): Promise<void> {
    try {
      while (!this.closed && this.core.hasReady()) await this.handleReady(this.core.ready());
    } catch (error) {
      if (this.closed) return;
      this.stop();
      await this.storage.close().catch(() => {});
      await this.dataDirLock.release().catch(() => {});
      this.options.onFatal?.(error);
    }
  }

  /** Raft's Ready contract: persist, send, apply (in bounded chunks), then advance. */
  private async handleReady(ready: Ready): Promise<void> {
    const hard = ready.hardState;
    const termAndVoteDurable =
      hard === undefined ||
      (hard.term === this.persistedHardState.term && hard.votedFor === this.persistedHardState.votedFor);
    if (this.core.role === 'leader' && termAndVoteDurable) {
      // A leader whose term and vote are already durable sends appends while its own write is in flight (Raft
      // thesis §10.2.1): the core counts the leader's entries toward a quorum only once advance() says they are
      // durable. Its committed entries are durable already for that same reason, so they are applied (and their
      // proposers answered) while this Ready's new entries are being written.
      this.send(ready);
      const persisting = this.persist(ready);
      persisting.catch(() => {});
      await this.apply(ready.committedEntries);
      await persisting;
    } else {
      await this.persist(ready);
      this.send(ready);
      if (ready.snapshot !== undefined) this.restoreSnapshot(ready);
      await this.apply(ready.committedEntries);
    }
    for (const readState of ready.readStates) {
      const read = this.reads.get(readState.context);
      if (read !== undefined) read.index = readState.index;
    }
    this.resolveReads();
    this.core.advance(ready);
    this.syncPeers();
    this.emitStatus();
    if (this.appliedIndex - this.snapshotIndex >= this.snapshotEveryEntries) await this.takeSnapshot();
  }

  private async persist(ready: Ready): Promise<void> {
    if (ready.hardState === undefined && ready.entries.length === 0 && ready.snapshot === undefined) return;
    const startedAt = performance.now();
    await this.storage.persist(ready);
    if (ready.mustSync || ready.snapshot !== undefined) {
      this.options.onSyncedWrite?.((performance.now() - startedAt) / 1_000);
    }
    if (ready.hardState !== undefined) this.persistedHardState = ready.hardState;
  }

  private send(ready: Ready): void {
    if (ready.messages.length === 0) return;
    this.transport.send(ready.messages);
    this.transport.flush();
  }

  private restoreSnapshot(ready: Ready): void {
    const snapshot = ready.snapshot!;
    this.options.stateMachine.restore(snapshot.data);
    this.appliedIndex = snapshot.meta.index;
    this.appliedTerm = snapshot.meta.term;
    this.appliedConf = snapshot.meta.conf;
    this.snapshotIndex = snapshot.meta.index;
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

  /** Applies committed entries in chunks, yielding to the event loop between chunks so timers stay on time. */
  private async apply(entries: readonly Entry[]): Promise<void> {
    for (let start = 0; start < entries.length; start += this.applyChunkEntries) {
      if (start > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.closed) return;
      }
      const end = Math.min(start + this.applyChunkEntries, entries.length);
      for (let i = start; i < end; i++) this.applyEntry(entries[i]!);
      this.resolveReads();
    }
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

  private async takeSnapshot(): Promise<void> {
    const data = this.options.stateMachine.snapshot();
    const meta = { index: this.appliedIndex, term: this.appliedTerm, conf: this.appliedConf };
    await this.storage.compact(meta, data);
    this.core.compact(meta.index, data);
    this.snapshotIndex = meta.index;
  }

  /** Points the transport at the current members (plus the known contacts of a joining node). */
  private syncPeers(): void {
    const conf = this.core.conf;
    if (conf === this.peersConf) return;
    this.peersConf = conf;
    this.transport.setPeers({ ...this.options.knownPeers, ...conf.addresses });
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

  private failPending(error: () => Error): void {
    for (const proposal of this.pending.values()) this.settle(proposal, { error: error() });
    this.pending.clear();
    for (const read of this.reads.values()) read.reject(error());
    this.reads.clear();
  }
}
