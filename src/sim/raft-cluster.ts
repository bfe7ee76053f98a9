// The simulator's harness: N Raft cores on a virtual clock and network, with disks that crashes can cut short.
import { RaftCore } from '../raft/core.js';
import { defaultRaftConfig } from '../raft/defaults.js';
import type { ConfState, Entry, HardState, Message, NodeId, RaftConfig, ReadState, Ready } from '../raft/types.js';
import { SeededRng } from '../util/rng.js';
import { type ApplyOutcome, DedupStateMachine } from './dedup-state-machine.js';
import { InvariantViolation, RaftInvariants } from './raft-invariants.js';
import { RaftNetwork } from './raft-network.js';
import { SimulatedRaftStorage } from './raft-storage.js';
import { EventQueue } from './scenarios/event-queue.js';

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
  /** Leaders send a Ready's messages before its (slow) write completes when their term and vote are durable. */
  readonly leaderSendsBeforePersist?: boolean;
  /** Take a snapshot and compact the log every this many applied entries; no compaction when absent. */
  readonly compactEvery?: number;
}

/** One simulated server: its core (null while crashed), its disk and its state machine. */
export interface SimNode {
  readonly id: NodeId;
  core: RaftCore | null;
  readonly storage: SimulatedRaftStorage;
  sm: DedupStateMachine;
  /** Crash right after persisting the next Ready, before sending or applying anything of it. */
  crashAfterNextPersist: boolean;
  /** A Ready is being written to disk; the next one waits for it. */
  writing: boolean;
}

/** Called for every entry a node applies. */
export type ApplyListener = (node: NodeId, entry: Entry, outcome: ApplyOutcome) => void;
/** Called for every ReadState a node reports. */
export type ReadListener = (node: NodeId, read: ReadState) => void;

/**
 * Drives real RaftCore instances through the same Ready loop a production driver runs (persist, send, apply,
 * advance), in virtual time, and checks the safety invariants after every event.
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

  constructor(private readonly options: SimClusterOptions) {
    this.rng = new SeededRng(options.seed);
    this.network = new RaftNetwork(this.rng.fork());
    this.tickMs = options.tickMs ?? 100;
    const total = options.voters + (options.spares ?? 0);
    this.ids = Array.from({ length: total }, (_, i) => `node${i + 1}`);
    const initialConf: ConfState = {
      voters: this.ids.slice(0, options.voters),
      learners: [],
      addresses: Object.fromEntries(this.ids.map((id) => [id, `${id}:7000`])),
    };
    for (const id of this.ids) {
      const node: SimNode = {
        id,
        core: null,
        storage: new SimulatedRaftStorage(initialConf),
        sm: new DedupStateMachine(),
        crashAfterNextPersist: false,
        writing: false,
      };
      this.nodes.set(id, node);
      this.restart(id);
      // Each node ticks on its own phase, as independent timers would.
      const tick = () => {
        if (node.core !== null) {
          node.core.tick();
          this.process(node);
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

  /** Runs `action` against the running core of `id`, then handles its Ready; returns what the action returned. */
  act<T>(id: NodeId, action: (core: RaftCore) => T): T {
    const node = this.node(id);
    const result = action(this.core(id));
    this.process(node);
    return result;
  }

  /** Stops `id`: its unsynced writes and everything in memory are lost. */
  crash(id: NodeId): void {
    const node = this.node(id);
    node.core = null;
    node.crashAfterNextPersist = false;
    node.writing = false;
    node.storage.crash();
  }

  /** Starts `id` again from what its disk kept (no-op when it is running). */
  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.core !== null) return;
    const restored = node.storage.restore();
    const config: RaftConfig = { ...defaultRaftConfig(id), ...this.options.config, id };
    node.core = new RaftCore(config, restored, this.rng.fork());
    node.sm = new DedupStateMachine();
    if (restored.snapshot !== null) node.sm.restore(restored.snapshot.data);
    this.invariants.onRestart(id, node.core);
    this.process(node);
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

  private send(message: Message): void {
    for (const delayMs of this.network.route(message)) {
      this.queue.at(this.queue.now + delayMs, () => this.deliver(message));
    }
  }

  private deliver(message: Message): void {
    const node = this.nodes.get(message.to);
    if (node === undefined || node.core === null || !this.network.connected(message.from, message.to)) return;
    const core = node.core;
    if (message.type === 'append-response' && message.rejectHint !== undefined && message.term === core.term) {
      this.appendRejections += 1;
    }
    core.step(message);
    this.process(node);
  }

  /**
   * The driver loop: persist, send, apply, advance, until the core has nothing more to do. A synced write takes
   * disk time, during which the core keeps receiving messages and ticks (as with an asynchronous driver); a crash
   * before the write completes loses it.
   */
  private process(node: SimNode): void {
    const core = node.core;
    if (core === null) return;
    while (node.core === core && !node.writing && core.hasReady()) {
      const ready = core.ready();
      this.invariants.onEntries(node.id, core, ready.entries);
      const [minMs, maxMs] = this.options.diskDelayMs ?? [0, 0];
      if (!ready.mustSync || maxMs <= 0) {
        this.complete(node, core, ready, false);
        continue;
      }
      // A leader whose term and vote are already durable may send while its own entries are written (thesis
      // §10.2.1, as node.ts does): the core must then count them only once advance() says they are durable.
      const sendFirst =
        this.options.leaderSendsBeforePersist === true &&
        core.role === 'leader' &&
        (ready.hardState === undefined || sameTermAndVote(ready.hardState, node.storage.hardStateOnDisk()));
      if (sendFirst) for (const message of ready.messages) this.send(message);
      node.writing = true;
      this.queue.at(this.queue.now + this.rng.uniform(minMs, maxMs), () => {
        if (node.core !== core) return;
        node.writing = false;
        this.complete(node, core, ready, sendFirst);
        this.process(node);
      });
    }
    if (node.core === core) this.invariants.afterStep(node.id, core);
  }

  /** Finishes one Ready once its write is durable. */
  private complete(node: SimNode, core: RaftCore, ready: Ready, alreadySent: boolean): void {
    node.storage.persist(ready);
    if (node.crashAfterNextPersist) {
      this.crash(node.id);
      return;
    }
    if (!alreadySent) for (const message of ready.messages) this.send(message);
    this.apply(node, ready);
    core.advance(ready);
    this.maybeCompact(node, core);
  }

  private apply(node: SimNode, ready: Ready): void {
    const sm = node.sm;
    if (ready.snapshot !== undefined) {
      sm.restore(ready.snapshot.data);
      if (sm.appliedIndex !== ready.snapshot.meta.index) {
        throw new InvariantViolation(
          `${node.id} restored a snapshot at ${ready.snapshot.meta.index} holding state up to ${sm.appliedIndex}`,
        );
      }
      this.invariants.onApplied(node.id, sm.appliedIndex, sm.hash);
    }
    for (const entry of ready.committedEntries) {
      if (entry.index !== sm.appliedIndex + 1) {
        throw new InvariantViolation(`${node.id} applied index ${entry.index} after ${sm.appliedIndex}`);
      }
      const outcome = sm.apply(entry);
      this.invariants.onApplied(node.id, entry.index, sm.hash);
      for (const listener of this.applyListeners) listener(node.id, entry, outcome);
    }
    if (sm.violation !== null) throw new InvariantViolation(`client dedup on ${node.id}: ${sm.violation}`);
    for (const read of ready.readStates) for (const listener of this.readListeners) listener(node.id, read);
  }

  private maybeCompact(node: SimNode, core: RaftCore): void {
    const every = this.options.compactEvery;
    if (every === undefined || node.sm.appliedIndex - core.snapshotIndex < every) return;
    core.compact(node.sm.appliedIndex, node.sm.snapshot());
    node.storage.saveSnapshot(core.latestSnapshot as NonNullable<RaftCore['latestSnapshot']>);
  }
}

function sameTermAndVote(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor;
}
