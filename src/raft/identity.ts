// The data directory's identity: which data format, cluster and member it holds, recorded in identity.json and
// checked at every start so a directory is never served under another member's id or in another cluster.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirMismatchError, DataFormatTooNewError, StorageCorruptError } from './errors.js';
import type { NodeId } from './types.js';

/**
 * The data format this binary writes. 1: the releases before identity.json (a level log and snapshot files);
 * 2: identity.json beside them. A directory without identity.json is format 1 and is upgraded in place.
 */
export const DATA_FORMAT_VERSION = 2;

/** The identity file's name inside the data directory. */
export const IDENTITY_FILE = 'identity.json';

/** What identity.json records. */
export interface DataDirIdentity {
  readonly formatVersion: number;
  /** The id of the cluster this directory's log belongs to (shared by all its members). */
  readonly clusterId: string;
  /** The member id this directory was written under (`--id`). */
  readonly memberId: NodeId;
  /**
   * The cluster id that this member's founding flags (`--peers`, `--cluster-token`) derive; a later start whose flags
   * derive another one was pointed at another cluster. Null for a member that joined, or founded with no --peers.
   */
  readonly foundingId: string | null;
}

/** What the flags of this start say about the directory. */
export interface ExpectedIdentity {
  readonly memberId: NodeId;
  /** The cluster id the founding flags derive (deriveClusterId), or null when they name no cluster (--join, no --peers). */
  readonly foundingId: string | null;
}

/** Reads identity.json, or null when the directory has none (a new directory, or one of format 1). */
export async function readIdentity(dataDir: string): Promise<DataDirIdentity | null> {
  let text: string;
  try {
    text = await readFile(join(dataDir, IDENTITY_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let value: Partial<DataDirIdentity>;
  try {
    value = JSON.parse(text) as Partial<DataDirIdentity>;
  } catch (error) {
    throw new StorageCorruptError(`${join(dataDir, IDENTITY_FILE)} is not valid JSON: ${(error as Error).message}`);
  }
  if (
    typeof value.formatVersion !== 'number' ||
    typeof value.clusterId !== 'string' ||
    typeof value.memberId !== 'string' ||
    (value.foundingId !== null && typeof value.foundingId !== 'string')
  ) {
    throw new StorageCorruptError(
      `${join(dataDir, IDENTITY_FILE)} must hold formatVersion, clusterId, memberId and foundingId, got ${text.trim()}`,
    );
  }
  return value as DataDirIdentity;
}

/** Writes identity.json durably (temp file, fsync, rename, directory fsync). */
export async function writeIdentity(dataDir: string, identity: DataDirIdentity): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, IDENTITY_FILE);
  const file = await open(`${path}.tmp`, 'w');
  try {
    await file.writeFile(`${JSON.stringify(identity, null, 2)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(`${path}.tmp`, path);
  const dir = await open(dataDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Refuses a directory this binary must not serve under these flags: a newer data format, another member id, or
 * founding flags that name another cluster. Every message names the recorded value and the one given.
 */
export function checkIdentity(dataDir: string, recorded: DataDirIdentity, expected: ExpectedIdentity): void {
  if (recorded.formatVersion > DATA_FORMAT_VERSION) {
    throw new DataFormatTooNewError(dataDir, recorded.formatVersion, DATA_FORMAT_VERSION);
  }
  if (recorded.memberId !== expected.memberId) {
    throw new DataDirMismatchError(
      `data directory ${dataDir} belongs to member ${recorded.memberId}, but this node was started with --id ${expected.memberId}; start it with --id ${recorded.memberId}, or give ${expected.memberId} its own --data`,
    );
  }
  if (recorded.foundingId !== null && expected.foundingId !== null && recorded.foundingId !== expected.foundingId) {
    throw new DataDirMismatchError(
      `data directory ${dataDir} belongs to cluster ${recorded.clusterId} (founded as ${recorded.foundingId}), but --peers and --cluster-token name cluster ${expected.foundingId}; start it with the flags it was founded with, or give this node a new --data`,
    );
  }
}
