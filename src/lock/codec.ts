// msgpackr encoding of lock log entries and snapshots; fencing tokens travel as msgpack bigints, never as numbers.
import { Packr } from 'msgpackr';
import type { LockBatchEntry, LockEntry } from './commands.js';

/**
 * The one msgpackr instance of the lock service. `useBigIntExtension` round-trips every bigint (tokens up to any
 * size) as a bigint; `useRecords: false` keeps the bytes self-describing, so every node decodes the same value.
 */
export const lockPackr = new Packr({ useBigIntExtension: true, useRecords: false, mapsAsObjects: true });

/**
 * msgpackr packs into a shared buffer and returns a view of it, which keeps that whole buffer (up to hundreds of KB,
 * once a large value grew it) alive for as long as the view is kept. A log entry's data is kept until the log is
 * compacted, so it gets a copy of its own bytes: 10,000 entries of about 100 bytes otherwise held 30 MB of buffers
 * on the leader (docs/design.md, "Memory").
 */
function packOwned(value: unknown): Uint8Array {
  return new Uint8Array(lockPackr.pack(value));
}

/** Encodes a command with the leader's timestamp as the data of a Raft log entry. */
export function encodeLockEntry(entry: LockEntry): Uint8Array {
  return packOwned(entry);
}

/** Encodes commands received together as the data of ONE Raft log entry (see LockBatchEntry). */
export function encodeLockBatch(batch: LockBatchEntry): Uint8Array {
  return packOwned(batch);
}

/** Whether `value` looks like a lock command (an object with a string `type`). */
function isCommand(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/** Decodes a log entry's data as a single entry or a batch; throws a TypeError when it is neither. */
export function decodeLockData(data: Uint8Array): LockEntry | LockBatchEntry {
  const value: unknown = lockPackr.unpack(data);
  if (typeof value !== 'object' || value === null) throw new TypeError('lock entry is not an object');
  const { atMs, command, commands } = value as { atMs?: unknown; command?: unknown; commands?: unknown };
  if (typeof atMs !== 'number' || !Number.isFinite(atMs)) throw new TypeError('lock entry has no finite atMs');
  if (Array.isArray(commands)) {
    if (commands.length === 0 || !commands.every(isCommand)) {
      throw new TypeError('lock batch must carry one or more commands');
    }
    return value as LockBatchEntry;
  }
  if (!isCommand(command)) throw new TypeError('lock entry has no command');
  return value as LockEntry;
}

/** Whether decoded data is a batch. */
export function isLockBatch(entry: LockEntry | LockBatchEntry): entry is LockBatchEntry {
  return 'commands' in entry;
}

/**
 * Decodes a log entry's data as the commands it carries, in apply order, each with the entry's timestamp (one for
 * a single entry, the parts of a batch); throws a TypeError when the bytes are not a lock entry.
 */
export function decodeLockEntries(data: Uint8Array): LockEntry[] {
  const decoded = decodeLockData(data);
  return isLockBatch(decoded) ? decoded.commands.map((command) => ({ atMs: decoded.atMs, command })) : [decoded];
}

/** Decodes a single (non-batch) log entry's data; throws a TypeError otherwise (use decodeLockEntries for both). */
export function decodeLockEntry(data: Uint8Array): LockEntry {
  const decoded = decodeLockData(data);
  if (isLockBatch(decoded)) throw new TypeError('lock entry is a batch: decode it with decodeLockEntries');
  return decoded;
}
