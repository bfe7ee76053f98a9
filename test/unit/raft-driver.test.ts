// The one Raft driver's Ready loop, driven by hand: what it sends before and after a write is durable (thesis
// §10.2.1), that it waits with the next Ready, and that a failed write stops it. Production and the simulator both run
// this code (src/raft/driver.ts); here its disk, network and scheduler are test doubles the test completes by hand.
import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../src/raft/core.js';
import { defaultRaftConfig } from '../../src/raft/defaults.js';
import { RaftDriver } from '../../src/raft/driver.js';
import type { RaftLogStore, RaftScheduler, RaftTransport, WriteDone } from '../../src/raft/driver-ports.js';
import type { ConfState, Entry, Message, NodeId, Ready, SnapshotMeta, StateMachine } from '../../src/raft/types.js';
import { type Rng, SeededRng } from '../../src/util/rng.js';

const conf: ConfState = {
  voters: ['a', 'b'],
  learners: [],
  addresses: { a: 'a:7000', b: 'b:7000' },
};

/** A disk whose writes complete when the test says so (a snapshot's write too, when `holdSnapshots`). */
class ManualDisk implements RaftLogStore {
  readonly writes: { ready: Ready; done: WriteDone }[] = [];
  readonly snapshotWrites: { meta: SnapshotMeta; data: Uint8Array; done: WriteDone }[] = [];
  holdSnapshots = false;

  persist(ready: Ready, done: WriteDone): void {
    this.writes.push({ ready, done });
  }

  compact(meta: SnapshotMeta, data: Uint8Array, done: WriteDone): void {
    if (this.holdSnapshots) this.snapshotWrites.push({ meta, data, done });
    else done();
  }

  /** Completes every write in flight (and those they lead to), in order. */
  completeAll(): void {
    while (this.writes.length > 0) this.writes.shift()!.done();
  }
}

/** A network that keeps what was sent for the test to deliver. */
class RecordingTransport implements RaftTransport {
  readonly sent: Message[] = [];
  send(messages: readonly Message[]): void {
    this.sent.push(...messages);
  }
  setPeers(): void {}
  close(): void {}
}

/** A scheduler whose "soon" runs when the test flushes it. */
class ManualScheduler implements RaftScheduler {
  private queue: (() => void)[] = [];
  soon(action: () => void): void {
    this.queue.push(action);
  }
  after(): () => void {
    return () => {};
  }
  /** Runs the oldest queued action only. */
  runOne(): void {
    this.queue.shift()?.();
  }
  get queued(): number {
    return this.queue.length;
  }
  flush(): void {
    while (this.queue.length > 0) {
      const queued = this.queue;
      this.queue = [];
      for (const action of queued) action();
    }
  }
}

interface TestNode {
  readonly driver: RaftDriver;
  readonly disk: ManualDisk;
  readonly transport: RecordingTransport;
  readonly applied: Entry[];
  readonly failures: unknown[];
}

/**
 * The entries applied, as a state machine whose snapshots and restores take `slices` steps each: its image is the
 * list of applied indexes as it was when the snapshot began.
 */
class SlicedListMachine implements StateMachine {
  indexes: number[] = [];
  readonly steps: string[] = [];

  constructor(private readonly slices: number) {}

  apply(entry: Entry): unknown {
    this.indexes.push(entry.index);
    return entry.index;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.indexes));
  }
  restore(data: Uint8Array): void {
    this.indexes = JSON.parse(new TextDecoder().decode(data)) as number[];
  }
  beginSnapshot() {
    const image = this.snapshot();
    let left = this.slices;
    return {
      step: () => {
        this.steps.push('snapshot');
        return --left > 0 ? undefined : image;
      },
      cancel: () => {},
    };
  }
  beginRestore(data: Uint8Array) {
    let left = this.slices;
    return {
      step: () => {
        this.steps.push('restore');
        if (--left > 0) return false;
        this.restore(data);
        return true;
      },
      cancel: () => {},
    };
  }
}

function node(
  id: NodeId,
  scheduler: ManualScheduler,
  options: {
    stateMachine?: StateMachine;
    snapshotEveryEntries?: number;
    snapshotLogBytes?: number;
    snapshotStaggerRng?: Rng;
    applyChunkEntries?: number;
    conf?: ConfState;
  } = {},
): TestNode {
  const initialConf = options.conf ?? conf;
  const core = new RaftCore(
    { ...defaultRaftConfig(id), preVote: false, checkQuorum: false },
    { hardState: { term: 0, votedFor: null, commit: 0 }, snapshot: null, entries: [], initialConf },
    new SeededRng(id === 'a' ? 1 : 2),
  );
  const disk = new ManualDisk();
  const transport = new RecordingTransport();
  const applied: Entry[] = [];
  const failures: unknown[] = [];
  const driver = new RaftDriver({
    core,
    stateMachine: options.stateMachine ?? {
      apply: (entry) => {
        applied.push(entry);
        return entry.index;
      },
      snapshot: () => new Uint8Array(),
      restore: () => {},
    },
    storage: disk,
    transport,
    scheduler,
    restored: {
      hardState: { term: 0, votedFor: null, commit: 0 },
      snapshotIndex: 0,
      snapshotTerm: 0,
      conf: initialConf,
    },
    snapshotEveryEntries: options.snapshotEveryEntries ?? Number.POSITIVE_INFINITY,
    ...(options.snapshotLogBytes === undefined ? {} : { snapshotLogBytes: options.snapshotLogBytes }),
    ...(options.snapshotStaggerRng === undefined ? {} : { snapshotStaggerRng: options.snapshotStaggerRng }),
    applyChunkEntries: options.applyChunkEntries ?? 256,
    applySliceMs: 10,
    transferTimeoutMs: 1_000,
    onFatal: (error) => failures.push(error),
  });
  return { driver, disk, transport, applied, failures };
}

/** Delivers everything sent so far between the two nodes, completing writes at once, until the network is quiet. */
function settle(nodes: Record<NodeId, TestNode>, scheduler: ManualScheduler): void {
  for (let round = 0; round < 100; round++) {
    scheduler.flush();
    for (const each of Object.values(nodes)) each.disk.completeAll();
    scheduler.flush();
    const inFlight = Object.values(nodes).flatMap((each) => each.transport.sent.splice(0));
    if (inFlight.length === 0) return;
    for (const message of inFlight) nodes[message.to]!.driver.step(message);
  }
  throw new Error('the two nodes did not settle');
}

/** Two nodes with `a` elected leader and everything settled. */
function electedPair(options: { a?: Parameters<typeof node>[2]; b?: Parameters<typeof node>[2] } = {}) {
  const scheduler = new ManualScheduler();
  const nodes = { a: node('a', scheduler, options.a), b: node('b', scheduler, options.b) };
  for (let tick = 0; tick < 40 && nodes.a.driver.status().role !== 'leader'; tick++) {
    nodes.a.driver.tick();
    settle(nodes, scheduler);
  }
  expect(nodes.a.driver.status().role).toBe('leader');
  return { scheduler, ...nodes };
}

describe('the Raft driver orders a Ready as thesis §10.2.1 allows', () => {
  it('a follower sends nothing of a Ready until its write is durable', () => {
    const { scheduler, a, b } = electedPair();
    void a.driver.propose(new Uint8Array([7]));
    scheduler.flush();
    const append = a.transport.sent.splice(0).find((message) => message.type === 'append');
    expect(append).toBeDefined();
    b.driver.step(append!);
    scheduler.flush();
    expect(b.disk.writes).toHaveLength(1);
    expect(b.transport.sent).toEqual([]);
    b.disk.completeAll();
    expect(b.transport.sent.map((message) => message.type)).toEqual(['append-response']);
  });

  it('a leader whose term is durable sends its appends while its own write is in flight, and waits with the next Ready', () => {
    const { scheduler, a } = electedPair();
    void a.driver.propose(new Uint8Array([1]));
    scheduler.flush();
    expect(a.disk.writes).toHaveLength(1);
    expect(a.transport.sent.some((message) => message.type === 'append')).toBe(true);
    a.transport.sent.splice(0);
    // A second proposal while the first write is in flight: its Ready waits for that write.
    void a.driver.propose(new Uint8Array([2]));
    scheduler.flush();
    expect(a.disk.writes).toHaveLength(1);
    expect(a.transport.sent).toEqual([]);
    a.disk.writes.shift()!.done();
    scheduler.flush();
    expect(a.disk.writes).toHaveLength(1);
    expect(a.transport.sent.some((message) => message.type === 'append')).toBe(true);
  });

  it('answers a proposal only once its entry is committed and applied', async () => {
    const { scheduler, a, b } = electedPair();
    let answered: unknown = null;
    const proposal = a.driver.propose(new Uint8Array([3])).then((result) => {
      answered = result.result;
    });
    scheduler.flush();
    a.disk.completeAll();
    await Promise.resolve();
    expect(answered).toBeNull(); // durable on the leader alone is not committed
    settle({ a, b }, scheduler);
    await proposal;
    expect(answered).toBe(a.applied.at(-1)!.index);
    expect(b.applied.at(-1)!.index).toBe(a.applied.at(-1)!.index);
  });

  it('stops, fails what is pending and reports a failed write once', async () => {
    const { scheduler, a } = electedPair();
    const proposal = a.driver.propose(new Uint8Array([4]));
    scheduler.flush();
    a.disk.writes.shift()!.done(new Error('disk full'));
    await expect(proposal).rejects.toMatchObject({ code: 'NODE_CLOSED' });
    expect(a.failures).toEqual([new Error('disk full')]);
    await expect(a.driver.propose(new Uint8Array([5]))).rejects.toMatchObject({ code: 'NODE_CLOSED' });
    await a.driver.whenIdle();
  });
});

describe('the Raft driver applies committed entries between Readies', () => {
  it('goes on taking Readies (the heartbeats among them) while a long run of committed entries is applied in chunks', () => {
    const { scheduler, a, b } = electedPair({ a: { applyChunkEntries: 1 } });
    for (let i = 0; i < 4; i++) void a.driver.propose(new Uint8Array([i]));
    scheduler.flush();
    a.disk.completeAll();
    for (const message of a.transport.sent.splice(0)) b.driver.step(message);
    scheduler.flush();
    b.disk.completeAll();
    const appliedBefore = a.applied.length;
    // b acknowledges: the 4 entries commit on a, which applies the first at once and the rest one a turn.
    for (const message of b.transport.sent.splice(0)) a.driver.step(message);
    scheduler.runOne();
    a.disk.completeAll();
    expect(a.applied.length).toBe(appliedBefore + 1);
    a.transport.sent.length = 0;
    // A heartbeat falls due meanwhile: the Ready carrying it is taken before the remaining entries are applied.
    a.driver.tick();
    while (scheduler.queued > 0 && !a.transport.sent.some((message) => message.type === 'append')) scheduler.runOne();
    expect(a.transport.sent.some((message) => message.type === 'append')).toBe(true);
    expect(a.applied.length).toBeLessThan(appliedBefore + 4);
    scheduler.flush();
    expect(a.applied.map((entry) => entry.data[0])).toEqual(expect.arrayContaining([0, 1, 2, 3]));
    expect(a.applied.length).toBe(appliedBefore + 4);
    expect(a.failures).toEqual([]);
  });
});

describe('the Raft driver takes and installs snapshots without holding up the loop (docs/design.md, "Snapshots")', () => {
  it('goes on committing and applying while a snapshot is packed in slices and written, and compacts after the write', async () => {
    const machine = new SlicedListMachine(3);
    const { scheduler, a, b } = electedPair({ a: { stateMachine: machine, snapshotEveryEntries: 3 } });
    a.disk.holdSnapshots = true;
    for (let i = 0; i < 3; i++) void a.driver.propose(new Uint8Array([i]));
    settle({ a, b }, scheduler);
    expect(a.disk.snapshotWrites).toHaveLength(1);
    const { meta, data } = a.disk.snapshotWrites[0]!;
    const imageAt = JSON.parse(new TextDecoder().decode(data)) as number[];
    expect(imageAt.at(-1)).toBe(meta.index);
    expect(machine.steps).toEqual(['snapshot', 'snapshot', 'snapshot']);
    // The write is in flight: entries are committed and applied, one more snapshot is not begun, nothing compacted.
    const answered = await Promise.all([a.driver.propose(new Uint8Array([9])), settleThen({ a, b }, scheduler)]);
    expect(answered[0].index).toBeGreaterThan(meta.index);
    expect(machine.indexes.at(-1)).toBe(answered[0].index);
    expect(a.disk.snapshotWrites).toHaveLength(1);
    expect(a.driver.act((core) => core.snapshotIndex)).toBe(0);
    let idle = false;
    void a.driver.whenIdle().then(() => {
      idle = true;
    });
    await Promise.resolve();
    expect(idle).toBe(false);
    a.disk.snapshotWrites.shift()!.done();
    await Promise.resolve();
    expect(idle).toBe(true);
    expect(a.driver.act((core) => core.snapshotIndex)).toBe(meta.index);
    expect(a.driver.act((core) => core.latestSnapshot)?.data).toEqual(data);
    expect(a.failures).toEqual([]);
  });

  it('snapshots once the log since the last snapshot carries snapshotLogBytes, or as many bytes as its image', async () => {
    let imageBytes = 3_000;
    const machine: StateMachine = {
      apply: (entry) => entry.index,
      snapshot: () => new Uint8Array(imageBytes),
      restore: () => {},
    };
    const { scheduler, a, b } = electedPair({ a: { stateMachine: machine, snapshotLogBytes: 1_000 } });
    const snapshotIndex = () => a.driver.act((core) => core.snapshotIndex);
    const commit = (entries: number) => commitEntries(a, b, scheduler, entries);
    await commit(9);
    expect(snapshotIndex()).toBe(0);
    const tenth = await commit(1);
    expect(snapshotIndex()).toBe(tenth);
    // The image was 3,000 bytes: the next snapshot waits for as many bytes of log.
    imageBytes = 10;
    await commit(29);
    expect(snapshotIndex()).toBe(tenth);
    const fortieth = await commit(1);
    expect(snapshotIndex()).toBe(fortieth);
    // A small image: the bound again.
    await commit(9);
    expect(snapshotIndex()).toBe(fortieth);
    const fiftieth = await commit(1);
    expect(snapshotIndex()).toBe(fiftieth);
    expect(a.failures).toEqual([]);
  });

  it('staggers its snapshots: each threshold is scaled by a factor drawn in [1, 1.5) after every snapshot', async () => {
    const draws = [0.5, 0.2];
    const machine: StateMachine = {
      apply: (entry) => entry.index,
      snapshot: () => new Uint8Array(10),
      restore: () => {},
    };
    const { scheduler, a, b } = electedPair({
      a: { stateMachine: machine, snapshotLogBytes: 1_000, snapshotStaggerRng: { next: () => draws.shift()! } },
    });
    const snapshotIndex = () => a.driver.act((core) => core.snapshotIndex);
    const commit = (entries: number) => commitEntries(a, b, scheduler, entries);
    // 1,000 bytes x 1.25: not at the tenth entry of 100 bytes, at the thirteenth.
    await commit(12);
    expect(snapshotIndex()).toBe(0);
    const thirteenth = await commit(1);
    expect(snapshotIndex()).toBe(thirteenth);
    // Drawn again after it: 1,000 x 1.1, the eleventh entry after it.
    await commit(10);
    expect(snapshotIndex()).toBe(thirteenth);
    const next = await commit(1);
    expect(snapshotIndex()).toBe(next);
    expect(draws).toEqual([]);
    expect(a.failures).toEqual([]);
  });

  it("a backup's capture is the image at the applied index when it was asked for, packed while entries are applied", async () => {
    const machine = new SlicedListMachine(3);
    const { scheduler, a, b } = electedPair({ a: { stateMachine: machine } });
    void a.driver.propose(new Uint8Array([1]));
    settle({ a, b }, scheduler);
    const appliedThen = a.driver.status().appliedIndex;
    const capture = a.driver.captureSnapshot();
    void a.driver.propose(new Uint8Array([2]));
    settle({ a, b }, scheduler);
    const { meta, data } = await capture;
    expect(machine.steps).toEqual(['snapshot', 'snapshot', 'snapshot']);
    expect(a.driver.status().appliedIndex).toBeGreaterThan(appliedThen);
    expect(meta.index).toBe(appliedThen);
    expect(JSON.parse(new TextDecoder().decode(data)).at(-1)).toBe(appliedThen);
  });

  it('a follower installs a snapshot from the leader in slices, then applies the entries after it', () => {
    const scheduler = new ManualScheduler();
    const learnerConf: ConfState = { voters: ['a'], learners: ['b'], addresses: conf.addresses };
    const leader = new SlicedListMachine(1);
    const follower = new SlicedListMachine(4);
    const a = node('a', scheduler, { conf: learnerConf, stateMachine: leader, snapshotEveryEntries: 2 });
    const b = node('b', scheduler, { conf: learnerConf, stateMachine: follower });
    // a, the only voter, leads and commits alone; b (a learner) hears nothing until a has compacted its log.
    const alone = () => {
      scheduler.flush();
      a.disk.completeAll();
      scheduler.flush();
      a.transport.sent.splice(0);
    };
    for (let tick = 0; tick < 40 && a.driver.status().role !== 'leader'; tick++) {
      a.driver.tick();
      alone();
    }
    for (let i = 0; i < 4; i++) void a.driver.propose(new Uint8Array([i]));
    alone();
    expect(a.driver.act((core) => core.snapshotIndex)).toBeGreaterThanOrEqual(2);
    for (let tick = 0; tick < 10; tick++) {
      a.driver.tick();
      settle({ a, b }, scheduler);
    }
    expect(follower.steps).toEqual(['restore', 'restore', 'restore', 'restore']);
    expect(follower.indexes).toEqual(leader.indexes);
    expect(b.driver.status().appliedIndex).toBe(a.driver.status().appliedIndex);
    expect(b.failures).toEqual([]);
  });
});

/** settle() after the promises already due have run, for tests that await a proposal settle() completes. */
/** Proposes `entries` entries of 100 bytes on leader `a`, one at a time, each settled; the last one's index. */
async function commitEntries(a: TestNode, b: TestNode, scheduler: ManualScheduler, entries: number): Promise<number> {
  let last = 0;
  for (let i = 0; i < entries; i++) {
    const [result] = await Promise.all([a.driver.propose(new Uint8Array(100)), settleThen({ a, b }, scheduler)]);
    last = result.index;
  }
  return last;
}

async function settleThen(nodes: Record<NodeId, TestNode>, scheduler: ManualScheduler): Promise<void> {
  await Promise.resolve();
  settle(nodes, scheduler);
}
