// Membership: applying single-server ConfChanges, and the history of configurations along the log (thesis §4.1).
import { pack, unpack } from 'msgpackr';
import type { ConfChange, ConfState, Entry, NodeId } from './types.js';

/** Encodes a ConfChange as a 'conf-change' entry's data. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  return pack(change);
}

/** Decodes a 'conf-change' entry's data. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  return unpack(data) as ConfChange;
}

/** Whether `id` is a voter or a learner of `conf`. */
export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

/**
 * Why `change` cannot be proposed against `conf`, or null when it can. The leader validates before proposing, so
 * every change that reaches the log is meaningful; applyConfChange is still total, for entries from any source.
 */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | null {
  switch (change.kind) {
    case 'add-learner':
      return isMember(conf, change.id) ? `${change.id} is already a member` : null;
    case 'add-voter':
      return conf.voters.includes(change.id) ? `${change.id} is already a voter` : null;
    case 'promote':
      return conf.learners.includes(change.id) ? null : `${change.id} is not a learner`;
    case 'remove':
      if (!isMember(conf, change.id)) return `${change.id} is not a member`;
      return conf.voters.length === 1 && conf.voters[0] === change.id ? 'cannot remove the last voter' : null;
  }
}

/** The configuration after `change` (total: a change that does not apply leaves the configuration as it was). */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const without = (ids: readonly NodeId[], id: NodeId) => ids.filter((other) => other !== id);
  switch (change.kind) {
    case 'add-learner':
      if (isMember(conf, change.id)) return conf;
      return {
        voters: conf.voters,
        learners: [...conf.learners, change.id],
        addresses: { ...conf.addresses, [change.id]: change.address },
      };
    case 'add-voter':
      if (conf.voters.includes(change.id)) return conf;
      return {
        voters: [...conf.voters, change.id],
        learners: without(conf.learners, change.id),
        addresses: { ...conf.addresses, [change.id]: change.address },
      };
    case 'promote':
      if (!conf.learners.includes(change.id)) return conf;
      return {
        voters: [...conf.voters, change.id],
        learners: without(conf.learners, change.id),
        addresses: conf.addresses,
      };
    case 'remove': {
      if (!isMember(conf, change.id)) return conf;
      const addresses = { ...conf.addresses };
      delete addresses[change.id];
      return { voters: without(conf.voters, change.id), learners: without(conf.learners, change.id), addresses };
    }
  }
}

/**
 * The configurations in force along the log: a base (at the snapshot, or the bootstrap one) and one configuration
 * per 'conf-change' entry after it. A configuration takes effect when its entry is appended, and is undone when
 * that entry is truncated away.
 */
export class ConfHistory {
  private changes: { index: number; conf: ConfState }[] = [];

  constructor(private base: ConfState) {}

  /** The configuration in force now (after the last appended conf-change entry). */
  current(): ConfState {
    return this.changes.length > 0 ? (this.changes[this.changes.length - 1] as { conf: ConfState }).conf : this.base;
  }

  /** Index of the last conf-change entry after the base, or 0 when there is none. */
  lastChangeIndex(): number {
    return this.changes.length > 0 ? (this.changes[this.changes.length - 1] as { index: number }).index : 0;
  }

  /** Records the configuration changes among newly appended entries. */
  onAppend(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.type !== 'conf-change') continue;
      this.changes.push({ index: entry.index, conf: applyConfChange(this.current(), decodeConfChange(entry.data)) });
    }
  }

  /** Forgets the changes carried by entries from `index` on (they were truncated). */
  onTruncate(index: number): void {
    while (this.changes.length > 0 && (this.changes[this.changes.length - 1] as { index: number }).index >= index) {
      this.changes.pop();
    }
  }

  /** The configuration in force at `index`. */
  at(index: number): ConfState {
    let conf = this.base;
    for (const change of this.changes) {
      if (change.index > index) break;
      conf = change.conf;
    }
    return conf;
  }

  /** Makes the configuration at `index` the base (the log up to `index` was compacted into a snapshot). */
  compact(index: number): void {
    this.base = this.at(index);
    this.changes = this.changes.filter((change) => change.index > index);
  }

  /** Starts over from a snapshot's configuration. */
  reset(base: ConfState): void {
    this.base = base;
    this.changes = [];
  }
}
