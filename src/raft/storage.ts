// Durable Raft state in `level`: hard state, log segments keyed by zero-padded first index, snapshot meta, bootstrap.
import { join } from 'node:path';
import { Level } from 'level';
import { bootstrapLog, joiningConf } from './bootstrap.js';
import { decodeEntries, decodeValue, encodeEntries, encodeValue } from './codec.js';
import { StorageCorruptError } from './errors.js';
import { SnapshotStore } from './snapshot-store.js';
import type { ConfState, Entry, HardState, Ready, RestoredState, Snapshot, SnapshotMeta } from './types.js';

const HARD_STATE_KEY = 'meta:hard';
const SNAPSHOT_META_KEY = 'meta:snapshot';
const BOOTSTRAPPED_KEY = 'meta:bootstrapped';
const SEGMENT_PREFIX = 'log:';
/** The first key after every log key (':' + 1 = ';'), for range scans. */
const SEGMENT_END = 'log;';

type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** A run of consecutive entries stored under one key: the entries of one persisted Ready. */
interface Segment {
  readonly first: number;
  readonly last: number;
}

/** The storage key of the segment starting at `first`; zero-padded so keys sort by index. */
function segmentKey(first: number): string {
  return SEGMENT_PREFIX + String(first).padStart(16, '0');
}

/**
 * A node's durable log and state in `level` (the simulator's in-memory stand-in is SimulatedRaftStorage). Every Ready
 * is written as ONE level batch (synced when it must be), and its entries as ONE value (a segment): per-key overhead
 * in level costs far more than encoding 100-byte entries. A later segment overrides the entries of earlier ones from
 * its first index on (a truncated suffix).
 */
export class LevelRaftStorage {
  /** Index of the last snapshot (entries up to it are gone or ignored). */
  private snapshotIndex = 0;
  /** Index of the last entry stored, or the snapshot's index when the log after it is empty. */
  private lastIndex = 0;
  /** The stored segments in index order; together they cover snapshotIndex+1..lastIndex (and maybe before). */
  private segments: Segment[] = [];
  /** The hard state last written. */
  private savedHardState: HardState = EMPTY_HARD_STATE;
  /** A newer hard state that differs from the saved one only in its commit index, written with the next batch. */
  private deferredHardState: HardState | null = null;
  /**
   * The tail of the writes that change the log's shape (persist, a compaction's batch, close), run one after the
   * other: a compaction writes its image file beside them, then takes its turn here (docs/design.md, "Snapshots").
   */
  private turn: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Level<string, Uint8Array>,
    private readonly snapshots: SnapshotStore,
  ) {}

  /** Opens (creating if needed) the storage under `dataDir`: level in `dataDir/log`, snapshot files beside it. */
  static async open(dataDir: string): Promise<LevelRaftStorage> {
    const db = new Level<string, Uint8Array>(join(dataDir, 'log'), { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    return new LevelRaftStorage(db, new SnapshotStore(join(dataDir, 'snapshots')));
  }

  /** Whether this store has been started before (a first start writes the bootstrap log). */
  async isBootstrapped(): Promise<boolean> {
    return (await this.db.get(BOOTSTRAPPED_KEY)) !== undefined;
  }

  /**
   * Makes an empty store start from `snapshot` (a restored backup): the snapshot as the whole log, its term as the
   * current term, its index committed. Refuses a store that has been started before.
   */
  async initializeFromSnapshot(snapshot: Snapshot): Promise<void> {
    if (await this.isBootstrapped()) {
      throw new StorageCorruptError('cannot restore a snapshot over a data directory that already holds a log');
    }
    await this.snapshots.save(snapshot);
    const hardState: HardState = { term: snapshot.meta.term, votedFor: null, commit: snapshot.meta.index };
    await this.db.batch(
      [
        { type: 'put', key: BOOTSTRAPPED_KEY, value: new Uint8Array([1]) },
        { type: 'put', key: HARD_STATE_KEY, value: encodeValue(hardState) },
        { type: 'put', key: SNAPSHOT_META_KEY, value: encodeValue(snapshot.meta) },
      ],
      { sync: true },
    );
  }

  /**
   * Loads everything a core restarts from. On the very first start (an empty store) it writes the bootstrap log
   * of `initialConf` (see bootstrapLog); afterwards `initialConf` is ignored: membership lives in the log and
   * snapshots, so the restored `initialConf` is always empty.
   */
  async load(initialConf: ConfState): Promise<RestoredState> {
    if (!(await this.isBootstrapped())) {
      const bootstrap = bootstrapLog(initialConf);
      const ops: BatchOp[] = [
        { type: 'put', key: BOOTSTRAPPED_KEY, value: new Uint8Array([1]) },
        { type: 'put', key: HARD_STATE_KEY, value: encodeValue(bootstrap.hardState) },
      ];
      if (bootstrap.entries.length > 0) {
        ops.push({ type: 'put', key: segmentKey(1), value: encodeEntries(bootstrap.entries) });
      }
      await this.db.batch(ops, { sync: true });
    }
    const hardState = (await this.getValue<HardState>(HARD_STATE_KEY)) ?? EMPTY_HARD_STATE;
    this.savedHardState = hardState;
    const snapshotMeta = await this.getValue<SnapshotMeta>(SNAPSHOT_META_KEY);
    const snapshot: Snapshot | null =
      snapshotMeta === undefined ? null : { meta: snapshotMeta, data: await this.snapshots.load(snapshotMeta) };
    this.snapshotIndex = snapshotMeta?.index ?? 0;
    const entries: Entry[] = [];
    this.segments = [];
    for await (const value of this.db.values({ gte: SEGMENT_PREFIX, lt: SEGMENT_END })) {
      const segment = decodeEntries(value);
      if (segment.length === 0) continue;
      const first = segment[0]!.index;
      const last = segment[segment.length - 1]!.index;
      this.segments.push({ first, last });
      for (const entry of segment) {
        if (entry.index <= this.snapshotIndex) continue;
        const expected = this.snapshotIndex + entries.length + 1;
        if (entry.index !== expected) {
          throw new StorageCorruptError(`log gap: expected entry ${expected}, found ${entry.index}`);
        }
        entries.push(entry);
      }
    }
    this.lastIndex = this.snapshotIndex + entries.length;
    return { hardState, snapshot, entries, initialConf: joiningConf() };
  }

  /**
   * Persists a Ready's snapshot, hard state and entries in one batch (synced when `mustSync` or a snapshot
   * arrived). A received snapshot replaces the whole log; new entries overwrite any conflicting suffix.
   * A Ready that only moves the commit index writes nothing: the commit index rides with the next write (or
   * close()). Losing it in a crash is harmless (Raft re-learns it from the leader), and it saves one level
   * batch for every other Ready under load.
   */
  persist(ready: Ready): Promise<void> {
    return this.inTurn(() => this.persistNow(ready));
  }

  private async persistNow(ready: Ready): Promise<void> {
    const hard = ready.hardState ?? this.deferredHardState;
    if (
      ready.snapshot === undefined &&
      ready.entries.length === 0 &&
      hard !== null &&
      hard.term === this.savedHardState.term &&
      hard.votedFor === this.savedHardState.votedFor
    ) {
      this.deferredHardState = hard;
      return;
    }
    const ops: BatchOp[] = [];
    if (ready.snapshot !== undefined) {
      await this.snapshots.save(ready.snapshot);
      ops.push({ type: 'put', key: SNAPSHOT_META_KEY, value: encodeValue(ready.snapshot.meta) });
      for (const segment of this.segments) ops.push({ type: 'del', key: segmentKey(segment.first) });
      this.segments = [];
      this.snapshotIndex = ready.snapshot.meta.index;
      this.lastIndex = ready.snapshot.meta.index;
    }
    if (hard !== null) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeValue(hard) });
    if (ready.entries.length > 0) await this.appendEntries(ops, ready.entries);
    if (ops.length > 0) await this.db.batch(ops, { sync: ready.mustSync || ready.snapshot !== undefined });
    if (hard !== null) this.savedHardState = hard;
    this.deferredHardState = null;
    if (ready.snapshot !== undefined) await this.snapshots.prune(ready.snapshot.meta);
  }

  /**
   * Records a local snapshot at `meta.index` (already applied) and drops the segments wholly before it. Persists may
   * run while its image is being written; a snapshot from the leader that lands meanwhile is newer (its index is
   * beyond everything applied here), and then this one is dropped.
   */
  async compact(meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    if (meta.index <= this.snapshotIndex) return;
    await this.snapshots.save({ meta, data });
    await this.inTurn(async () => {
      if (meta.index <= this.snapshotIndex) {
        await this.snapshots.remove(meta);
        return;
      }
      const ops: BatchOp[] = [{ type: 'put', key: SNAPSHOT_META_KEY, value: encodeValue(meta) }];
      const kept: Segment[] = [];
      for (const segment of this.segments) {
        if (segment.last <= meta.index) ops.push({ type: 'del', key: segmentKey(segment.first) });
        else kept.push(segment);
      }
      await this.db.batch(ops, { sync: true });
      this.segments = kept;
      this.snapshotIndex = meta.index;
      this.lastIndex = Math.max(this.lastIndex, meta.index);
      await this.snapshots.prune(meta);
    });
  }

  /** Writes a deferred commit index, then closes the database (after the writes already started). */
  close(): Promise<void> {
    return this.inTurn(async () => {
      if (this.deferredHardState !== null && this.db.status === 'open') {
        await this.db.put(HARD_STATE_KEY, encodeValue(this.deferredHardState), { sync: true });
      }
      await this.db.close();
    });
  }

  /** Runs `write` once the writes before it have finished (whether they succeeded or failed). */
  private inTurn<T>(write: () => Promise<T>): Promise<T> {
    const result = this.turn.then(write, write);
    this.turn = result.catch(() => {});
    return result;
  }

  /** Adds the ops that store `entries` as a new segment, dropping or trimming the segments they overwrite. */
  private async appendEntries(ops: BatchOp[], entries: readonly Entry[]): Promise<void> {
    const first = entries[0]!.index;
    if (first > this.lastIndex + 1 || first <= this.snapshotIndex) {
      throw new StorageCorruptError(
        `cannot append from index ${first}: the log holds ${this.snapshotIndex + 1}..${this.lastIndex}`,
      );
    }
    for (let tail = this.segments.at(-1); tail !== undefined && tail.last >= first; tail = this.segments.at(-1)) {
      this.segments.pop();
      if (tail.first >= first) {
        if (tail.first !== first) ops.push({ type: 'del', key: segmentKey(tail.first) });
        continue;
      }
      // A conflict inside an older segment (rare): keep its prefix before `first`.
      const bytes = await this.db.get(segmentKey(tail.first));
      if (bytes === undefined) throw new StorageCorruptError(`log segment at ${tail.first} is missing`);
      const prefix = decodeEntries(bytes).filter((entry) => entry.index < first);
      ops.push({ type: 'put', key: segmentKey(tail.first), value: encodeEntries(prefix) });
      this.segments.push({ first: tail.first, last: first - 1 });
      break;
    }
    const last = entries[entries.length - 1]!.index;
    ops.push({ type: 'put', key: segmentKey(first), value: encodeEntries(entries) });
    this.segments.push({ first, last });
    this.lastIndex = last;
  }

  private async getValue<T>(key: string): Promise<T | undefined> {
    const bytes = await this.db.get(key);
    return bytes === undefined ? undefined : decodeValue<T>(bytes);
  }
}

/** The state of a node that has never persisted anything. */
const EMPTY_HARD_STATE: HardState = { term: 0, votedFor: null, commit: 0 };
