// One process per data directory: a lock file holding the owner's pid, taken before the log is opened.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataDirInUseError } from './errors.js';

/** The lock file's name inside the data directory. */
export const DATA_DIR_LOCK_FILE = 'forelock.lock';

/** Data directories locked by this process (a pid check alone cannot tell this process's lock from a stale one). */
const lockedHere = new Set<string>();

/** Whether process `pid` exists (EPERM: it exists but belongs to another user). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The lock on a data directory. A second process on the same directory (two nodes started with the same --data)
 * would interleave two logs in one store, so it is refused with the owner's pid. A lock file left by a process that
 * no longer exists (a crash, a SIGKILL, a container restarted with the same pid) is taken over.
 */
export class DataDirLock {
  private released = false;

  private constructor(private readonly path: string) {}

  /** Takes the lock on `dataDir` (created when missing); throws DataDirInUseError naming the owner. */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    const dir = resolve(dataDir);
    await mkdir(dir, { recursive: true });
    const path = join(dir, DATA_DIR_LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (lockedHere.has(dir)) throw new DataDirInUseError(dir, process.pid, process.pid);
      try {
        const file = await open(path, 'wx');
        try {
          await file.writeFile(`${process.pid}\n`);
          await file.sync();
        } finally {
          await file.close();
        }
        lockedHere.add(dir);
        return new DataDirLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner !== process.pid && processExists(owner)) {
        throw new DataDirInUseError(dir, owner, process.pid);
      }
      await rm(path, { force: true });
    }
    throw new DataDirInUseError(dir, null, process.pid);
  }

  /** Releases the lock (idempotent). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    lockedHere.delete(resolve(this.path, '..'));
    await rm(this.path, { force: true });
  }
}
