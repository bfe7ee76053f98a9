// A Raft node in a process: the driver (driver.ts) on Node's timers, level storage and the gRPC peer transport, with
// the data directory's lock and identity, and the event loop's delay for the SPM.
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { RecentMax } from '../util/recent-max.js';
import { type Rng, randomRng } from '../util/rng.js';
import { deriveClusterId, randomClusterId } from './cluster-id.js';
import { RaftCore } from './core.js';
import { DataDirLock } from './data-dir-lock.js';
import {
  DEFAULT_APPLY_CHUNK_ENTRIES,
  DEFAULT_APPLY_SLICE_MS,
  DEFAULT_SNAPSHOT_LOG_BYTES,
  DEFAULT_TICK_MS,
  defaultRaftConfig,
  TRANSFER_TIMEOUT_ELECTIONS,
} from './defaults.js';
import { RaftDriver, type RaftDriverOptions } from './driver.js';
import { nodeScheduler, type RaftLogStore } from './driver-ports.js';
import { forceNewCluster } from './force-new-cluster.js';
import { checkIdentity, DATA_FORMAT_VERSION, type DataDirIdentity, readIdentity, writeIdentity } from './identity.js';
import type { ProposalResult, RaftNodeApi, RaftStatus } from './node-api.js';
import { LevelRaftStorage } from './storage.js';
import { type PeerAuthenticator, PeerTransport } from './transport.js';
import type { ConfState, NodeId, RaftConfig, Snapshot, StateMachine } from './types.js';

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
  /**
   * Also once the entries applied since the last snapshot carry this many bytes, or as many as its image if larger.
   * Default DEFAULT_SNAPSHOT_LOG_BYTES (8 MiB).
   */
  readonly snapshotLogBytes?: number;
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
  /** Randomness for election timeouts and the snapshot stagger. Default: seeded from the system. */
  readonly rng?: Rng;
  /** Called once if storage fails; the node closes itself (it must not go on with an unknown disk state). */
  readonly onFatal?: (error: unknown) => void;
  /** Called after each synced write of the log (hard state, entries or snapshot) with how long it took, in seconds. */
  readonly onSyncedWrite?: (seconds: number) => void;
}

/** How often the event-loop delay percentile is sampled and reset. */
const EVENT_LOOP_SAMPLE_MS = 1_000;

/** How long the longest event-loop stall is remembered for the stall metric, in ms (a minute). */
const EVENT_LOOP_STALL_SPAN_MS = 60_000;

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
 * A running Raft node: the Raft driver (driver.ts) with real time, level storage and the gRPC peer transport, plus
 * what only a process has: its data directory's lock and identity, and its event loop's delay.
 * Register `node.transport` on the process's grpc.Server with registerPeerService().
 *
 * readBarrier() runs ReadIndex on the leader only; a follower rejects with RaftNotLeaderError naming the leader
 * (reads are not forwarded).
 */
export class RaftNode implements RaftNodeApi {
  readonly id: NodeId;
  /** The peer transport; its service must be registered on the server that listens at this node's address. */
  readonly transport: PeerTransport;
  private readonly driver: RaftDriver;
  private readonly loopDelay: IntervalHistogram;
  private readonly timers: NodeJS.Timeout[] = [];
  private adoption: Promise<void> | null = null;
  private loopDelayMs = 0;
  /** The longest time the event loop was blocked (beyond the timer's resolution), per sampled second. */
  private readonly loopStalls = new RecentMax(EVENT_LOOP_STALL_SPAN_MS);
  private closed = false;

  private constructor(
    private readonly options: RaftNodeOptions,
    core: RaftCore,
    private readonly storage: LevelRaftStorage,
    private readonly dataDirLock: DataDirLock,
    /** The data directory's identity: its cluster, member and format. */
    private currentIdentity: DataDirIdentity,
    restored: RaftDriverOptions['restored'],
  ) {
    this.id = options.id;
    const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
    this.transport = new PeerTransport({
      selfId: options.id,
      faultInjection: options.faultInjection,
      ...(options.peerAuthenticator === undefined ? {} : { authenticator: options.peerAuthenticator }),
      ...(options.onPeerRefused === undefined ? {} : { onRefused: options.onPeerRefused }),
      membership: {
        clusterId: () => this.currentIdentity.clusterId,
        adoptClusterId: (clusterId) => this.adoptClusterId(clusterId),
        isMember: (peer) => {
          const conf = core.conf;
          if (conf.voters.length === 0 && conf.learners.length === 0) return true;
          return conf.voters.includes(peer) || conf.learners.includes(peer);
        },
      },
      onMessage: (message) => this.driver.step(message),
      onUnreachable: (peer) => this.driver.reportUnreachable(peer),
    });
    const transport = this.transport;
    this.driver = new RaftDriver({
      core,
      stateMachine: options.stateMachine,
      storage: levelLogStore(storage, options.onSyncedWrite),
      transport: {
        send: (messages) => {
          transport.send(messages);
          transport.flush();
        },
        setPeers: (addresses) => transport.setPeers(addresses),
        close: () => transport.close(),
      },
      scheduler: nodeScheduler,
      restored,
      snapshotEveryEntries: options.snapshotEveryEntries ?? 10_000,
      snapshotLogBytes: options.snapshotLogBytes ?? DEFAULT_SNAPSHOT_LOG_BYTES,
      snapshotStaggerRng: options.rng ?? randomRng(),
      applyChunkEntries: options.applyChunkEntries ?? DEFAULT_APPLY_CHUNK_ENTRIES,
      applySliceMs: DEFAULT_APPLY_SLICE_MS,
      transferTimeoutMs:
        TRANSFER_TIMEOUT_ELECTIONS *
        (options.config?.electionTicks ?? defaultRaftConfig(options.id).electionTicks) *
        tickMs,
      ...(options.knownPeers === undefined ? {} : { knownPeers: options.knownPeers }),
      onFatal: (error) => void this.closeAfterFatal(error),
    });
    this.loopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    this.loopDelay.enable();
    this.timers.push(
      setInterval(() => this.driver.tick(), tickMs),
      setInterval(() => {
        this.loopDelayMs = loopDelayBeyondResolutionMs(this.loopDelay.percentile(99));
        this.loopStalls.observe(performance.now(), loopDelayBeyondResolutionMs(this.loopDelay.max));
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
      return new RaftNode(options, core, storage, lock, identity, {
        hardState: restored.hardState,
        snapshotIndex: snapshotMeta?.index ?? 0,
        snapshotTerm: snapshotMeta?.term ?? 0,
        snapshotBytes: restored.snapshot?.data.length ?? 0,
        conf: snapshotMeta?.conf ?? restored.initialConf,
      });
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

  propose<T = unknown>(data: Uint8Array, options?: { signal?: AbortSignal }): Promise<ProposalResult<T>> {
    return this.driver.propose<T>(data, options);
  }

  readBarrier(options?: { signal?: AbortSignal }): Promise<void> {
    return this.driver.readBarrier(options);
  }

  addLearner(id: NodeId, address: string): Promise<void> {
    return this.driver.addLearner(id, address);
  }

  addVoter(id: NodeId, address: string): Promise<void> {
    return this.driver.addVoter(id, address);
  }

  promote(id: NodeId): Promise<void> {
    return this.driver.promote(id);
  }

  remove(id: NodeId, options: { force?: boolean } = {}): Promise<void> {
    return this.driver.remove(id, options);
  }

  /** Resolves once `to` is the leader; rejects when the transfer cannot start or has not finished in two election timeouts. */
  transferLeadership(to: NodeId): Promise<void> {
    return this.driver.transferLeadership(to);
  }

  status(): RaftStatus {
    return this.driver.status();
  }

  /**
   * On the leader, the members it heard from within the last election timeout, itself included: what safe
   * reconfiguration counts as started. Empty on other nodes.
   */
  startedMembers(): ReadonlySet<NodeId> {
    return this.driver.startedMembers();
  }

  get clusterId(): string {
    return this.identity.clusterId;
  }

  captureSnapshot(): Promise<Snapshot> {
    return this.driver.captureSnapshot();
  }

  onStatusChange(listener: (status: RaftStatus) => void): () => void {
    return this.driver.onStatusChange(listener);
  }

  eventLoopDelayMs(): number {
    return this.loopDelayMs;
  }

  eventLoopStallMs(): number {
    return this.loopStalls.max(performance.now()) ?? 0;
  }

  /** Stops timers and the transport, fails whatever is pending with NodeClosedError, and closes the storage. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stop();
    await this.driver.whenIdle();
    await this.storage.close();
    await this.dataDirLock.release();
  }

  /** Stops everything that moves; pending proposals and reads fail with NodeClosedError. */
  private stop(): void {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.loopDelay.disable();
    this.driver.stop();
  }

  /** The storage failed: the node must not go on with an unknown disk state, so it closes itself and says why. */
  private async closeAfterFatal(error: unknown): Promise<void> {
    if (this.closed) return;
    this.stop();
    await this.driver.whenIdle();
    await this.storage.close().catch(() => {});
    await this.dataDirLock.release().catch(() => {});
    this.options.onFatal?.(error);
  }
}

/** LevelRaftStorage as the driver's log store, timing each synced write for `onSyncedWrite`. */
function levelLogStore(storage: LevelRaftStorage, onSyncedWrite?: (seconds: number) => void): RaftLogStore {
  return {
    persist(ready, done) {
      const startedAt = performance.now();
      storage.persist(ready).then(() => {
        if (ready.mustSync || ready.snapshot !== undefined) onSyncedWrite?.((performance.now() - startedAt) / 1_000);
        done();
      }, done);
    },
    compact(meta, data, done) {
      storage.compact(meta, data).then(() => done(), done);
    },
  };
}
