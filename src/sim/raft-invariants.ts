// Raft's safety properties (paper Figure 3), checked incrementally after every step of the simulator.
import type { RaftCore } from '../raft/core.js';
import type { Entry, NodeId } from '../raft/types.js';
import { ForelockError } from '../util/errors.js';

/** A broken safety property; the message says which, where and how. */
export class InvariantViolation extends ForelockError {
  constructor(message: string) {
    super(message, 'SIM_INVARIANT_VIOLATION', false);
  }
}

interface RegisteredEntry {
  readonly type: Entry['type'];
  readonly data: Uint8Array;
  readonly prevTerm: number | undefined;
}

/**
 * Checks, with work proportional to what changed:
 * - Election Safety: at most one leader per term;
 * - Log Matching: an (index, term) always names the same entry with the same predecessor term, so two logs that
 *   agree on an entry agree on everything before it;
 * - Leader Completeness: a new leader holds every entry known committed;
 * - State Machine Safety: every replica that applied index i has the same state hash at i, and every committed
 *   index has one term across the cluster;
 * - a node's commit index never goes back while it runs (a restart may resume from the persisted one).
 */
export class RaftInvariants {
  private readonly leaders = new Map<number, NodeId>();
  private readonly entries = new Map<number, Map<number, RegisteredEntry>>();
  private readonly committedTerms = new Map<number, number>();
  private maxCommitted = 0;
  private readonly stateHashes = new Map<number, number>();
  private readonly lastCommit = new Map<NodeId, number>();
  private readonly wasLeader = new Map<NodeId, number>();

  /** Checks the entries a node is about to persist against every other log (Log Matching). */
  onEntries(node: NodeId, core: RaftCore, entries: readonly Entry[]): void {
    let prevTerm = entries.length > 0 ? this.termBefore(core, (entries[0] as Entry).index) : undefined;
    for (const entry of entries) {
      let atIndex = this.entries.get(entry.index);
      if (atIndex === undefined) {
        atIndex = new Map();
        this.entries.set(entry.index, atIndex);
      }
      const known = atIndex.get(entry.term);
      if (known === undefined) {
        atIndex.set(entry.term, { type: entry.type, data: entry.data, prevTerm });
      } else if (
        known.type !== entry.type ||
        !sameBytes(known.data, entry.data) ||
        (known.prevTerm !== undefined && prevTerm !== undefined && known.prevTerm !== prevTerm)
      ) {
        throw new InvariantViolation(
          `Log Matching: ${node} holds a different entry at index ${entry.index} term ${entry.term}`,
        );
      }
      prevTerm = entry.term;
    }
  }

  /** Checks a node's state hash after it applied (or restored a snapshot up to) `index` (State Machine Safety). */
  onApplied(node: NodeId, index: number, hash: number): void {
    const known = this.stateHashes.get(index);
    if (known === undefined) this.stateHashes.set(index, hash);
    else if (known !== hash) {
      throw new InvariantViolation(`State Machine Safety: ${node} applied a different history up to index ${index}`);
    }
  }

  /** Checks a node after it handled one event and its Ready (if any) was processed. */
  afterStep(node: NodeId, core: RaftCore): void {
    const term = core.term;
    if (core.role === 'leader') {
      const leader = this.leaders.get(term);
      if (leader === undefined) this.leaders.set(term, node);
      else if (leader !== node) {
        throw new InvariantViolation(`Election Safety: ${leader} and ${node} are both leaders of term ${term}`);
      }
      if (this.wasLeader.get(node) !== term) {
        this.wasLeader.set(node, term);
        this.checkLeaderCompleteness(node, core);
      }
    }
    const commit = core.commitIndex;
    const previous = this.lastCommit.get(node) ?? 0;
    if (commit < previous) {
      throw new InvariantViolation(`commit index of ${node} went back from ${previous} to ${commit}`);
    }
    if (commit > previous) this.recordCommitted(node, core, Math.max(previous, core.snapshotIndex), commit);
    this.lastCommit.set(node, commit);
  }

  /** A node restarted from its persisted state: its commit index may resume from the persisted one. */
  onRestart(node: NodeId, core: RaftCore): void {
    this.lastCommit.set(node, core.commitIndex);
  }

  /** The highest index known committed anywhere. */
  get highestCommitted(): number {
    return this.maxCommitted;
  }

  private recordCommitted(node: NodeId, core: RaftCore, from: number, to: number): void {
    for (let index = from + 1; index <= to; index++) {
      const term = core.termAt(index);
      if (term === undefined) continue;
      const known = this.committedTerms.get(index);
      if (known === undefined) this.committedTerms.set(index, term);
      else if (known !== term) {
        throw new InvariantViolation(
          `State Machine Safety: ${node} committed term ${term} at index ${index}, another node term ${known}`,
        );
      }
    }
    if (to > this.maxCommitted) this.maxCommitted = to;
  }

  private checkLeaderCompleteness(node: NodeId, core: RaftCore): void {
    const index = this.maxCommitted;
    if (index === 0) return;
    if (core.lastIndex < index) {
      throw new InvariantViolation(
        `Leader Completeness: ${node} leads term ${core.term} with last index ${core.lastIndex} < committed ${index}`,
      );
    }
    const term = core.termAt(index);
    const committedTerm = this.committedTerms.get(index);
    if (term !== undefined && committedTerm !== undefined && term !== committedTerm) {
      throw new InvariantViolation(
        `Leader Completeness: ${node} leads term ${core.term} with term ${term} at committed index ${index} (committed term ${committedTerm})`,
      );
    }
  }

  private termBefore(core: RaftCore, index: number): number | undefined {
    return index <= 1 ? 0 : core.termAt(index - 1);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
