// Durable Raft state in `level`: hard state, log entries keyed by zero-padded index, snapshot meta, bootstrap.
import { join } from 'node:path';
import { Level } from 'level';
import { bootstrapLog, joiningConf } from './bootstrap.js';
import { decodeEntry, decodeValue, encodeEntry, encodeValue } from './codec.js';
import { StorageCorruptError } from './errors.js';
import { SnapshotStore } from './snapshot-store.js';
import type { ConfState, Entry, HardState, Ready, RestoredState, Snapshot, SnapshotMeta } from './types.js';

const HARD_STATE_KEY = 'meta:hard';
const SNAPSHOT_META_KEY = 'meta:snapshot';
const BOOTSTRAPPED_KEY = 'meta:bootstrapped';
const LOG_PREFIX = 'log:';
/** The first key after every log key (':' + 1 = ';'), for range scans. */
const LOG_END = 'log;';

type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** The storage key of the entry at `index`; zero-padded so keys sort by index. */
function logKey(index: number): string {
  return LOG_PREFIX + String(index).padStart(16, '0');
}

/** The state of a node that has never persisted anything. */
const EMPTY_HARD_STATE: HardState = { term: 0, votedFor: null, commit: 0 };

/** A node's durable log and state. Every Ready is written as ONE level batch, synced when it must be. */
export class RaftStorage {
  /** Index of the first entry kept in the log (the snapshot's index + 1). */
  private firstIndex = 1;
  /** Index of the last entry stored, or the snapshot's index when the log after it is empty. */
  private lastIndex = 0;

  private constructor(
    private readonly db: Level<string, Uint8Array>,
    private readonly snapshots: SnapshotStore,
  ) {}

  /** Opens (creating if needed) the storage under `dataDir`: level in `dataDir/log`, snapshot files beside it. */
  static async open(dataDir: string): Promise<RaftStorage> {
    const db = new Level<string, Uint8Array>(join(dataDir, 'log'), { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    return new RaftStorage(db, new SnapshotStore(join(dataDir, 'snapshots')));
  }

  /**
   * Loads everything a core restarts from. On the very first start (an empty store) it writes the bootstrap log
   * of `initialConf` (see bootstrapLog); afterwards `initialConf` is ignored: membership lives in the log and
   * snapshots, so the restored `initialConf` is always empty.
   */
  async load(initialConf: ConfState): Promise<RestoredState> {
    if ((await this.db.get(BOOTSTRAPPED_KEY)) === undefined) {
      const bootstrap = bootstrapLog(initialConf);
      const ops: BatchOp[] = [{ type: 'put', key: BOOTSTRAPPED_KEY, value: new Uint8Array([1]) }];
      ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeValue(bootstrap.hardState) });
      for (const entry of bootstrap.entries)
        ops.push({ type: 'put', key: logKey(entry.index), value: encodeEntry(entry) });
      await this.db.batch(ops, { sync: true });
    }
    const hardState = (await this.getValue<HardState>(HARD_STATE_KEY)) ?? EMPTY_HARD_STATE;
    const snapshotMeta = await this.getValue<SnapshotMeta>(SNAPSHOT_META_KEY);
    const snapshot: Snapshot | null =
      snapshotMeta === undefined ? null : { meta: snapshotMeta, data: await this.snapshots.load(snapshotMeta) };
    const snapshotIndex = snapshotMeta?.index ?? 0;
    const entries: Entry[] = [];
    for await (const value of this.db.values({ gt: logKey(snapshotIndex), lt: LOG_END })) {
      const entry = decodeEntry(value);
      const expected = snapshotIndex + entries.length + 1;
      if (entry.index !== expected) {
        throw new StorageCorruptError(`log gap: expected entry ${expected}, found ${entry.index}`);
      }
      entries.push(entry);
    }
    this.firstIndex = snapshotIndex + 1;
    this.lastIndex = snapshotIndex + entries.length;
    return { hardState, snapshot, entries, initialConf: joiningConf() };
  }

  /**
   * Persists a Ready's snapshot, hard state and entries in one batch (synced when `mustSync` or a snapshot
   * arrived). A received snapshot replaces the whole log; new entries overwrite any conflicting suffix.
   */
  async persist(ready: Ready): Promise<void> {
    const ops: BatchOp[] = [];
    if (ready.snapshot !== undefined) {
      await this.snapshots.save(ready.snapshot);
      ops.push({ type: 'put', key: SNAPSHOT_META_KEY, value: encodeValue(ready.snapshot.meta) });
      this.deleteRange(ops, this.firstIndex, this.lastIndex);
      this.firstIndex = ready.snapshot.meta.index + 1;
      this.lastIndex = ready.snapshot.meta.index;
    }
    if (ready.hardState !== undefined) {
      ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeValue(ready.hardState) });
    }
    if (ready.entries.length > 0) this.appendEntries(ops, ready.entries);
    if (ops.length > 0) await this.db.batch(ops, { sync: ready.mustSync || ready.snapshot !== undefined });
    if (ready.snapshot !== undefined) await this.snapshots.prune(ready.snapshot.meta);
  }

  /** Records a local snapshot at `meta.index` (already applied) and drops the log up to it. */
  async compact(meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    if (meta.index < this.firstIndex - 1) return;
    await this.snapshots.save({ meta, data });
    const ops: BatchOp[] = [{ type: 'put', key: SNAPSHOT_META_KEY, value: encodeValue(meta) }];
    this.deleteRange(ops, this.firstIndex, Math.min(meta.index, this.lastIndex));
    await this.db.batch(ops, { sync: true });
    this.firstIndex = meta.index + 1;
    this.lastIndex = Math.max(this.lastIndex, meta.index);
    await this.snapshots.prune(meta);
  }

  /** Closes the database. */
  async close(): Promise<void> {
    await this.db.close();
  }

  private appendEntries(ops: BatchOp[], entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    if (first > this.lastIndex + 1 || first < this.firstIndex) {
      throw new StorageCorruptError(
        `cannot append from index ${first}: the log holds ${this.firstIndex}..${this.lastIndex}`,
      );
    }
    for (const entry of entries) ops.push({ type: 'put', key: logKey(entry.index), value: encodeEntry(entry) });
    const last = entries[entries.length - 1]!.index;
    this.deleteRange(ops, last + 1, this.lastIndex);
    this.lastIndex = last;
  }

  private deleteRange(ops: BatchOp[], from: number, to: number): void {
    for (let index = from; index <= to; index++) ops.push({ type: 'del', key: logKey(index) });
  }

  private async getValue<T>(key: string): Promise<T | undefined> {
    const bytes = await this.db.get(key);
    return bytes === undefined ? undefined : decodeValue<T>(bytes);
  }
}
