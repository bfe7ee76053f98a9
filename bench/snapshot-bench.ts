// Benchmark of snapshots (issue 13, item 3) at 10,000 to 200,000 held locks (100 sessions, as in the issue): the
// image's size; packing it at once ("before": what the Ready loop did) against in slices ("after": the total and the
// longest slice); restoring it at once against in slices; writing it with FileHandle.writeFile (before) against the
// snapshot store's one positional write (after), on an idle loop and on a loop busy 20 ms a turn; and the longest
// stall of the event loop while a single-node RaftNode takes snapshots with commits going on, with the state
// machine's slices hidden (before) and used (after). Pack and restore are CPU time (the machine is shared), writes and
// stalls wall time, with the load average printed beside them. Prints tables (and JSON with --json); it asserts no
// timing. --quick: 10,000 and 50,000 locks only.
import { mkdtemp, open, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeLockEntry } from '../src/lock/codec.js';
import { hashSecret } from '../src/lock/secret.js';
import { LockStateMachine } from '../src/lock/state-machine.js';
import { bootstrapConf } from '../src/raft/bootstrap.js';
import { RaftNode } from '../src/raft/node.js';
import { SnapshotStore } from '../src/raft/snapshot-store.js';
import type { StateMachine } from '../src/raft/types.js';

const LOCK_COUNTS = process.argv.includes('--quick') ? [10_000, 50_000] : [10_000, 50_000, 100_000, 200_000];
const SESSIONS = 100;
/** How long each task of the busy loop runs, ms (a loop kept busy by work that grows with the locks). */
const BUSY_TASK_MS = 20;
/** Entries committed through the node per row; it snapshots every SNAPSHOT_EVERY of them. */
const COMMITS = 120;
const SNAPSHOT_EVERY = 40;

interface Row {
  readonly locks: number;
  readonly imageMb: number;
  readonly packAtOnceMs: number;
  readonly packSlicedMs: number;
  readonly packLongestSliceMs: number;
  readonly packSlices: number;
  readonly restoreAtOnceMs: number;
  readonly restoreSlicedMs: number;
  readonly restoreLongestSliceMs: number;
  readonly restoreSlices: number;
  readonly writeFileMs: number;
  readonly writeMs: number;
  readonly busyWriteFileMs: number;
  readonly busyWriteMs: number;
  readonly nodeStallBefore: { readonly wallMs: number; readonly cpuMs: number };
  readonly nodeStallAfter: { readonly wallMs: number; readonly cpuMs: number };
}

/** A machine holding `locks` locks spread over SESSIONS sessions, each session's dedup window full. */
function filledMachine(locks: number): LockStateMachine {
  const machine = new LockStateMachine();
  let atMs = 1_000_000;
  for (let s = 0; s < SESSIONS; s++) {
    machine.applyEntry({
      atMs,
      command: {
        type: 'session-open',
        sessionId: `session-${s}`,
        secretHash: hashSecret(`secret-${s}`),
        ttlMs: 10_000,
        clientName: `client-${s % 10}`,
      },
    });
  }
  for (let i = 0; i < locks; i++) {
    atMs += 1;
    machine.applyEntry({
      atMs,
      command: {
        type: 'acquire',
        sessionId: `session-${i % SESSIONS}`,
        requestSeq: Math.floor(i / SESSIONS) + 1,
        name: `orders/order-${i}`,
        mode: 'exclusive',
        fenced: true,
        preemptible: true,
        tryOnly: false,
      },
    });
  }
  return machine;
}

/**
 * Runs `work` and says how long it took in CPU time of this process (user + system), ms: on a machine shared with
 * other work, wall time also counts the time the process waited for a core.
 */
function timed<T>(work: () => T): { result: T; ms: number } {
  const started = process.cpuUsage();
  const result = work();
  const used = process.cpuUsage(started);
  return { result, ms: (used.user + used.system) / 1000 };
}

/** Runs `step` until it says it is done, as the driver does (a turn of the loop between steps): total and longest. */
async function sliced(step: () => boolean): Promise<{ totalMs: number; longestMs: number; slices: number }> {
  let totalMs = 0;
  let longestMs = 0;
  for (let slices = 1; ; slices++) {
    const { result: done, ms } = timed(step);
    totalMs += ms;
    longestMs = Math.max(longestMs, ms);
    if (done) return { totalMs, longestMs, slices };
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Runs `work` while the loop is kept busy BUSY_TASK_MS per task (0: idle), and returns how long it took. */
async function whileBusy(busy: boolean, work: () => Promise<void>): Promise<number> {
  let running = busy;
  const burn = (): void => {
    const until = performance.now() + BUSY_TASK_MS;
    while (performance.now() < until);
    if (running) setTimeout(burn, 0);
  };
  if (busy) setTimeout(burn, 0);
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  running = false;
  await new Promise((resolve) => setTimeout(resolve, BUSY_TASK_MS * 2));
  return ms;
}

async function writeFileOnce(path: string, data: Uint8Array): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** The longest turn of the loop while `work` runs: in wall time, and in this process's CPU time, ms. */
async function longestStall(work: () => Promise<void>): Promise<{ wallMs: number; cpuMs: number }> {
  let wallMs = 0;
  let cpuMs = 0;
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let running = true;
  const probe = (): void => {
    const now = performance.now();
    const used = process.cpuUsage(lastCpu);
    wallMs = Math.max(wallMs, now - last);
    cpuMs = Math.max(cpuMs, (used.user + used.system) / 1000);
    last = now;
    lastCpu = process.cpuUsage();
    if (running) setImmediate(probe);
  };
  setImmediate(probe);
  await work();
  running = false;
  return { wallMs, cpuMs };
}

/** Commits COMMITS entries one by one through a single-node RaftNode over `machine`, snapshotting as it goes. */
async function nodeStall(
  dir: string,
  machine: StateMachine,
  lastAtMs: number,
): Promise<{ wallMs: number; cpuMs: number }> {
  const node = await RaftNode.start({
    id: 'n1',
    dataDir: dir,
    stateMachine: machine,
    initialConf: bootstrapConf({ n1: '127.0.0.1:1' }),
    tickMs: 10,
    snapshotEveryEntries: SNAPSHOT_EVERY,
  });
  try {
    while (node.status().role !== 'leader') await new Promise((resolve) => setTimeout(resolve, 5));
    return await longestStall(async () => {
      for (let i = 0; i < COMMITS; i++) {
        await node.propose(encodeLockEntry({ atMs: lastAtMs + i, command: { type: 'tick' } }));
      }
      await node.close();
    });
  } finally {
    await node.close();
  }
}

async function row(locks: number, dir: string): Promise<Row> {
  const machine = filledMachine(locks);
  const packAtOnce = timed(() => machine.snapshot());
  const image = packAtOnce.result;
  const job = machine.beginSnapshot();
  const packSliced = await sliced(() => job.step() !== undefined);
  const restoreAtOnce = timed(() => new LockStateMachine().restore(image));
  const restoreJob = new LockStateMachine().beginRestore(image);
  const restoreSliced = await sliced(() => restoreJob.step());
  const store = new SnapshotStore(join(dir, 'store'));
  const meta = { index: 1, term: 1, conf: bootstrapConf({ n1: '127.0.0.1:1' }) };
  const plainPath = join(dir, 'plain.bin');
  const writeFileMs = await whileBusy(false, () => writeFileOnce(plainPath, image));
  const writeMs = await whileBusy(false, () => store.save({ meta, data: image }));
  const busyWriteFileMs = await whileBusy(true, () => writeFileOnce(plainPath, image));
  const busyWriteMs = await whileBusy(true, () => store.save({ meta, data: image }));
  // Before: the driver packs at once (the state machine's slices hidden); after: in slices.
  const atOnce: StateMachine = {
    apply: (entry) => machine.apply(entry),
    snapshot: () => machine.snapshot(),
    restore: (data) => machine.restore(data),
  };
  const nodeStallBefore = await nodeStall(join(dir, 'before'), atOnce, machine.lastAppliedAtMs);
  const nodeStallAfter = await nodeStall(join(dir, 'after'), machine, machine.lastAppliedAtMs + COMMITS);
  return {
    locks,
    imageMb: image.byteLength / 1e6,
    packAtOnceMs: packAtOnce.ms,
    packSlicedMs: packSliced.totalMs,
    packLongestSliceMs: packSliced.longestMs,
    packSlices: packSliced.slices,
    restoreAtOnceMs: restoreAtOnce.ms,
    restoreSlicedMs: restoreSliced.totalMs,
    restoreLongestSliceMs: restoreSliced.longestMs,
    restoreSlices: restoreSliced.slices,
    writeFileMs,
    writeMs,
    busyWriteFileMs,
    busyWriteMs,
    nodeStallBefore,
    nodeStallAfter,
  };
}

const rows: Row[] = [];
const loadBefore = loadavg()[0]!;
for (const locks of LOCK_COUNTS) {
  const dir = await mkdtemp(join(tmpdir(), 'forelock-snapshot-bench-'));
  try {
    rows.push(await row(locks, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const f = (ms: number) => ms.toFixed(ms < 10 ? 1 : 0);
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ loadAverage: [loadBefore, loadavg()[0]], rows }, null, 2));
} else {
  const table = (title: string, header: string[], cells: (r: Row) => string[]) => {
    console.log(`\n${title}`);
    console.log(header.map((h, i) => (i === 0 ? h.padEnd(8) : h.padStart(16))).join(''));
    for (const r of rows)
      console.log(
        cells(r)
          .map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(16)))
          .join(''),
      );
  };
  console.log(`Snapshots of a lock state machine: ${SESSIONS} sessions, ms (before = at once, after = in slices)`);
  console.log(`load average ${loadBefore.toFixed(1)} when started, ${loadavg()[0]!.toFixed(1)} when done`);
  table(
    'Pack and restore, CPU ms: total, and the longest the loop is held (the whole call before, the longest slice after)',
    ['locks', 'MB', 'pack before', 'pack after', 'longest slice', 'restore before', 'restore after', 'longest slice'],
    (r) => [
      String(r.locks),
      r.imageMb.toFixed(1),
      f(r.packAtOnceMs),
      f(r.packSlicedMs),
      f(r.packLongestSliceMs),
      f(r.restoreAtOnceMs),
      f(r.restoreSlicedMs),
      f(r.restoreLongestSliceMs),
    ],
  );
  table(
    `Write with fsync: writeFile (before) and one positional write (after), idle and with the loop busy ${BUSY_TASK_MS} ms a turn`,
    ['locks', 'MB', 'idle before', 'idle after', 'busy before', 'busy after'],
    (r) => [
      String(r.locks),
      r.imageMb.toFixed(1),
      f(r.writeFileMs),
      f(r.writeMs),
      f(r.busyWriteFileMs),
      f(r.busyWriteMs),
    ],
  );
  table(
    `A one-node RaftNode committing ${COMMITS} entries, a snapshot every ${SNAPSHOT_EVERY}: longest turn of the loop`,
    ['locks', 'MB', 'wall before', 'wall after', 'CPU before', 'CPU after'],
    (r) => [
      String(r.locks),
      r.imageMb.toFixed(1),
      f(r.nodeStallBefore.wallMs),
      f(r.nodeStallAfter.wallMs),
      f(r.nodeStallBefore.cpuMs),
      f(r.nodeStallAfter.cpuMs),
    ],
  );
}
