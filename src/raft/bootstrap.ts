// Cluster bootstrap: a founding member's first log holds the initial membership as committed conf-change entries.
import { encodeConfChange } from './conf.js';
import type { ConfChange, ConfState, Entry, HardState, NodeId } from './types.js';

/** The membership of a founding member of a new cluster: every listed member is a voter. */
export function bootstrapConf(members: Readonly<Record<NodeId, string>>): ConfState {
  return { voters: Object.keys(members), learners: [], addresses: { ...members } };
}

/** The membership of a node joining an existing cluster: empty, until the leader adds it and sends it the log. */
export function joiningConf(): ConfState {
  return { voters: [], learners: [], addresses: {} };
}

/**
 * The log a founding member starts with (etcd's bootstrap): one term-1 conf-change entry per initial member,
 * in sorted id order so every founder writes the same entries, all committed. Carrying the membership in the
 * log, rather than only in each founder's memory, is what lets a node that joins later learn who the voters
 * are when it receives the log. Empty for a joining node.
 */
export function bootstrapLog(conf: ConfState): { entries: Entry[]; hardState: HardState } {
  const address = (id: NodeId): string => {
    const value = conf.addresses[id];
    if (value === undefined) throw new RangeError(`initial member ${id} has no address`);
    return value;
  };
  const changes: ConfChange[] = [
    ...[...conf.voters].sort().map((id): ConfChange => ({ kind: 'add-voter', id, address: address(id) })),
    ...[...conf.learners].sort().map((id): ConfChange => ({ kind: 'add-learner', id, address: address(id) })),
  ];
  const entries = changes.map(
    (change, i): Entry => ({ index: i + 1, term: 1, type: 'conf-change', data: encodeConfChange(change) }),
  );
  return {
    entries,
    hardState: { term: entries.length > 0 ? 1 : 0, votedFor: null, commit: entries.length },
  };
}
