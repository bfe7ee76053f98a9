// The simulator's disk for one Raft node: synced writes survive a crash, unsynced ones are lost with it.
import type { ConfState, Entry, HardState, Ready, RestoredState, Snapshot } from '../raft/types.js';

/**
 * What a simulated node has on disk, kept in memory (a real node's is LevelRaftStorage, src/raft/storage.ts). A
 * Ready that must sync is durable as soon as it is written (and, as with an fsync of one write-ahead log, makes the
 * unsynced writes before it durable too); a Ready that need not sync (only the commit index moved) stays in the page
 * cache and a crash loses it.
 */
export class SimulatedRaftStorage {
  private hardState: HardState = { term: 0, votedFor: null, commit: 0 };
  private unsyncedHardState: HardState | null = null;
  private snapshot: Snapshot | null = null;
  /** Entries after the snapshot, in order. */
  private entries: Entry[] = [];

  constructor(private readonly initialConf: ConfState) {}

  /** Writes what `ready` asks to persist. */
  persist(ready: Ready): void {
    if (ready.snapshot !== undefined) {
      this.snapshot = ready.snapshot;
      this.entries = [];
    }
    const first = ready.entries[0];
    if (first !== undefined) {
      const offset = this.snapshot?.meta.index ?? 0;
      this.entries.length = Math.min(this.entries.length, first.index - offset - 1);
      for (const entry of ready.entries) this.entries.push(entry);
    }
    if (ready.mustSync) {
      this.hardState = ready.hardState ?? this.unsyncedHardState ?? this.hardState;
      this.unsyncedHardState = null;
    } else if (ready.hardState !== undefined) {
      this.unsyncedHardState = ready.hardState;
    }
  }

  /** Saves a snapshot the node took itself and drops the log prefix it covers (a synced write). */
  saveSnapshot(snapshot: Snapshot): void {
    const offset = this.snapshot?.meta.index ?? 0;
    // A snapshot from the leader installed while this one was being packed is newer: keep it (as LevelRaftStorage).
    if (snapshot.meta.index <= offset) return;
    this.entries = this.entries.slice(snapshot.meta.index - offset);
    this.snapshot = snapshot;
  }

  /** The hard state as written so far (synced or not). */
  hardStateOnDisk(): HardState {
    return this.unsyncedHardState ?? this.hardState;
  }

  /** Forgets every unsynced write (the node crashed). */
  crash(): void {
    this.unsyncedHardState = null;
  }

  /** What a restarting node reads back. */
  restore(): RestoredState {
    return {
      hardState: this.hardStateOnDisk(),
      snapshot: this.snapshot,
      entries: this.entries.slice(),
      initialConf: this.initialConf,
    };
  }
}
