// Recovery from quorum loss (etcd's --force-new-cluster): this node's log, kept whole, made the log of a one-member
// cluster by conf-change entries appended after it, with everything up to them committed.
import { ConfHistory, encodeConfChange } from './conf.js';
import { DataDirMismatchError } from './errors.js';
import type { ConfChange, Entry, HardState, NodeId, RestoredState } from './types.js';

/** What forceNewCluster() persists: entries to append after the restored log, and the hard state to write with them. */
export interface ForcedMembership {
  readonly entries: Entry[];
  readonly hardState: HardState;
  /** The members removed, for the log line that says what happened. */
  readonly removed: NodeId[];
}

/**
 * The entries that leave `self` the only voter of the membership at the end of `restored`'s log: every other member
 * removed (and `self` made a voter if it was a learner), one single-server change per entry, in the term of the last
 * entry so the log's terms never go down. Every entry this node has, committed or not, is committed with them:
 * nothing it holds is lost, and entries committed only on the lost members are gone (the README's runbook says
 * to recover from the member with the highest applied index).
 */
export function forceNewCluster(restored: RestoredState, self: NodeId): ForcedMembership {
  const snapshotMeta = restored.snapshot?.meta;
  const history = new ConfHistory(snapshotMeta?.conf ?? restored.initialConf);
  history.onAppend(restored.entries);
  const conf = history.current();
  if (!conf.voters.includes(self) && !conf.learners.includes(self)) {
    throw new DataDirMismatchError(
      `--force-new-cluster: ${self} is not a member of the membership its log ends with (${[...conf.voters, ...conf.learners].join(', ') || 'none'}); recover from a data directory of a member`,
    );
  }
  const removed = [...conf.voters, ...conf.learners].filter((id) => id !== self).sort();
  const changes: ConfChange[] = removed.map((id) => ({ kind: 'remove', id }));
  if (conf.learners.includes(self)) changes.push({ kind: 'promote', id: self });
  const last = restored.entries.at(-1);
  const lastIndex = last?.index ?? snapshotMeta?.index ?? 0;
  const term = Math.max(last?.term ?? snapshotMeta?.term ?? 0, 1);
  const entries = changes.map(
    (change, i): Entry => ({ index: lastIndex + 1 + i, term, type: 'conf-change', data: encodeConfChange(change) }),
  );
  const hardState: HardState = {
    term: Math.max(restored.hardState.term, term),
    votedFor: restored.hardState.votedFor,
    commit: lastIndex + entries.length,
  };
  return { entries, hardState, removed };
}
