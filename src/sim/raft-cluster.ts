// The simulator's harness: N Raft nodes, each the production driver (src/raft/driver.ts) over an in-memory disk that
// crashes can cut short and an in-memory transport, on a virtual clock; the safety invariants are checked throughout.

import { pack, unpack } from 'msgpackr';
import { RaftCore } from '../raft/core.js';
import { DEFAULT_APPLY_SLICE_MS, defaultRaftConfig, TRANSFER_TIMEOUT_ELECTIONS } from '../raft/defaults.js';
import { RaftDriver } from '../raft/driver.js';
import type { RaftLogStore, RaftScheduler } from '../raft/driver-ports.js';
import type { ConfState, Entry, Message, NodeId, RaftConfig, ReadState, StateMachine } from '../raft/types.js';
import { SeededRng } from '../util/rng.js';
import { type ApplyOutcome, DedupStateMachine } from './dedup-state-machine.js';
import { InmemTransport } from './inmem-transport.js';
import { InvariantViolation, RaftInvariants } from './raft-invariants.js';
import { RaftNetwork } from './raft-network.js';
import { SimulatedRaftStorage } from './raft-storage.js';
import { EventQueue } from './scenarios/event-queue.js';

/** Committed entries a simulated driver applies per chunk (see where the drivers are made). */
const SIM_APPLY_CHUNK_ENTRIES = 2;

/** How to build a simulated cluster. */
export interface SimClusterOptions {
  readonly seed: number;
  /** Founding voters, named node1..nodeN. */
  readonly voters: number;
  /** Extra nodes, outside the founding configuration, that membership changes may add. */
  readonly spares?: number;
  /** Overrides of the default core configuration. */
  readonly config?: Partial<Omit<RaftConfig, 'id'>>;
  /** Virtual milliseconds per tick. */
  readonly tickMs?: number;
  /** Time a synced write takes, ms (none when absent: writes complete at once). */
  readonly diskDelayMs?: readonly [number, number];
  /** Take a snapshot and compact the log every this many applied entries; no compaction when absent. */
  readonly compactEvery?: number;
  /**
   * The application each node's driver applies normal entries to (built anew at every start), instead of the
   * simulator's client-dedup machine, which then only counts entries for the invariants.
   */
  readonly application?: (id: NodeId) => StateMachine;
  /** Called each time a node starts (at construction and at every restart), with its new driver. */
  readonly onStarted?: (id: NodeId, driver: RaftDriver) => void;
  /** Every node begins down, for the caller to start with restart() once what `onStarted` needs exists. */
  readonly startStopped?: boolean;
}

/** One simulated server: its driver and core (null while crashed), its disk and its state machine. */
export interface SimNode {
  readonly id: NodeId;
  core: RaftCore | null;
  driver: RaftDriver | null;
  readonly storage: SimulatedRaftStorage;
  sm: DedupStateMachine;
  /** Crash right after persisting the next Ready, before anything else of it happens. */
  crashAfterNextPersist: boolean;
  /** Counts crashes: a write that completes after its node crashed is lost. */
  incarnation: number;
}

/** Called for every entry a node applies. */
export type ApplyListener = (node: NodeId, entry: Entry, outcome: ApplyOutcome) => void;
/** Called for every ReadState a node reports. */
export type ReadListener = (node: NodeId, read: ReadState) => void;

/**
 * Runs every node through the production RaftDriver (its Ready loop: persist, send, apply, advance, snapshots) with
 * an in-memory disk and transport in virtual time, and checks the safety invariants after every event.
 */
export class SimCluster {
  readonly rng: SeededRng;
  readonly network: RaftNetwork;
  readonly invariants = new RaftInvariants();
  readonly ids: readonly NodeId[];
  /** Log-mismatch rejections of appends received by leaders (fast backtracking keeps this small). */
  appendRejections = 0;
  private readonly queue = new EventQueue();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly applyListeners: ApplyListener[] = [];
  private readonly readListeners: ReadListener[] = [];
  private readonly tickMs: number;
  /** The event queue as the drivers' scheduler: "soon" is the same virtual instant, after what is already due. */
  private readonly scheduler: RaftScheduler = {
    soon: (action) => this.queue.at(this.queue.now, action),
    after: (delayMs, action) => {
      let cancelled = false;
      this.queue.at(this.queue.now + delayMs, () => {
        if (!cancelled) action();
      });
      return () => {
        cancelled = true;
      };
    },
  };

  constructor(private readonly options: SimClusterOptions) {
    this.rng = new SeededRng(options.seed);
    this.network = new RaftNetwork(this.rng.fork());
    this.tickMs = options.tickMs ?? 100;
    const total = options.voters + (options.spares ?? 0);
    this.ids = Array.from({ length: total }, (_, i) => `node${i + 1}`);
    const initialConf: ConfState = {
      voters: this.ids.slice(0, options.voters),
      learners: [],
      addresses: Object.fromEntries(this.ids.map((id) => [id, simNodeAddress(id)])),
    };
    for (const id of this.ids) {
      const node: SimNode = {
        id,
        core: null,
        driver: null,
        storage: new SimulatedRaftStorage(initialConf),
        sm: new DedupStateMachine(),
        crashAfterNextPersist: false,
        incarnation: 0,
      };
      this.nodes.set(id, node);
      if (options.startStopped !== true) this.restart(id);
      // Each node ticks on its own phase, as independent timers would.
      const tick = () => {
        if (node.driver !== null) {
          node.driver.tick();
          this.invariants.afterStep(id, node.core!);
        }
        this.queue.at(this.queue.now + this.tickMs, tick);
      };
      this.queue.at(this.rng.uniform(0, this.tickMs), tick);
    }
  }

  /** Virtual time in ms. */
  get now(): number {
    return this.queue.now;
  }

  /** Runs `action` after `delayMs` of virtual time (for workloads and fault schedules). */
  schedule(delayMs: number, action: () => void): void {
    this.queue.at(this.queue.now + delayMs, action);
  }

  /** Runs the cluster for `ms` of virtual time. */
  runFor(ms: number): void {
    this.queue.runUntil(this.queue.now + ms);
  }

  /**
   * runFor for nodes that run asynchronous code (promises) on top of their drivers: each event's promise jobs finish
   * before the next event, as on a real event loop.
   */
  runForSettled(ms: number): Promise<void> {
    return this.queue.runUntilSettled(this.queue.now + ms, settleTurn);
  }

  /** Runs until `done()` holds (checked every `stepMs`) or `maxMs` passed; returns whether it holds. */
  runUntil(done: () => boolean, maxMs: number, stepMs = 10): boolean {
    const deadline = this.queue.now + maxMs;
    while (!done()) {
      if (this.queue.now >= deadline) return false;
      this.queue.runUntil(Math.min(deadline, this.queue.now + stepMs));
    }
    return true;
  }

  /** The node, crashed or not. */
  node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new RangeError(`no node ${id}`);
    return node;
  }

  /** The running core of `id` (throws when crashed). */
  core(id: NodeId): RaftCore {
    const core = this.node(id).core;
    if (core === null) throw new RangeError(`${id} is crashed`);
    return core;
  }

  /** Whether `id` is running. */
  isUp(id: NodeId): boolean {
    return this.node(id).core !== null;
  }

  /** The running leader of the highest term, if any. */
  leader(): NodeId | null {
    let best: RaftCore | null = null;
    for (const node of this.nodes.values()) {
      const core = node.core;
      if (core !== null && core.role === 'leader' && (best === null || core.term > best.term)) best = core;
    }
    return best?.id ?? null;
  }

  /** Runs until some node is leader and every running member of its configuration follows it. */
  awaitStableLeader(maxMs: number): NodeId | null {
    const stable = () => {
      const leader = this.leader();
      if (leader === null) return false;
      const core = this.core(leader);
      return [...core.conf.voters, ...core.conf.learners].every(
        (id) => !this.isUp(id) || this.core(id).leader === leader,
      );
    };
    return this.runUntil(stable, maxMs) ? this.leader() : null;
  }

  /** Runs `action` against the running core of `id`; its driver handles what it produced. Returns its result. */
  act<T>(id: NodeId, action: (core: RaftCore) => T): T {
    const driver = this.node(id).driver;
    if (driver === null) throw new RangeError(`${id} is crashed`);
    const result = driver.act(action);
    this.invariants.afterStep(id, this.core(id));
    return result;
  }

  /** Stops `id`: its unsynced writes, a write in progress and everything in memory are lost. */
  crash(id: NodeId): void {
    const node = this.node(id);
    node.driver?.stop();
    node.driver = null;
    node.core = null;
    node.crashAfterNextPersist = false;
    node.incarnation += 1;
    node.storage.crash();
  }

  /** Starts `id` again from what its disk kept (no-op when it is running). */
  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.core !== null) return;
    const restored = node.storage.restore();
    const config: RaftConfig = { ...defaultRaftConfig(id), ...this.options.config, id };
    const core = new RaftCore(config, restored, this.rng.fork());
    node.core = core;
    const sm = new DedupStateMachine();
    node.sm = sm;
    const application = this.options.application?.(id) ?? null;
    const stateMachine: StateMachine =
      application === null
        ? sm
        : {
            apply: (entry) => application.apply(entry),
            snapshot: () => pack([sm.snapshot(), application.snapshot()]),
            restore: (data) => {
              const [dedup, image] = unpack(data) as [Uint8Array, Uint8Array];
              sm.restore(dedup);
              application.restore(image);
            },
            ...slicedSnapshots(sm, application),
          };
    if (restored.snapshot !== null) stateMachine.restore(restored.snapshot.data);
    this.invariants.onRestart(id, core);
    const snapshotMeta = restored.snapshot?.meta;
    /** The last index this incarnation applied: the driver must apply every index once, in order. */
    let appliedIndex = snapshotMeta?.index ?? 0;
    node.driver = new RaftDriver({
      core,
      stateMachine,
      storage: this.disk(node),
      transport: new InmemTransport(
        this.network,
        (delayMs, action) => this.queue.at(this.queue.now + delayMs, action),
        (message) => this.deliver(message),
      ),
      scheduler: this.scheduler,
      restored: {
        hardState: restored.hardState,
        snapshotIndex: snapshotMeta?.index ?? 0,
        snapshotTerm: snapshotMeta?.term ?? 0,
        conf: snapshotMeta?.conf ?? restored.initialConf,
      },
      snapshotEveryEntries: this.options.compactEvery ?? Number.POSITIVE_INFINITY,
      // Two entries a chunk: most Readies then hand out more than one chunk, and the simulation interleaves later
      // Readies, reads, snapshots and elections with applying, as a long apply does on a real node.
      applyChunkEntries: SIM_APPLY_CHUNK_ENTRIES,
      applySliceMs: DEFAULT_APPLY_SLICE_MS,
      transferTimeoutMs: TRANSFER_TIMEOUT_ELECTIONS * config.electionTicks * this.tickMs,
      onFatal: (error) => {
        throw error;
      },
      observer: {
        readyTaken: (ready) => this.invariants.onEntries(id, core, ready.entries),
        entryApplied: (entry, result) => {
          if (entry.index !== appliedIndex + 1) {
            throw new InvariantViolation(`${id} applied index ${entry.index} after ${appliedIndex}`);
          }
          appliedIndex = entry.index;
          this.applied(node, entry, application === null ? (result as ApplyOutcome | undefined) : undefined);
        },
        snapshotRestored: (snapshot) => {
          if (node.sm.appliedIndex !== snapshot.meta.index) {
            throw new InvariantViolation(
              `${id} restored a snapshot at ${snapshot.meta.index} holding state up to ${node.sm.appliedIndex}`,
            );
          }
          appliedIndex = snapshot.meta.index;
          this.invariants.onApplied(id, node.sm.appliedIndex, node.sm.hash);
        },
        readState: (read) => {
          for (const listener of this.readListeners) listener(id, read);
        },
        settled: () => this.invariants.afterStep(id, core),
      },
    });
    this.options.onStarted?.(id, node.driver);
  }

  /** One line per node (role, term, leader, commit, last index, snapshot, applied), for failure reports. */
  describe(): string {
    return this.ids
      .map((id) => {
        const node = this.node(id);
        const core = node.core;
        if (core === null) return `${id}: down`;
        const voters = core.conf.voters.join(',');
        return `${id}: ${core.role} term ${core.term} leader ${core.leader} commit ${core.commitIndex} last ${core.lastIndex} snapshot ${core.snapshotIndex} applied ${node.sm.appliedIndex} voters ${voters}`;
      })
      .join('\n');
  }

  onApply(listener: ApplyListener): void {
    this.applyListeners.push(listener);
  }

  onRead(listener: ReadListener): void {
    this.readListeners.push(listener);
  }

  /**
   * The disk of `node`'s current incarnation: a synced write takes disk time (during which the driver keeps
   * receiving messages and ticks, and waits with its next Ready); a crash before it completes loses it, and
   * `crashAfterNextPersist` crashes the node right after a write, before the driver hears that it completed.
   */
  private disk(node: SimNode): RaftLogStore {
    const incarnation = node.incarnation;
    return {
      persist: (ready, done) => {
        const write = () => {
          if (node.incarnation !== incarnation) return;
          node.storage.persist(ready);
          if (node.crashAfterNextPersist) this.crash(node.id);
          else done();
        };
        const [minMs, maxMs] = this.options.diskDelayMs ?? [0, 0];
        if (!ready.mustSync || maxMs <= 0) write();
        else this.queue.at(this.queue.now + this.rng.uniform(minMs, maxMs), write);
      },
      compact: (meta, data, done) => {
        node.storage.saveSnapshot({ meta, data });
        done();
      },
    };
  }

  private deliver(message: Message): void {
    const node = this.nodes.get(message.to);
    if (node?.driver == null || node.core === null || !this.network.connected(message.from, message.to)) return;
    const core = node.core;
    if (message.type === 'append-response' && message.rejectHint !== undefined && message.term === core.term) {
      this.appendRejections += 1;
    }
    node.driver.step(message);
    this.invariants.afterStep(node.id, core);
  }

  /** Checks and reports one entry the driver applied (the dedup machine also counts the entries Raft keeps to itself). */
  private applied(node: SimNode, entry: Entry, result: ApplyOutcome | undefined): void {
    let outcome: ApplyOutcome;
    if (result !== undefined) outcome = result;
    else if (entry.type === 'normal' && this.options.application !== undefined) {
      node.sm.record(entry);
      outcome = 'applied';
    } else outcome = node.sm.apply(entry);
    this.invariants.onApplied(node.id, entry.index, node.sm.hash);
    for (const listener of this.applyListeners) listener(node.id, entry, outcome);
    if (node.sm.violation !== null) throw new InvariantViolation(`client dedup on ${node.id}: ${node.sm.violation}`);
  }
}

/** One macrotask turn: every promise job queued before it has run. */
/** The address a simulated node is configured with, as its clients list it among their endpoints. */
export function simNodeAddress(id: NodeId): string {
  return `${id}:7000`;
}

function settleTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * The sliced snapshot and restore of the simulator's pair of machines, when the application has them: the small
 * dedup machine is packed at once, the application in its slices, so the driver's sliced paths are what is simulated.
 */
function slicedSnapshots(
  sm: DedupStateMachine,
  application: StateMachine,
): Pick<StateMachine, 'beginSnapshot' | 'beginRestore'> {
  const { beginSnapshot, beginRestore } = application;
  if (beginSnapshot === undefined || beginRestore === undefined) return {};
  return {
    beginSnapshot: () => {
      const dedup = sm.snapshot();
      const job = beginSnapshot.call(application);
      return {
        step: () => {
          const image = job.step();
          return image === undefined ? undefined : pack([dedup, image]);
        },
        cancel: () => job.cancel(),
      };
    },
    beginRestore: (data) => {
      const [dedup, image] = unpack(data) as [Uint8Array, Uint8Array];
      const job = beginRestore.call(application, image);
      return {
        step: () => {
          if (!job.step()) return false;
          sm.restore(dedup);
          return true;
        },
        cancel: () => job.cancel(),
      };
    },
  };
}
