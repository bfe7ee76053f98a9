import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { joiningConf } from '../../src/raft/bootstrap.js';
import { applyConfChange, decodeConfChange } from '../../src/raft/conf.js';
import { LevelRaftStorage } from '../../src/raft/storage.js';
import type { ConfState, Entry, Ready } from '../../src/raft/types.js';

const conf: ConfState = { voters: ['a', 'b', 'c'], learners: [], addresses: { a: 'h:1', b: 'h:2', c: 'h:3' } };

const entry = (index: number, term: number): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array([index & 255, term]),
});

const range = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));

function ready(fields: Partial<Ready>): Ready {
  return { entries: [], committedEntries: [], messages: [], readStates: [], mustSync: true, ...fields };
}

describe('raft storage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'forelock-storage-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function reopen(initialConf: ConfState = joiningConf()) {
    const storage = await LevelRaftStorage.open(dir);
    const restored = await storage.load(initialConf);
    return { storage, restored };
  }

  it('starts a joining node empty', async () => {
    const { storage, restored } = await reopen();
    expect(restored).toEqual({
      hardState: { term: 0, votedFor: null, commit: 0 },
      snapshot: null,
      entries: [],
      initialConf: joiningConf(),
    });
    await storage.close();
  });

  it('starts a founding member with its membership as committed log entries, written once', async () => {
    const first = await reopen(conf);
    expect(first.restored.hardState).toEqual({ term: 1, votedFor: null, commit: 3 });
    expect(first.restored.initialConf).toEqual(joiningConf());
    const changes = first.restored.entries.map((e) => ({
      index: e.index,
      term: e.term,
      change: decodeConfChange(e.data),
    }));
    expect(changes).toEqual([
      { index: 1, term: 1, change: { kind: 'add-voter', id: 'a', address: 'h:1' } },
      { index: 2, term: 1, change: { kind: 'add-voter', id: 'b', address: 'h:2' } },
      { index: 3, term: 1, change: { kind: 'add-voter', id: 'c', address: 'h:3' } },
    ]);
    const rebuilt = first.restored.entries.reduce(
      (c, e) => applyConfChange(c, decodeConfChange(e.data)),
      joiningConf(),
    );
    expect(rebuilt).toEqual(conf);
    await first.storage.persist(ready({ entries: range(4, 4, 2) }));
    await first.storage.close();
    const second = await reopen({ voters: ['z'], learners: [], addresses: { z: 'h:9' } });
    expect(second.restored.entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    await second.storage.close();
  });

  it('recovers hard state and entries exactly after a restart', async () => {
    const { storage } = await reopen();
    await storage.persist(ready({ hardState: { term: 2, votedFor: 'b', commit: 0 }, entries: range(1, 3, 1) }));
    await storage.persist(ready({ hardState: { term: 2, votedFor: 'b', commit: 3 }, entries: range(4, 5, 2) }));
    await storage.close();
    const { storage: again, restored } = await reopen();
    expect(restored.hardState).toEqual({ term: 2, votedFor: 'b', commit: 3 });
    expect(restored.entries).toEqual([...range(1, 3, 1), ...range(4, 5, 2)]);
    await again.close();
  });

  it('carries a commit-only change with the next write, and writes it on close', async () => {
    const { storage } = await reopen();
    await storage.persist(ready({ hardState: { term: 1, votedFor: 'a', commit: 0 }, entries: range(1, 3, 1) }));
    await storage.persist(ready({ hardState: { term: 1, votedFor: 'a', commit: 2 }, mustSync: false }));
    await storage.persist(ready({ entries: range(4, 4, 1) }));
    await storage.persist(ready({ hardState: { term: 1, votedFor: 'a', commit: 4 }, mustSync: false }));
    await storage.close();
    const { storage: again, restored } = await reopen();
    expect(restored.hardState).toEqual({ term: 1, votedFor: 'a', commit: 4 });
    expect(restored.entries).toEqual(range(1, 4, 1));
    await again.close();
  });

  it('truncates a conflicting suffix when entries are overwritten', async () => {
    const { storage } = await reopen();
    await storage.persist(ready({ entries: range(1, 10, 1) }));
    await storage.persist(ready({ entries: range(6, 7, 3) }));
    await storage.persist(ready({ entries: range(8, 12, 3) }));
    await storage.persist(ready({ entries: range(13, 15, 3) }));
    // From a segment boundary, then from the middle of an earlier segment.
    await storage.persist(ready({ entries: range(13, 13, 4) }));
    await storage.persist(ready({ entries: range(10, 11, 5) }));
    await storage.close();
    const { storage: again, restored } = await reopen();
    expect(restored.entries).toEqual([...range(1, 5, 1), ...range(6, 9, 3), ...range(10, 11, 5)]);
    await again.close();
  });

  it('refuses to append with a gap', async () => {
    const { storage } = await reopen();
    await storage.persist(ready({ entries: range(1, 3, 1) }));
    await expect(storage.persist(ready({ entries: range(5, 6, 1) }))).rejects.toMatchObject({
      code: 'STORAGE_CORRUPT',
    });
    await storage.close();
  });

  it('compacts the log into a snapshot and restores it at startup', async () => {
    const { storage } = await reopen();
    await storage.persist(ready({ hardState: { term: 1, votedFor: 'a', commit: 8 }, entries: range(1, 8, 1) }));
    const meta = { index: 6, term: 1, conf };
    await storage.compact(meta, new Uint8Array([42, 43]));
    await storage.persist(ready({ entries: range(9, 9, 1) }));
    await storage.close();
    const { storage: again, restored } = await reopen();
    expect(restored.snapshot).toEqual({ meta, data: new Uint8Array([42, 43]) });
    expect(restored.entries).toEqual([...range(7, 8, 1), entry(9, 1)]);
    await again.close();
  });

  it('writes and reads back a multi-megabyte image exactly (one positional write and read, not 512 KiB a turn)', async () => {
    const { storage } = await reopen();
    await storage.persist(ready({ entries: range(1, 4, 1) }));
    const data = Uint8Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 31) & 255);
    const meta = { index: 4, term: 1, conf };
    await storage.compact(meta, data);
    await storage.close();
    const { storage: again, restored } = await reopen();
    expect(restored.snapshot?.meta).toEqual(meta);
    expect(Buffer.from(restored.snapshot!.data).equals(Buffer.from(data))).toBe(true);
    await again.close();
  });

  it('appends entries while a local snapshot is being written, and keeps them after the compaction', async () => {
    const { storage } = await reopen();
    await storage.persist(ready({ entries: range(1, 10, 1) }));
    const meta = { index: 6, term: 1, conf };
    const compaction = storage.compact(meta, new Uint8Array(2 * 1024 * 1024).fill(7));
    await storage.persist(ready({ entries: range(11, 12, 1) }));
    await compaction;
    await storage.persist(ready({ entries: range(13, 13, 1) }));
    await storage.close();
    const { storage: again, restored } = await reopen();
    expect(restored.snapshot?.meta).toEqual(meta);
    expect(restored.entries).toEqual(range(7, 13, 1));
    await again.close();
  });

  it('keeps a snapshot from the leader that lands while a local one is being written, and drops the local one', async () => {
    const { storage } = await reopen();
    await storage.persist(ready({ entries: range(1, 10, 1) }));
    const local = storage.compact({ index: 6, term: 1, conf }, new Uint8Array(2 * 1024 * 1024).fill(7));
    const meta = { index: 30, term: 4, conf };
    await storage.persist(
      ready({
        snapshot: { meta, data: new Uint8Array([9, 9, 9]) },
        hardState: { term: 4, votedFor: null, commit: 30 },
      }),
    );
    await local;
    await storage.persist(ready({ entries: range(31, 32, 4) }));
    await storage.close();
    const { storage: again, restored } = await reopen();
    expect(restored.snapshot).toEqual({ meta, data: new Uint8Array([9, 9, 9]) });
    expect(restored.entries).toEqual(range(31, 32, 4));
    expect(await readdir(join(dir, 'snapshots'))).toEqual(['snap-0000000000000030-0000000000000004.bin']);
    await again.close();
  });

  it('replaces the whole log with a snapshot received from the leader, keeping one snapshot file', async () => {
    const { storage } = await reopen();
    await storage.persist(ready({ entries: range(1, 20, 1) }));
    await storage.compact({ index: 5, term: 1, conf }, new Uint8Array([1]));
    const meta = { index: 30, term: 4, conf };
    await storage.persist(
      ready({
        snapshot: { meta, data: new Uint8Array([9, 9, 9]) },
        hardState: { term: 4, votedFor: null, commit: 30 },
      }),
    );
    await storage.persist(ready({ entries: range(31, 32, 4) }));
    await storage.close();
    const { storage: again, restored } = await reopen();
    expect(restored.snapshot).toEqual({ meta, data: new Uint8Array([9, 9, 9]) });
    expect(restored.entries).toEqual(range(31, 32, 4));
    expect(restored.hardState).toEqual({ term: 4, votedFor: null, commit: 30 });
    expect(await readdir(join(dir, 'snapshots'))).toHaveLength(1);
    await again.close();
  });
});
