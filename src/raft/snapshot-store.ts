// Snapshot data files in the node's data dir: written to a temp file, fsynced, renamed, directory fsynced.
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
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
  /** Names of the files being saved now: prune() leaves them (and their temp files) alone. */
  private readonly saving = new Set<string>();

  constructor(private readonly dir: string) {}

  /**
   * Writes `snapshot.data` durably: temp file, fsync, rename over the final name, fsync of the directory. The image
   * goes down in one positional write (more only if the OS writes it partially): FileHandle.writeFile writes 512 KiB
   * per turn of the event loop, so a 20 MB image took 40 turns, each as long as whatever else the loop was doing, and
   * a busy loop made the write grow faster than its size (issue 13).
   */
  async save(snapshot: Snapshot): Promise<void> {
    const name = fileName(snapshot.meta);
    this.saving.add(name);
    try {
      await this.write(name, snapshot.data);
    } finally {
      this.saving.delete(name);
    }
  }

  private async write(name: string, data: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const finalPath = join(this.dir, name);
    const tempPath = `${finalPath}.tmp`;
    const file = await open(tempPath, 'w');
    try {
      for (let written = 0; written < data.byteLength; ) {
        const { bytesWritten } = await file.write(data, written, data.byteLength - written, written);
        written += bytesWritten;
      }
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

  /**
   * Reads the image of the snapshot described by `meta` in one positional read of its size (readFile, like writeFile,
   * takes a turn of the event loop per 512 KiB); throws StorageCorruptError when it is missing.
   */
  async load(meta: SnapshotMeta): Promise<Uint8Array> {
    try {
      const file = await open(join(this.dir, fileName(meta)), 'r');
      try {
        const data = new Uint8Array((await file.stat()).size);
        for (let read = 0; read < data.byteLength; ) {
          const { bytesRead } = await file.read(data, read, data.byteLength - read, read);
          if (bytesRead === 0) throw new Error(`the file ended after ${read} of ${data.byteLength} bytes`);
          read += bytesRead;
        }
        return data;
      } finally {
        await file.close();
      }
    } catch (error) {
      throw new StorageCorruptError(
        `snapshot file ${fileName(meta)} for index ${meta.index} is missing from ${this.dir}: ${String(error)}`,
      );
    }
  }

  /**
   * Deletes every snapshot file (and leftover temp file) other than the one of `keep` and those being saved now (a
   * local snapshot written while one from the leader is installed).
   */
  async prune(keep: { readonly index: number; readonly term: number }): Promise<void> {
    const keepName = fileName(keep);
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((name) => name !== keepName && (SNAPSHOT_FILE.test(name) || name.endsWith('.bin.tmp')))
        .filter((name) => !this.saving.has(name.replace(/\.tmp$/, '')))
        .map((name) => rm(join(this.dir, name), { force: true })),
    );
  }

  /** Deletes the file of the snapshot at (index, term), if there is one. */
  async remove(meta: { readonly index: number; readonly term: number }): Promise<void> {
    await rm(join(this.dir, fileName(meta)), { force: true });
  }
}
