// The pure Raft core (etcd-io/raft's shape): elections, replication, snapshots, membership, transfer and ReadIndex.
import { ForelockError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { ConfHistory, confChangeProblem, encodeConfChange, isMember } from './conf.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { quorumOf } from './quorum.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  NodeId,
  RaftConfig,
  RaftCoreApi,
  ReadState,
  Ready,
  RestoredState,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from './types.js';

type State = 'follower' | 'pre-candidate' | 'candidate' | 'leader';
type AppendMessage = Extract<Message, { type: 'append' }>;
type AppendResponse = Extract<Message, { type: 'append-response' }>;
type VoteRequest = Extract<Message, { type: 'vote' | 'pre-vote' }>;
type SnapshotChunk = Extract<Message, { type: 'snapshot' }>;
type SnapshotResponse = Extract<Message, { type: 'snapshot-response' }>;

/** A ReadIndex request waiting for its heartbeat round to be acknowledged by a quorum (thesis §6.4). */
interface PendingRead {
  readonly context: string;
  readonly index: number;
  readonly round: number;
}

/** An InstallSnapshot being received, chunk by chunk. */
interface IncomingSnapshot {
  readonly meta: SnapshotMeta;
  readonly chunks: Uint8Array[];
  size: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Heartbeat intervals in which a follower answered but its match did not move while appends were outstanding,
 * after which a pipelining leader assumes those appends were lost and probes again.
 */
const STALLED_HEARTBEATS = 3;

/**
 * The Raft state machine of one node. It never reads a clock, sets a timer, touches a disk or a socket: time
 * moves by tick(), messages come in through step(), and everything to persist, send and apply comes out through
 * ready(), which the driver acknowledges with advance() once it has done it all, in the documented order.
 *
 * Follows etcd-io/raft for PreVote, CheckQuorum with leader lease, flow control (probe/replicate/snapshot),
 * and for counting the leader's own entries toward the quorum only once they are persisted.
 * Restart: the driver restores the state machine from `restored.snapshot` itself; the core then hands out
 * committed entries after the snapshot.
 */
export class RaftCore implements RaftCoreApi {
  readonly id: NodeId;
  private readonly log: RaftLog;
  private readonly confs: ConfHistory;
  private currentTerm: number;
  private votedFor: NodeId | null;
  private leaderId: NodeId | null = null;
  private state: State = 'follower';

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  private readonly votes = new Map<NodeId, boolean>();

  private readonly progress = new Map<NodeId, Progress>();
  /** The latest local snapshot (made by compact() or installed from the leader), sent to lagging followers. */
  private snapshot: Snapshot | null;
  /** A snapshot installed from the leader, not yet handed to the driver. */
  private pendingSnapshot: Snapshot | null = null;
  private incoming: IncomingSnapshot | null = null;

  private messages: Message[] = [];
  private readStates: ReadState[] = [];
  private reads: PendingRead[] = [];
  /** ReadIndex requests received before this leader committed an entry of its term. */
  private readsAwaitingCommit: string[] = [];
  private readRound = 1;
  private readonly readRoundAcks = new Map<number, Set<NodeId>>();
  private readRoundDirty = false;

  private transferee: NodeId | null = null;
  private transferElapsed = 0;
  /** Leader: something may need sending (new entries, a changed progress, a new member). */
  private appendDirty = false;
  /** Leader: the commit index moved, so followers that get no append this round get a commit notice. */
  private commitDirty = false;

  private prevHardState: HardState;
  private prevSoftState: SoftState;

  constructor(
    private readonly config: RaftConfig,
    restored: RestoredState,
    private readonly rng: Rng,
  ) {
    this.id = config.id;
    const snapshot = restored.snapshot;
    this.log = new RaftLog(
      snapshot?.meta.index ?? 0,
      snapshot?.meta.term ?? 0,
      restored.entries,
      restored.hardState.commit,
    );
    this.confs = new ConfHistory(snapshot?.meta.conf ?? restored.initialConf);
    this.confs.onAppend(restored.entries);
    this.snapshot = snapshot;
    this.currentTerm = restored.hardState.term;
    this.votedFor = restored.hardState.votedFor;
    this.prevHardState = restored.hardState;
    this.becomeFollower(this.currentTerm, null);
    this.prevSoftState = this.softState();
  }

  get role(): Role {
    if (this.state === 'follower' && this.conf.learners.includes(this.id)) return 'learner';
    return this.state;
  }

  get term(): number {
    return this.currentTerm;
  }

  get leader(): NodeId | null {
    return this.leaderId;
  }

  get commitIndex(): number {
    return this.log.committed;
  }

  get lastIndex(): number {
    return this.log.lastIndex();
  }

  get conf(): ConfState {
    return this.confs.current();
  }

  /** Term of the entry at `index` (undefined when compacted or beyond the log), for drivers and checkers. */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  /**
   * On the leader, the highest index known replicated on `id` (its own persisted index for itself); undefined on
   * other nodes or for non-members. Drivers use it to promote a learner only once it has caught up.
   */
  matchIndex(id: NodeId): number | undefined {
    if (this.state !== 'leader') return undefined;
    return id === this.id ? this.log.persisted : this.progress.get(id)?.match;
  }

  /**
   * On the leader, the members it has heard from within the last election timeout, itself included (etcd's strict
   * reconfiguration counts these as the started members); empty on other nodes.
   */
  activeMembers(): Set<NodeId> {
    if (this.state !== 'leader') return new Set();
    const active = new Set<NodeId>([this.id]);
    for (const [id, pr] of this.progress) {
      if (pr.ticksSinceHeard < this.config.electionTicks) active.add(id);
    }
    return active;
  }

  /** Index of the latest local snapshot (0 when none). */
  get snapshotIndex(): number {
    return this.log.snapshotIndex;
  }

  /** The latest local snapshot (what compact() made, or what was installed from the leader), for its driver. */
  get latestSnapshot(): Snapshot | null {
    return this.snapshot;
  }

  // ---- driving ----

  tick(): void {
    if (this.state === 'leader') this.tickLeader();
    else this.tickElection();
  }

  propose(data: Uint8Array): { index: number; term: number } | null {
    if (this.state !== 'leader' || this.transferee !== null) return null;
    return this.appendOwn('normal', data);
  }

  proposeConfChange(change: ConfChange): { index: number; term: number } | null {
    if (this.state !== 'leader' || this.transferee !== null) return null;
    // A leader changes membership only after committing an entry of its term, one change at a time (thesis §4.1).
    if (this.log.term(this.log.committed) !== this.currentTerm) return null;
    if (this.confs.lastChangeIndex() > this.log.committed) return null;
    if (confChangeProblem(this.conf, change) !== null) return null;
    const position = this.appendOwn('conf-change', encodeConfChange(change));
    this.syncProgressWithConf();
    return position;
  }

  transferLeadership(to: NodeId): boolean {
    if (this.state !== 'leader' || to === this.id || !this.conf.voters.includes(to)) return false;
    const pr = this.progress.get(to);
    if (pr === undefined) return false;
    if (this.transferee === to) return true;
    this.transferee = to;
    this.transferElapsed = 0;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeout-now', to });
    else this.appendDirty = true;
    return true;
  }

  /**
   * On the leader, answers with a ReadState once a heartbeat round confirms leadership (and, for a new leader, once
   * it has committed an entry of its term). On any other node it does nothing: forwarding to the leader is the
   * driver's business. Reads still pending when the leader steps down are dropped; the driver fails them on the
   * role change.
   */
  readIndex(context: string): void {
    if (this.state !== 'leader') return;
    if (this.log.term(this.log.committed) !== this.currentTerm) {
      this.readsAwaitingCommit.push(context);
      return;
    }
    this.startRead(context);
  }

  compact(index: number, data: Uint8Array): void {
    if (index <= this.log.snapshotIndex) return;
    if (index > this.log.appliedTo) {
      throw new ForelockError(
        `cannot compact to ${index}: only entries up to ${this.log.appliedTo} were handed out to apply`,
        'RAFT_COMPACT_BEYOND_APPLIED',
        false,
      );
    }
    const meta: SnapshotMeta = { index, term: this.log.term(index) as number, conf: this.confs.at(index) };
    this.snapshot = { meta, data };
    this.log.compact(index);
    this.confs.compact(index);
  }

  reportUnreachable(to: NodeId): void {
    const pr = this.progress.get(to);
    if (pr === undefined) return;
    if (pr.state === 'replicate') pr.becomeProbe(pr.match + 1);
    else if (pr.transfer !== null) {
      // Restart the InstallSnapshot from its first chunk once the resend interval has passed.
      pr.transfer.offset = 0;
      pr.transfer.idleTicks = 0;
    }
  }

  step(m: Message): void {
    if (m.from === this.id || m.to !== this.id) return;
    if (m.term > this.currentTerm) {
      if (m.type === 'pre-vote' || m.type === 'vote') {
        // Leader lease (etcd's inLease): a node that heard from a leader within the election timeout ignores
        // (pre)votes, so a partitioned node rejoining cannot depose a healthy leader. A transfer overrides it.
        const inLease =
          this.config.checkQuorum && this.leaderId !== null && this.electionElapsed < this.config.electionTicks;
        if (inLease && !m.transfer) return;
      }
      const keepsTerm = m.type === 'pre-vote' || (m.type === 'pre-vote-response' && m.granted);
      if (!keepsTerm) {
        const fromLeader = m.type === 'append' || m.type === 'snapshot' || m.type === 'timeout-now';
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.currentTerm) {
      if (m.type === 'append' && (this.config.checkQuorum || this.config.preVote)) {
        // Tell a stale leader about the newer term so it steps down (it may be stuck behind a partition).
        this.send({ type: 'append-response', to: m.from, success: false, index: 0 });
      } else if (m.type === 'pre-vote') {
        this.send({ type: 'pre-vote-response', to: m.from, granted: false });
      }
      return;
    }

    switch (m.type) {
      case 'pre-vote':
      case 'vote':
        this.handleVoteRequest(m);
        return;
      case 'pre-vote-response':
        if (this.state === 'pre-candidate' && (!m.granted || m.term === this.currentTerm + 1)) {
          this.poll(m.from, m.granted);
        }
        return;
      case 'vote-response':
        if (this.state === 'candidate') this.poll(m.from, m.granted);
        return;
      case 'append':
        if (this.followLeader(m.from)) this.handleAppend(m);
        return;
      case 'snapshot':
        if (this.followLeader(m.from)) this.handleSnapshotChunk(m);
        return;
      case 'timeout-now':
        if (this.followLeader(m.from) && this.conf.voters.includes(this.id)) this.campaign('vote', true);
        return;
      case 'append-response':
        if (this.state === 'leader') this.handleAppendResponse(m);
        return;
      case 'snapshot-response':
        if (this.state === 'leader') this.handleSnapshotResponse(m);
        return;
    }
  }

  hasReady(): boolean {
    return (
      this.messages.length > 0 ||
      this.readStates.length > 0 ||
      this.pendingSnapshot !== null ||
      this.log.unstableFrom <= this.log.lastIndex() ||
      this.log.committed > this.log.appliedTo ||
      (this.state === 'leader' && (this.appendDirty || this.commitDirty || this.readRoundDirty)) ||
      this.currentTerm !== this.prevHardState.term ||
      this.votedFor !== this.prevHardState.votedFor ||
      this.log.committed !== this.prevHardState.commit ||
      !sameSoftState(this.softState(), this.prevSoftState)
    );
  }

  ready(): Ready {
    this.flushAppends();
    const log = this.log;
    const last = log.lastIndex();
    const entries = log.unstableFrom <= last ? log.slice(log.unstableFrom, last + 1) : [];
    log.unstableFrom = last + 1;
    const committedEntries = log.committed > log.appliedTo ? log.slice(log.appliedTo + 1, log.committed + 1) : [];
    log.appliedTo = log.committed;
    const snapshot = this.pendingSnapshot;
    this.pendingSnapshot = null;

    const hardState = this.hardState();
    const hardChanged = !sameHardState(hardState, this.prevHardState);
    const voteChanged =
      hardState.term !== this.prevHardState.term || hardState.votedFor !== this.prevHardState.votedFor;
    this.prevHardState = hardState;
    const softState = this.softState();
    const softChanged = !sameSoftState(softState, this.prevSoftState);
    this.prevSoftState = softState;

    const messages = this.messages;
    this.messages = [];
    const readStates = this.readStates;
    this.readStates = [];
    const ready: { -readonly [K in keyof Ready]: Ready[K] } = {
      entries,
      committedEntries,
      messages,
      readStates,
      mustSync: entries.length > 0 || voteChanged || snapshot !== null,
    };
    if (softChanged) ready.softState = softState;
    if (hardChanged) ready.hardState = hardState;
    if (snapshot !== null) ready.snapshot = snapshot;
    return ready;
  }

  advance(ready: Ready): void {
    const log = this.log;
    if (ready.snapshot !== undefined && log.snapshotIndex === ready.snapshot.meta.index) {
      log.persisted = Math.max(log.persisted, ready.snapshot.meta.index);
    }
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined && log.term(lastEntry.index) === lastEntry.term) {
      log.persisted = Math.max(log.persisted, lastEntry.index);
    }
    if (this.state === 'leader') this.maybeCommit();
  }

  // ---- roles ----

  private becomeFollower(term: number, leader: NodeId | null): void {
    if (term !== this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = null;
    }
    this.state = 'follower';
    this.leaderId = leader;
    this.resetTimers();
    this.dropLeaderState();
  }

  /** Starts a PreVote round or a real election (thesis §9.6: PreVote first, unless a transfer asked to skip it). */
  private campaign(kind: 'pre-vote' | 'vote', transfer = false): void {
    this.dropLeaderState();
    this.leaderId = null;
    this.votes.clear();
    this.resetTimers();
    if (kind === 'pre-vote') {
      this.state = 'pre-candidate';
    } else {
      this.state = 'candidate';
      this.currentTerm += 1;
      this.votedFor = this.id;
    }
    if (this.poll(this.id, true) !== 'pending') return;
    const voteTerm = kind === 'pre-vote' ? this.currentTerm + 1 : this.currentTerm;
    for (const voter of this.conf.voters) {
      if (voter === this.id) continue;
      this.messages.push({
        type: kind,
        from: this.id,
        to: voter,
        term: voteTerm,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        ...(transfer ? { transfer: true } : {}),
      });
    }
  }

  /** Records a (pre)vote and acts on a decided election. */
  private poll(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    const voters = this.conf.voters;
    if (!voters.includes(from)) return 'pending';
    if (!this.votes.has(from)) this.votes.set(from, granted);
    let grants = 0;
    let rejects = 0;
    for (const voter of voters) {
      const vote = this.votes.get(voter);
      if (vote === true) grants += 1;
      else if (vote === false) rejects += 1;
    }
    const quorum = quorumOf(voters.length);
    if (grants >= quorum) {
      if (this.state === 'pre-candidate') this.campaign('vote');
      else this.becomeLeader();
      return 'won';
    }
    if (rejects > voters.length - quorum) {
      this.becomeFollower(this.currentTerm, null);
      return 'lost';
    }
    return 'pending';
  }

  private becomeLeader(): void {
    this.state = 'leader';
    this.leaderId = this.id;
    this.resetTimers();
    this.progress.clear();
    this.syncProgressWithConf();
    // Raft §8: a new leader commits an empty entry of its term, which also commits its predecessors' entries.
    this.appendOwn('noop', EMPTY);
  }

  private dropLeaderState(): void {
    this.transferee = null;
    this.reads = [];
    this.readsAwaitingCommit = [];
    this.readRoundAcks.clear();
    this.readRoundDirty = false;
    this.appendDirty = false;
    this.commitDirty = false;
  }

  private resetTimers(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    const base = this.config.electionTicks;
    this.randomizedElectionTicks = base + Math.floor(this.rng.next() * base);
  }

  /** True when this node is the one and only voter of the configuration in force. */
  private isSoleVoter(): boolean {
    const voters = this.conf.voters;
    return voters.length === 1 && voters[0] === this.id;
  }

  /** Accepts `from` as this term's leader; false when this node is itself the leader (never two in a term). */
  private followLeader(from: NodeId): boolean {
    if (this.state === 'leader') return false;
    if (this.state !== 'follower') this.becomeFollower(this.currentTerm, from);
    this.leaderId = from;
    this.electionElapsed = 0;
    return true;
  }

  // ---- time ----

  private tickElection(): void {
    this.electionElapsed += 1;
    // The only voter of its configuration is the whole quorum: no other node can lead it, so there is no leader to
    // hear from and nothing to wait for. It campaigns on its first tick (a restarted one-node cluster serves again at
    // once, not 1-2 s later; issue 13). Safety never rests on the timeout, only on the votes.
    if (this.electionElapsed < this.randomizedElectionTicks && !this.isSoleVoter()) return;
    this.electionElapsed = 0;
    if (!this.conf.voters.includes(this.id)) return;
    this.campaign(this.config.preVote ? 'pre-vote' : 'vote');
  }

  private tickLeader(): void {
    this.heartbeatElapsed += 1;
    this.electionElapsed += 1;
    for (const pr of this.progress.values()) pr.ticksSinceHeard += 1;
    if (this.transferee !== null) {
      this.transferElapsed += 1;
      if (this.transferElapsed >= this.config.electionTicks) this.transferee = null;
    }
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.currentTerm, null);
          return;
        }
        for (const pr of this.progress.values()) pr.recentActive = false;
      }
    }
    const resendTicks = Math.max(1, this.config.electionTicks >> 1);
    for (const [id, pr] of this.progress) {
      if (pr.transfer === null) continue;
      pr.transfer.idleTicks += 1;
      if (pr.transfer.idleTicks >= resendTicks) this.sendSnapshotChunk(id, pr);
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      for (const [id, pr] of this.progress) {
        // Alive, yet its match has not moved for several heartbeats while appends were outstanding: they were lost.
        if (pr.stalledHeartbeat() >= STALLED_HEARTBEATS) pr.becomeProbe(pr.match + 1);
        this.sendHeartbeat(id, pr);
      }
    }
  }

  private quorumActive(): boolean {
    const voters = this.conf.voters;
    let active = 0;
    for (const voter of voters) {
      if (voter === this.id || this.progress.get(voter)?.recentActive === true) active += 1;
    }
    return active >= quorumOf(voters.length);
  }

  // ---- votes ----

  private handleVoteRequest(m: VoteRequest): void {
    const canVote =
      this.votedFor === m.from ||
      (this.votedFor === null && this.leaderId === null) ||
      (m.type === 'pre-vote' && m.term > this.currentTerm);
    const granted = canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
    const responseType = m.type === 'vote' ? 'vote-response' : 'pre-vote-response';
    this.messages.push({
      type: responseType,
      from: this.id,
      to: m.from,
      term: granted ? m.term : this.currentTerm,
      granted,
    });
    if (granted && m.type === 'vote') {
      this.votedFor = m.from;
      this.electionElapsed = 0;
    }
  }

  // ---- replication, follower side ----

  private handleAppend(m: AppendMessage): void {
    const log = this.log;
    const readContext = m.readContext !== undefined ? { readContext: m.readContext } : {};
    if (m.prevLogIndex < log.committed) {
      this.send({ type: 'append-response', to: m.from, success: true, index: log.committed, ...readContext });
      return;
    }
    if (log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
      const lastNew = m.prevLogIndex + m.entries.length;
      this.appendFromLeader(m.entries);
      const commit = Math.min(m.commit, lastNew);
      if (commit > log.committed) log.committed = commit;
      this.send({ type: 'append-response', to: m.from, success: true, index: lastNew, ...readContext });
      return;
    }
    // Fast backtracking (Raft §5.3): name the conflicting term and where it starts, or where the log ends.
    const last = log.lastIndex();
    const rejectHint =
      m.prevLogIndex > last
        ? { term: 0, index: last + 1 }
        : { term: log.term(m.prevLogIndex) as number, index: log.firstIndexOfTerm(m.prevLogIndex) };
    this.send({
      type: 'append-response',
      to: m.from,
      success: false,
      index: m.prevLogIndex,
      rejectHint,
      ...readContext,
    });
  }

  /** Appends the leader's entries, truncating the first conflicting suffix (never a committed entry). */
  private appendFromLeader(entries: readonly Entry[]): void {
    const log = this.log;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      const existing = log.term(entry.index);
      if (existing === entry.term) continue;
      if (existing !== undefined) {
        log.truncateFrom(entry.index);
        this.confs.onTruncate(entry.index);
      }
      const rest = i === 0 ? entries : entries.slice(i);
      log.append(rest);
      this.confs.onAppend(rest);
      return;
    }
  }

  private handleSnapshotChunk(m: SnapshotChunk): void {
    const sameSnapshot = (meta: SnapshotMeta) => meta.index === m.meta.index && meta.term === m.meta.term;
    // A new snapshot starts a new buffer; the same snapshot resumes where it got to (a late duplicate of an early
    // chunk, or a leader restarting the transfer, is answered with the offset reached).
    if (m.offset === 0 && (this.incoming === null || !sameSnapshot(this.incoming.meta))) {
      this.incoming = { meta: m.meta, chunks: [], size: 0 };
    }
    const incoming = this.incoming;
    const respond = (success: boolean, offset: number) =>
      this.send({ type: 'snapshot-response', to: m.from, index: m.meta.index, offset, success });
    if (incoming === null || !sameSnapshot(incoming.meta)) {
      respond(false, 0);
      return;
    }
    if (m.offset !== incoming.size) {
      // A duplicate says where we are; a gap asks the leader to resend from there.
      respond(m.offset < incoming.size, incoming.size);
      return;
    }
    incoming.chunks.push(m.chunk);
    incoming.size += m.chunk.length;
    if (!m.done) {
      respond(true, incoming.size);
      return;
    }
    this.incoming = null;
    this.installSnapshot(m.from, { meta: m.meta, data: concat(incoming.chunks, incoming.size) });
  }

  private installSnapshot(from: NodeId, snapshot: Snapshot): void {
    const log = this.log;
    const { index, term } = snapshot.meta;
    if (index <= log.committed) {
      this.send({ type: 'append-response', to: from, success: true, index: log.committed });
      return;
    }
    if (log.matchTerm(index, term)) {
      // The log already holds the snapshot's last entry: it just learned that entry is committed.
      log.committed = index;
      this.send({ type: 'append-response', to: from, success: true, index });
      return;
    }
    log.restore(index, term);
    this.confs.reset(snapshot.meta.conf);
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
    this.send({ type: 'append-response', to: from, success: true, index });
  }

  // ---- replication, leader side ----

  private appendOwn(type: EntryType, data: Uint8Array): { index: number; term: number } {
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.currentTerm, type, data };
    this.log.append([entry]);
    if (type === 'conf-change') this.confs.onAppend([entry]);
    this.appendDirty = true;
    return { index: entry.index, term: entry.term };
  }

  /** Keeps one Progress per member other than this leader. */
  private syncProgressWithConf(): void {
    const conf = this.conf;
    for (const id of [...conf.voters, ...conf.learners]) {
      if (id !== this.id && !this.progress.has(id)) this.progress.set(id, new Progress(this.log.lastIndex() + 1));
    }
    for (const id of this.progress.keys()) {
      if (!isMember(conf, id)) this.progress.delete(id);
    }
    if (this.transferee !== null && !conf.voters.includes(this.transferee)) this.transferee = null;
    this.appendDirty = true;
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.ticksSinceHeard = 0;
    pr.heardSinceHeartbeat = true;
    if (m.readContext !== undefined) this.handleReadAck(m.from, m.readContext);
    if (!m.success) {
      this.handleReject(pr, m);
      return;
    }
    if (pr.acknowledge(m.index)) {
      if (pr.state === 'probe') pr.becomeReplicate();
      else if (pr.state === 'snapshot' && pr.match >= (pr.transfer as { snapshot: Snapshot }).snapshot.meta.index) {
        pr.becomeReplicate();
      }
      this.maybeCommit();
      if (this.transferee === m.from && pr.match === this.log.lastIndex()) {
        this.send({ type: 'timeout-now', to: m.from });
      }
    } else if (pr.state === 'probe') {
      // A heartbeat answer: the follower is alive, so retry a probe that may have been lost.
      pr.probeSent = false;
    }
    this.appendDirty = true;
  }

  private handleReject(pr: Progress, m: AppendResponse): void {
    // Ignore rejections of appends that are no longer the latest probe (stale or duplicated answers).
    if (pr.state === 'replicate' && m.index <= pr.match) return;
    if (pr.state === 'probe' && m.index !== pr.next - 1) return;
    if (pr.state === 'snapshot') return;
    const hint = m.rejectHint;
    let next = m.index;
    if (hint !== undefined) {
      const lastOfTerm = hint.term === 0 ? undefined : this.log.lastIndexOfTerm(hint.term, m.index);
      next = lastOfTerm !== undefined ? lastOfTerm + 1 : hint.index;
    }
    pr.becomeProbe(Math.min(next, m.index));
    this.appendDirty = true;
  }

  private handleSnapshotResponse(m: SnapshotResponse): void {
    const pr = this.progress.get(m.from);
    const transfer = pr?.transfer;
    if (pr === undefined || transfer == null || transfer.snapshot.meta.index !== m.index) return;
    pr.recentActive = true;
    pr.ticksSinceHeard = 0;
    if (m.offset > transfer.snapshot.data.length) return;
    if (m.success) {
      if (m.offset <= transfer.offset) return;
      transfer.offset = m.offset;
      if (m.offset < transfer.snapshot.data.length) this.sendSnapshotChunk(m.from, pr);
      return;
    }
    transfer.offset = m.offset;
    this.sendSnapshotChunk(m.from, pr);
  }

  /** Commits the highest index a quorum of voters holds, if it is of the current term (Raft §5.4.2). */
  private maybeCommit(): void {
    const voters = this.conf.voters;
    if (voters.length === 0) return;
    const matches = voters.map((voter) =>
      voter === this.id ? this.log.persisted : (this.progress.get(voter)?.match ?? 0),
    );
    matches.sort((a, b) => b - a);
    const index = matches[quorumOf(voters.length) - 1] as number;
    if (index <= this.log.committed || this.log.term(index) !== this.currentTerm) return;
    this.log.committed = index;
    this.commitDirty = true;
    this.appendDirty = true;
    if (this.readsAwaitingCommit.length > 0) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const context of waiting) this.startRead(context);
    }
    if (!voters.includes(this.id) && this.confs.lastChangeIndex() <= index) {
      // A leader removed from the configuration steps down once its removal is committed (thesis §4.2.2),
      // after telling its followers about the commit.
      this.flushAppends();
      this.becomeFollower(this.currentTerm, null);
    }
  }

  /** Sends whatever each follower needs: new entries (batched, pipelined), a snapshot, a commit notice, reads. */
  private flushAppends(): void {
    if (this.state !== 'leader') return;
    let readContext: string | undefined;
    if (this.readRoundDirty) {
      const round = this.readRound++;
      this.readRoundAcks.set(round, new Set(this.conf.voters.includes(this.id) ? [this.id] : []));
      readContext = String(round);
      this.readRoundDirty = false;
    }
    for (const [id, pr] of this.progress) {
      const sent = this.sendAppends(id, pr);
      // A commit notice goes only to a follower that got nothing else and whose pipeline has room (as etcd's
      // bcastAppend): under load the next append carries the commit index anyway.
      const commitNotice =
        !sent &&
        this.commitDirty &&
        pr.canSend(this.config.maxInflight) &&
        Math.min(this.log.committed, pr.match) > pr.commitSent;
      if (readContext !== undefined || commitNotice) {
        this.sendHeartbeat(id, pr, readContext);
      }
    }
    this.appendDirty = false;
    this.commitDirty = false;
  }

  /** Sends appends to one follower as far as its flow control allows; returns whether anything was sent. */
  private sendAppends(to: NodeId, pr: Progress): boolean {
    const log = this.log;
    const last = log.lastIndex();
    let sent = false;
    while (pr.canSend(this.config.maxInflight)) {
      if (pr.state === 'replicate' && pr.next > last) break;
      const prevLogIndex = pr.next - 1;
      const prevLogTerm = log.term(prevLogIndex);
      if (prevLogTerm === undefined) {
        if (this.snapshot === null) break;
        pr.becomeSnapshot(this.snapshot);
        this.sendSnapshotChunk(to, pr);
        return true;
      }
      const lastSent = Math.min(last, prevLogIndex + this.config.maxEntriesPerAppend);
      const entries = lastSent > prevLogIndex ? log.slice(pr.next, lastSent + 1) : [];
      this.send({ type: 'append', to, prevLogIndex, prevLogTerm, entries, commit: log.committed });
      pr.commitSent = Math.max(pr.commitSent, Math.min(log.committed, lastSent));
      sent = true;
      if (pr.state === 'probe') {
        pr.probeSent = true;
        break;
      }
      pr.next = lastSent + 1;
      pr.inflight.push(lastSent);
    }
    return sent;
  }

  /**
   * A heartbeat: an empty append anchored at the follower's match, carrying the commit index capped by that match
   * (so it never asks a follower to commit entries it may not hold), and the ReadIndex round when there is one.
   */
  private sendHeartbeat(to: NodeId, pr: Progress, readContext?: string): void {
    const matchTerm = this.log.term(pr.match);
    const prevLogIndex = matchTerm === undefined ? 0 : pr.match;
    const commit = Math.min(this.log.committed, prevLogIndex);
    pr.commitSent = Math.max(pr.commitSent, commit);
    this.send({
      type: 'append',
      to,
      prevLogIndex,
      prevLogTerm: matchTerm ?? 0,
      entries: [],
      commit,
      ...(readContext !== undefined ? { readContext } : {}),
    });
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const transfer = pr.transfer;
    if (transfer === null) return;
    const { snapshot, offset } = transfer;
    const end = Math.min(snapshot.data.length, offset + this.config.snapshotChunkBytes);
    transfer.idleTicks = 0;
    this.send({
      type: 'snapshot',
      to,
      meta: snapshot.meta,
      offset,
      chunk: snapshot.data.subarray(offset, end),
      done: end >= snapshot.data.length,
    });
  }

  // ---- ReadIndex ----

  private startRead(context: string): void {
    if (this.isSoleVoter()) {
      this.readStates.push({ index: this.log.committed, context });
      return;
    }
    this.reads.push({ context, index: this.log.committed, round: this.readRound });
    this.readRoundDirty = true;
  }

  private handleReadAck(from: NodeId, readContext: string): void {
    const round = Number(readContext);
    const acks = this.readRoundAcks.get(round);
    if (acks === undefined || !this.conf.voters.includes(from)) return;
    acks.add(from);
    if (acks.size < quorumOf(this.conf.voters.length)) return;
    let released = 0;
    while (released < this.reads.length && (this.reads[released] as PendingRead).round <= round) {
      const read = this.reads[released] as PendingRead;
      this.readStates.push({ index: read.index, context: read.context });
      released += 1;
    }
    this.reads.splice(0, released);
    for (const pending of this.readRoundAcks.keys()) if (pending <= round) this.readRoundAcks.delete(pending);
  }

  // ---- helpers ----

  /**
   * Queues a message from this node at the current term. Every caller passes a fresh literal, so it is completed in
   * place: copying it with a spread and two more fields costs V8 a slow path (about a microsecond) per message.
   */
  private send(message: DistributiveOmit<Message, 'from' | 'term'>): void {
    const sent = message as { -readonly [K in keyof Message]: Message[K] };
    sent.from = this.id;
    sent.term = this.currentTerm;
    this.messages.push(sent as Message);
  }

  private hardState(): HardState {
    return { term: this.currentTerm, votedFor: this.votedFor, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { leader: this.leaderId, role: this.role, term: this.currentTerm };
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role && a.term === b.term;
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const data = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return data;
}
