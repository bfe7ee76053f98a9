// `forelock snapshot restore`: the data directory of one member of a new cluster, started from a backup file.
import { readdir } from 'node:fs/promises';
import { bootstrapConf } from './bootstrap.js';
import { deriveClusterId, restoredClusterId } from './cluster-id.js';
import { DATA_DIR_LOCK_FILE, DataDirLock } from './data-dir-lock.js';
import { DataDirMismatchError, StorageCorruptError } from './errors.js';
import { DATA_FORMAT_VERSION, type DataDirIdentity, writeIdentity } from './identity.js';
import type { ReadSnapshotFile } from './snapshot-file.js';
import { LevelRaftStorage } from './storage.js';
import type { NodeId } from './types.js';

/** What to restore, and as which member of which new cluster. */
export interface RestoreOptions {
  readonly file: ReadSnapshotFile;
  /** How the file was named, for messages. */
  readonly fileName: string;
  /** The new member's data directory: missing or empty. */
  readonly dataDir: string;
  readonly memberId: NodeId;
  /** The new cluster's members (id -> address), the same on every member restored; this member included. */
  readonly peers: Readonly<Record<NodeId, string>>;
  /** The --cluster-token the new cluster's members start with ('' when none). */
  readonly clusterToken?: string;
  /** The state machine image the new cluster starts from (e.g. the file's with every session ended). */
  readonly image: Uint8Array;
}

/**
 * Writes the data directory of member `memberId` of a new cluster restored from `file`: a log that starts at the
 * snapshot's index and term, with `peers` as its voters, and an identity whose cluster id every member derives alike
 * from the file's checksum and the peers (restoredClusterId). Refuses a damaged file and a directory that holds data.
 * Returns the new directory's identity.
 */
export async function restoreDataDir(options: RestoreOptions): Promise<DataDirIdentity> {
  const { file, dataDir, memberId, peers } = options;
  if (!file.checksumOk) {
    throw new StorageCorruptError(`${options.fileName} does not match its checksum; restore from an undamaged copy`);
  }
  if (peers[memberId] === undefined) {
    throw new DataDirMismatchError(
      `--peers must include this member (${memberId}), got ${Object.keys(peers).join(', ')}`,
    );
  }
  const lock = await DataDirLock.acquire(dataDir);
  try {
    const present = (await readdir(dataDir)).filter((name) => name !== DATA_DIR_LOCK_FILE);
    if (present.length > 0) {
      throw new DataDirMismatchError(
        `data directory ${dataDir} is not empty (${present.join(', ')}); restore into a new directory`,
      );
    }
    const token = options.clusterToken ?? '';
    const identity: DataDirIdentity = {
      formatVersion: DATA_FORMAT_VERSION,
      clusterId: restoredClusterId(file.checksum, peers, token),
      memberId,
      foundingId: deriveClusterId(peers, token),
    };
    const storage = await LevelRaftStorage.open(dataDir);
    try {
      await storage.initializeFromSnapshot({
        meta: { index: file.index, term: file.term, conf: bootstrapConf(peers) },
        data: options.image,
      });
    } finally {
      await storage.close();
    }
    await writeIdentity(dataDir, identity);
    return identity;
  } finally {
    await lock.release();
  }
}
