// Safe reconfiguration: which membership changes the leader refuses, and why (etcd's strict reconfiguration check:
// a change must not leave the cluster without a quorum of started members).
import { InvalidConfChangeError, MemberNotFoundError } from './errors.js';
import { quorumOf } from './quorum.js';
import type { ConfChange, ConfState, NodeId } from './types.js';

/**
 * A learner may be promoted once it holds at least this share of the leader's log (etcd's learner readiness, 90%),
 * and no further behind than LEARNER_MAX_LAG_ENTRIES.
 */
export const LEARNER_READY_SHARE = 0.9;
/** At most this many entries behind the leader for a learner to be promoted. */
export const LEARNER_MAX_LAG_ENTRIES = 1_000;

/** What the leader knows when it judges a change. */
export interface ReconfigView {
  readonly conf: ConfState;
  /** Members the leader heard from within the last election timeout, itself included (the started members). */
  readonly active: ReadonlySet<NodeId>;
  /** The leader's last log index. */
  readonly lastIndex: number;
  /** The highest index known replicated on `id`, or undefined when unknown. */
  matchIndex(id: NodeId): number | undefined;
}

/** "1 is started", "2 are started". */
function startedCount(started: number): string {
  return `${started} ${started === 1 ? 'is' : 'are'} started`;
}

function startedVoters(voters: readonly NodeId[], active: ReadonlySet<NodeId>): NodeId[] {
  return voters.filter((id) => active.has(id));
}

/**
 * Throws the error the leader refuses `change` with, or returns when it may be proposed. `force` lets a removal
 * leave fewer started voters than a quorum (the operator knows the removed member is gone for good). Unknown
 * members get MemberNotFoundError; unsafe changes InvalidConfChangeError saying why and what to do.
 */
export function checkReconfigSafety(view: ReconfigView, change: ConfChange, options: { force?: boolean } = {}): void {
  const { conf, active } = view;
  const members = [...conf.voters, ...conf.learners];
  switch (change.kind) {
    case 'add-learner':
      return;
    case 'add-voter': {
      if (conf.voters.includes(change.id)) return;
      if (conf.learners.includes(change.id)) {
        checkLearnerCaughtUp(view, change.id);
        return;
      }
      const voters = [...conf.voters, change.id];
      const started = startedVoters(voters, active).length;
      const quorum = quorumOf(voters.length);
      if (started < quorum) {
        throw new InvalidConfChangeError(
          `adding ${change.id} as a voter would need ${quorum} of ${voters.length} voters for a quorum, and only ${startedCount(started)}: if ${change.id} never starts, the cluster has no leader. Add it as a learner (the default), start it, and promote it once it has caught up`,
        );
      }
      return;
    }
    case 'promote':
      if (!members.includes(change.id)) throw new MemberNotFoundError(change.id, members);
      checkLearnerCaughtUp(view, change.id);
      return;
    case 'remove': {
      if (!members.includes(change.id)) throw new MemberNotFoundError(change.id, members);
      if (!conf.voters.includes(change.id) || options.force === true) return;
      const voters = conf.voters.filter((id) => id !== change.id);
      const started = startedVoters(voters, active).length;
      const quorum = quorumOf(voters.length);
      if (started < quorum) {
        const down = voters.filter((id) => !active.has(id));
        throw new InvalidConfChangeError(
          `removing ${change.id} would leave ${voters.length} voters needing ${quorum} for a quorum, of which only ${startedCount(started)} (not heard from: ${down.join(', ')}): the cluster would have no leader. Start the missing members first, or remove them first, or pass --force if they are gone for good`,
        );
      }
      return;
    }
  }
}

/** Refuses to promote learner `id` until it holds LEARNER_READY_SHARE of the leader's log. */
function checkLearnerCaughtUp(view: ReconfigView, id: NodeId): void {
  if (!view.conf.learners.includes(id)) {
    throw new InvalidConfChangeError(`${id} is already a voter; only a learner can be promoted`);
  }
  const match = view.matchIndex(id) ?? 0;
  const behind = view.lastIndex - match;
  if (!view.active.has(id) || match < view.lastIndex * LEARNER_READY_SHARE || behind > LEARNER_MAX_LAG_ENTRIES) {
    throw new InvalidConfChangeError(
      `learner ${id} has not caught up: it holds the log up to ${match} of ${view.lastIndex}${view.active.has(id) ? '' : ' and the leader has not heard from it lately'}. Check that it runs (forelock serve --join), wait until \`forelock status --json\` shows it close to the leader, then promote it again`,
    );
  }
}
