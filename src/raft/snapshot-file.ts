// The backup file of `forelock snapshot save`: a cluster's snapshot (Raft position, membership, state machine image)
// with a format version and a SHA-256 checksum, as etcd's `snapshot save` writes a db file with its hash appended.
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { StorageCorruptError } from './errors.js';
import type { ConfState, Snapshot } from './types.js';

/** The first bytes of every snapshot file. */
const MAGIC = new TextEncoder().encode('FORELOCK-SNAPSHOT\n');
/** Bytes of the SHA-256 checksum that ends the file. */
const CHECKSUM_BYTES = 32;

/** The snapshot file format this binary writes (and the newest it reads). */
export const SNAPSHOT_FILE_FORMAT_VERSION = 1;

/** One msgpackr instance: no records, so the bytes describe themselves. */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** What a snapshot file holds. */
export interface SnapshotFile {
  readonly formatVersion: number;
  /** The cluster the snapshot was taken from. */
  readonly clusterId: string;
  /** The last log entry the image covers, and its term. */
  readonly index: number;
  readonly term: number;
  /** The membership at `index`. */
  readonly conf: ConfState;
  /** The state machine's image at `index`. */
  readonly data: Uint8Array;
}

/** A decoded snapshot file with its checksum and whether the file matches it. */
export interface ReadSnapshotFile extends SnapshotFile {
  /** SHA-256 of the body, hex: what restoredClusterId derives the new cluster's id from. */
  readonly checksum: string;
  /** Whether the body's SHA-256 equals the checksum stored at the end of the file. */
  readonly checksumOk: boolean;
}

/** The file bytes of `snapshot` taken from cluster `clusterId`. */
export function encodeSnapshotFile(clusterId: string, snapshot: Snapshot): Uint8Array {
  const body: SnapshotFile = {
    formatVersion: SNAPSHOT_FILE_FORMAT_VERSION,
    clusterId,
    index: snapshot.meta.index,
    term: snapshot.meta.term,
    conf: snapshot.meta.conf,
    data: snapshot.data,
  };
  const packed = packr.pack(body);
  const checksum = createHash('sha256').update(packed).digest();
  const file = new Uint8Array(MAGIC.length + packed.length + CHECKSUM_BYTES);
  file.set(MAGIC, 0);
  file.set(packed, MAGIC.length);
  file.set(checksum, MAGIC.length + packed.length);
  return file;
}

/**
 * Decodes a snapshot file. A body that no longer matches its checksum is still decoded when it can be (checksumOk
 * false), so `snapshot status` can say what it holds; a file that is not a snapshot at all, or of a newer format, is
 * refused with StorageCorruptError.
 */
export function decodeSnapshotFile(bytes: Uint8Array, name = 'the file'): ReadSnapshotFile {
  const magicOk = bytes.length > MAGIC.length + CHECKSUM_BYTES && MAGIC.every((byte, i) => bytes[i] === byte);
  if (!magicOk) throw new StorageCorruptError(`${name} is not a Forelock snapshot file (forelock snapshot save)`);
  const packed = bytes.subarray(MAGIC.length, bytes.length - CHECKSUM_BYTES);
  const stored = Buffer.from(bytes.subarray(bytes.length - CHECKSUM_BYTES)).toString('hex');
  const checksum = createHash('sha256').update(packed).digest('hex');
  let body: Partial<SnapshotFile>;
  try {
    body = packr.unpack(packed) as Partial<SnapshotFile>;
  } catch (error) {
    throw new StorageCorruptError(`${name} is damaged: its body cannot be decoded (${(error as Error).message})`);
  }
  if (typeof body.formatVersion !== 'number' || body.formatVersion > SNAPSHOT_FILE_FORMAT_VERSION) {
    throw new StorageCorruptError(
      `${name} has snapshot format version ${String(body.formatVersion)}; this binary reads up to ${SNAPSHOT_FILE_FORMAT_VERSION}`,
    );
  }
  if (
    typeof body.clusterId !== 'string' ||
    typeof body.index !== 'number' ||
    typeof body.term !== 'number' ||
    typeof body.conf !== 'object' ||
    !(body.data instanceof Uint8Array)
  ) {
    throw new StorageCorruptError(`${name} is damaged: it lacks the cluster id, index, term, membership or image`);
  }
  return { ...(body as SnapshotFile), checksum, checksumOk: checksum === stored };
}
