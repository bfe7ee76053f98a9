// msgpackr encoding of lock log entries and snapshots; fencing tokens travel as msgpack bigints, never as numbers.
import { Packr } from 'msgpackr';
import type { LockEntry } from './commands.js';

/**
 * The one msgpackr instance of the lock service. `useBigIntExtension` round-trips every bigint (tokens up to any
 * size) as a bigint; `useRecords: false` keeps the bytes self-describing, so every node decodes the same value.
 */
export const lockPackr = new Packr({ useBigIntExtension: true, useRecords: false, mapsAsObjects: true });

/** Encodes a command with the leader's timestamp as the data of a Raft log entry. */
export function encodeLockEntry(entry: LockEntry): Uint8Array {
  return lockPackr.pack(entry);
}

/** Decodes a log entry's data; throws a TypeError when the bytes are not a lock entry. */
export function decodeLockEntry(data: Uint8Array): LockEntry {
  const value: unknown = lockPackr.unpack(data);
  if (typeof value !== 'object' || value === null) throw new TypeError('lock entry is not an object');
  const { atMs, command } = value as { atMs?: unknown; command?: unknown };
  if (typeof atMs !== 'number' || !Number.isFinite(atMs)) throw new TypeError('lock entry has no finite atMs');
  if (typeof command !== 'object' || command === null || typeof (command as { type?: unknown }).type !== 'string') {
    throw new TypeError('lock entry has no command');
  }
  return value as LockEntry;
}
