// The core's in-memory log and its membership history: offsets, term searches, truncation, compaction.
import { describe, expect, it } from 'vitest';
import {
  applyConfChange,
  ConfHistory,
  confChangeProblem,
  decodeConfChange,
  encodeConfChange,
} from '../../src/raft/conf.js';
import { RaftLog } from '../../src/raft/log.js';
import type { ConfChange, ConfState, Entry } from '../../src/raft/types.js';

const entries = (from: number, terms: number[]): Entry[] =>
  terms.map((term, i) => ({ index: from + i, term, type: 'normal' as const, data: new Uint8Array(0) }));

describe('RaftLog', () => {
  it('maps indexes past the snapshot offset and knows the offset term', () => {
    const log = new RaftLog(10, 3, entries(11, [3, 4, 4]), 12);
    expect(log.lastIndex()).toBe(13);
    expect(log.lastTerm()).toBe(4);
    expect(log.term(10)).toBe(3);
    expect(log.term(9)).toBeUndefined();
    expect(log.term(14)).toBeUndefined();
    expect(log.committed).toBe(12);
    expect(log.appliedTo).toBe(10);
    expect(log.slice(11, 13).map((entry) => entry.index)).toEqual([11, 12]);
  });

  it('clamps a restored commit index into [snapshot, last]', () => {
    expect(new RaftLog(5, 1, entries(6, [1]), 100).committed).toBe(6);
    expect(new RaftLog(5, 1, [], 2).committed).toBe(5);
  });

  it('finds the first index of a term and the last index of a term by binary search', () => {
    const log = new RaftLog(0, 0, entries(1, [1, 1, 2, 2, 2, 5, 5, 7]), 0);
    expect(log.firstIndexOfTerm(5)).toBe(3);
    expect(log.firstIndexOfTerm(3)).toBe(3);
    expect(log.firstIndexOfTerm(1)).toBe(1);
    expect(log.firstIndexOfTerm(8)).toBe(8);
    expect(log.lastIndexOfTerm(2, 8)).toBe(5);
    expect(log.lastIndexOfTerm(2, 4)).toBe(4);
    expect(log.lastIndexOfTerm(5, 100)).toBe(7);
    expect(log.lastIndexOfTerm(3, 8)).toBeUndefined();
    expect(log.lastIndexOfTerm(9, 8)).toBeUndefined();
  });

  it('truncates a conflicting suffix, pulling back the persisted and unstable cursors, but never a committed entry', () => {
    const log = new RaftLog(0, 0, entries(1, [1, 1, 1, 1]), 2);
    log.truncateFrom(3);
    expect(log.lastIndex()).toBe(2);
    expect(log.persisted).toBe(2);
    expect(log.unstableFrom).toBe(3);
    expect(() => log.truncateFrom(2)).toThrow(/committed/);
  });

  it('compacts a prefix into the snapshot offset, and restores to a bare offset', () => {
    const log = new RaftLog(0, 0, entries(1, [1, 2, 2, 3]), 4);
    log.compact(2);
    expect(log.snapshotIndex).toBe(2);
    expect(log.snapshotTerm).toBe(2);
    expect(log.term(3)).toBe(2);
    expect(log.lastIndex()).toBe(4);
    log.restore(10, 5);
    expect(log.lastIndex()).toBe(10);
    expect(log.committed).toBe(10);
    expect(log.appliedTo).toBe(10);
    expect(log.persisted).toBeLessThan(10);
  });

  it('compares candidates by last term, then last index (Raft §5.4.1)', () => {
    const log = new RaftLog(0, 0, entries(1, [1, 2, 2]), 0);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });
});

describe('membership changes', () => {
  const base: ConfState = { voters: ['a', 'b', 'c'], learners: [], addresses: { a: 'a:1', b: 'b:1', c: 'c:1' } };

  it.each<[ConfChange, string | null, Partial<ConfState>]>([
    [{ kind: 'add-learner', id: 'd', address: 'd:1' }, null, { learners: ['d'] }],
    [{ kind: 'add-learner', id: 'a', address: 'x' }, 'a is already a member', {}],
    [{ kind: 'add-voter', id: 'd', address: 'd:1' }, null, { voters: ['a', 'b', 'c', 'd'] }],
    [{ kind: 'add-voter', id: 'b', address: 'x' }, 'b is already a voter', {}],
    [{ kind: 'promote', id: 'd' }, 'd is not a learner', {}],
    [{ kind: 'remove', id: 'b' }, null, { voters: ['a', 'c'] }],
    [{ kind: 'remove', id: 'z' }, 'z is not a member', {}],
  ])('%j: problem %j', (change, problem, expected) => {
    expect(confChangeProblem(base, change)).toBe(problem);
    const next = applyConfChange(base, change);
    if (problem !== null) expect(next).toBe(base);
    else expect(next).toMatchObject(expected);
  });

  it('promotes a learner, drops addresses on removal, and refuses to remove the last voter', () => {
    const withLearner = applyConfChange(base, { kind: 'add-learner', id: 'd', address: 'd:1' });
    const promoted = applyConfChange(withLearner, { kind: 'promote', id: 'd' });
    expect(promoted.voters).toEqual(['a', 'b', 'c', 'd']);
    expect(promoted.learners).toEqual([]);
    const removed = applyConfChange(promoted, { kind: 'remove', id: 'a' });
    expect(removed.addresses).toEqual({ b: 'b:1', c: 'c:1', d: 'd:1' });
    const solo: ConfState = { voters: ['a'], learners: [], addresses: { a: 'a:1' } };
    expect(confChangeProblem(solo, { kind: 'remove', id: 'a' })).toBe('cannot remove the last voter');
  });

  it('round-trips a change through msgpack', () => {
    const change: ConfChange = { kind: 'add-voter', id: 'e', address: '10.0.0.5:7000' };
    expect(decodeConfChange(encodeConfChange(change))).toEqual(change);
  });

  it('history: a change applies on append, is undone by truncation, and survives compaction as the base', () => {
    const confEntry = (index: number, change: ConfChange): Entry => ({
      index,
      term: 1,
      type: 'conf-change',
      data: encodeConfChange(change),
    });
    const history = new ConfHistory(base);
    history.onAppend([confEntry(3, { kind: 'add-learner', id: 'd', address: 'd:1' })]);
    history.onAppend([confEntry(5, { kind: 'promote', id: 'd' })]);
    expect(history.current().voters).toEqual(['a', 'b', 'c', 'd']);
    expect(history.at(4).learners).toEqual(['d']);
    expect(history.at(2)).toBe(base);
    expect(history.lastChangeIndex()).toBe(5);
    history.onTruncate(5);
    expect(history.current().learners).toEqual(['d']);
    history.compact(4);
    expect(history.lastChangeIndex()).toBe(0);
    expect(history.current().learners).toEqual(['d']);
  });
});
