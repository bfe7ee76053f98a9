// The core's in-memory Raft log: entries after the snapshot offset, and the commit/persist/apply cursors.
import { ForelockError } from '../util/errors.js';
import type { Entry } from './types.js';

/**
 * The log as the core sees it: a snapshot offset (`snapshotIndex`/`snapshotTerm`) followed by the entries after it.
 * Appends push onto one array and truncations shorten it, so no operation copies the whole log except compaction.
 * Terms are non-decreasing along the log, which lets the term searches of fast backtracking be binary searches.
 */
export class RaftLog {
  /** Entries with index snapshotIndex+1 .. lastIndex(), in order. */
  private entries: Entry[];
  /** Highest index known committed. */
  committed: number;
  /** First index not yet handed to the driver in a Ready for persistence. */
  unstableFrom: number;
  /** Highest index the driver has confirmed durable (via advance). */
  persisted: number;
  /** Highest index handed to the driver to apply. */
  appliedTo: number;

  constructor(
    public snapshotIndex: number,
    public snapshotTerm: number,
    entries: readonly Entry[],
    committed: number,
  ) {
    this.entries = entries.slice();
    const last = this.lastIndex();
    this.committed = Math.min(Math.max(committed, snapshotIndex), last);
    this.unstableFrom = last + 1;
    this.persisted = last;
    this.appliedTo = snapshotIndex;
  }

  /** Index of the last entry (the snapshot index when there is none after it). */
  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  /** Term of the last entry. */
  lastTerm(): number {
    return this.entries.length > 0 ? (this.entries[this.entries.length - 1] as Entry).term : this.snapshotTerm;
  }

  /** Term of the entry at `index`, or undefined when it is compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.snapshotIndex - 1] as Entry).term;
  }

  /** Whether the log holds an entry at `index` with `term`. */
  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Entries with index in [from, to) (both within the log after the snapshot). */
  slice(from: number, to: number): Entry[] {
    return this.entries.slice(from - this.snapshotIndex - 1, to - this.snapshotIndex - 1);
  }

  /** Appends entries that follow the last one directly. */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) this.entries.push(entry);
  }

  /** Drops every entry from `index` on (a conflicting suffix), pulling back the persisted cursor. */
  truncateFrom(index: number): void {
    if (index <= this.committed) {
      throw new ForelockError(`refusing to truncate committed entry ${index}`, 'RAFT_TRUNCATE_COMMITTED', false);
    }
    this.entries.length = index - this.snapshotIndex - 1;
    this.unstableFrom = Math.min(this.unstableFrom, index);
    this.persisted = Math.min(this.persisted, index - 1);
  }

  /** Drops the prefix up to and including `index`, which becomes the snapshot offset. */
  compact(index: number): void {
    const term = this.term(index);
    if (term === undefined) throw new ForelockError(`cannot compact at index ${index}`, 'RAFT_BAD_COMPACTION', false);
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /** Replaces the whole log by a snapshot offset (a follower installing its leader's snapshot). */
  restore(index: number, term: number): void {
    this.entries = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.committed = index;
    this.appliedTo = index;
    this.unstableFrom = index + 1;
    // Nothing of the new log is durable until the driver acknowledges the Ready carrying the snapshot.
    this.persisted = Math.min(this.persisted, index - 1);
  }

  /** The first index holding the same term as the entry at `index` (binary search; terms never decrease). */
  firstIndexOfTerm(index: number): number {
    const term = this.term(index);
    let lo = this.snapshotIndex + 1;
    let hi = index;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.term(mid) as number) < (term as number)) lo = mid + 1;
      else hi = mid;
    }
    return Math.min(lo, index);
  }

  /** The last index at or below `maxIndex` whose term is `term`, or undefined when no such entry is in the log. */
  lastIndexOfTerm(term: number, maxIndex: number): number | undefined {
    let lo = this.snapshotIndex;
    let hi = Math.min(maxIndex, this.lastIndex());
    if (hi < lo) return undefined;
    // Find the largest i in [lo, hi] with term(i) <= term.
    if ((this.term(lo) as number) > term) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.term(mid) as number) <= term) lo = mid;
      else hi = mid - 1;
    }
    return this.term(lo) === term ? lo : undefined;
  }

  /** Whether a candidate's log (lastTerm, lastIndex) is at least as up to date as this one (Raft §5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }
}
