// Snapshot data files in the node's data dir: written to a temp file, fsynced, renamed, directory fsynced.
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageCorruptError } from './errors.js';
import type { Snapshot, SnapshotMeta } from './types.js';

const SNAPSHOT_FILE = /^snap-(\d{16})-(\d{16})\.bin$/;

/** The file name of the snapshot at (index, term); zero-padded so names sort by index. */
function fileName(meta: { readonly index: number; readonly term: number }): string {
  return `snap-${String(meta.index).padStart(16, '0')}-${String(meta.term).padStart(16, '0')}.bin`;
}

/** Stores snapshot images as files; the snapshot's meta lives in the log storage and names the file. */
export class SnapshotStore {
  constructor(private readonly dir: string) {}

  /** Writes `snapshot.data` durably: temp file, fsync, rename over the final name, fsync of the directory. */
  async save(snapshot: Snapshot): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const finalPath = join(this.dir, fileName(snapshot.meta));
    const tempPath = `${finalPath}.tmp`;
    const file = await open(tempPath, 'w');
    try {
      await file.writeFile(snapshot.data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tempPath, finalPath);
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Reads the image of the snapshot described by `meta`; throws StorageCorruptError when it is missing. */
  async load(meta: SnapshotMeta): Promise<Uint8Array> {
    try {
      const data = await readFile(join(this.dir, fileName(meta)));
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      throw new StorageCorruptError(
        `snapshot file ${fileName(meta)} for index ${meta.index} is missing from ${this.dir}: ${String(error)}`,
      );
    }
  }

  /** Deletes every snapshot file (and leftover temp file) other than the one of `keep`. */
  async prune(keep: { readonly index: number; readonly term: number }): Promise<void> {
    const keepName = fileName(keep);
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((name) => name !== keepName && (SNAPSHOT_FILE.test(name) || name.endsWith('.bin.tmp')))
        .map((name) => rm(join(this.dir, name), { force: true })),
    );
  }
}
