// --force-new-cluster's rewrite of a log: every other member removed after the last entry, everything committed.
import { describe, expect, it } from 'vitest';
import { bootstrapConf, bootstrapLog, joiningConf } from '../../src/raft/bootstrap.js';
import { applyConfChange, decodeConfChange } from '../../src/raft/conf.js';
import { forceNewCluster } from '../../src/raft/force-new-cluster.js';
import type { ConfState, Entry, RestoredState } from '../../src/raft/types.js';

const PEERS = { n1: '127.0.0.1:1', n2: '127.0.0.1:2', n3: '127.0.0.1:3' };

/** A founder's restored log: the bootstrap entries, then `extra` normal entries of term 4, committed up to `commit`. */
function restoredLog(extra: number, commit: number): RestoredState {
  const { entries } = bootstrapLog(bootstrapConf(PEERS));
  for (let i = 0; i < extra; i++) {
    entries.push({ index: entries.length + 1, term: 4, type: 'normal', data: new Uint8Array([i]) });
  }
  return { hardState: { term: 5, votedFor: 'n1', commit }, snapshot: null, entries, initialConf: joiningConf() };
}

function confAfter(base: ConfState, entries: readonly Entry[]): ConfState {
  return entries.reduce((conf, entry) => applyConfChange(conf, decodeConfChange(entry.data)), base);
}

describe('forceNewCluster', () => {
  it('removes every other member after the last entry, in its term, and commits the whole log', () => {
    const restored = restoredLog(10, 8);
    const forced = forceNewCluster(restored, 'n1');
    expect(forced.removed).toEqual(['n2', 'n3']);
    expect(forced.entries.map((entry) => [entry.index, entry.term, entry.type])).toEqual([
      [14, 4, 'conf-change'],
      [15, 4, 'conf-change'],
    ]);
    expect(confAfter(bootstrapConf(PEERS), forced.entries).voters).toEqual(['n1']);
    // Entries 9-13 were not known committed: they are kept and committed with the rest.
    expect(forced.hardState).toEqual({ term: 5, votedFor: 'n1', commit: 15 });
  });

  it('promotes a learner that recovers, and refuses a node the log does not name', () => {
    const restored = restoredLog(0, 3);
    const withLearner: RestoredState = {
      ...restored,
      entries: [
        ...restored.entries,
        {
          index: 4,
          term: 1,
          type: 'conf-change',
          data: new Uint8Array(
            bootstrapLog({ voters: [], learners: ['n4'], addresses: { n4: 'x:4' } }).entries[0]!.data,
          ),
        },
      ],
    };
    const forced = forceNewCluster(withLearner, 'n4');
    expect(forced.removed).toEqual(['n1', 'n2', 'n3']);
    expect(decodeConfChange(forced.entries.at(-1)!.data)).toEqual({ kind: 'promote', id: 'n4' });
    expect(() => forceNewCluster(restored, 'n9')).toThrow('n9 is not a member of the membership its log ends with');
  });
});
