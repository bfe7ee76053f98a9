// Which session streams are connected to this node: routes the state machine's events to them and ends them all
// with NotLeader when this node stops leading (so SDKs fail over), naming the new leader as soon as this node knows it.
import type { LockEvent } from '../lock/commands.js';
import type { LockStateMachine } from '../lock/state-machine.js';
import type { RaftNodeApi } from '../raft/node-api.js';
import type { ServerFramePayload } from './wire.js';

/** What the hub needs of a connected session stream. */
export interface ConnectedStream {
  /** An applied event concerning this stream's session. */
  onLockEvent(event: LockEvent): void;
  /** A frame the leader sends on its own (a Staleness Warning, a Pre-emption Request). */
  push(payload: ServerFramePayload): void;
  /** This node no longer leads (or shuts down): answer NotLeader with the leader hint, if any, and end. */
  leadershipLost(leaderId: string | null, leaderAddress: string | null): void;
  /** Another stream resumed the same session: end this one. */
  superseded(): void;
}

/** Options of a SessionHub. */
export interface SessionHubOptions {
  /**
   * How long a NotLeader frame may wait for this node to learn who leads now (a leader that steps down often does not
   * know its successor yet; it learns it from the new leader's first message). Then it is sent without a hint.
   * Default DEFAULT_LEADER_HINT_WAIT_MS.
   */
  readonly leaderHintWaitMs?: number;
}

/** Default wait for a leader hint: about one election timeout, long enough for a leadership transfer to complete. */
export const DEFAULT_LEADER_HINT_WAIT_MS = 1_000;

/** Who leads, as a NotLeader frame names it (nulls: not known). */
type LeaderHint = (leaderId: string | null, leaderAddress: string | null) => void;

/** The registry of connected session streams on one node. */
export class SessionHub {
  private readonly streams = new Map<string, ConnectedStream>();
  private readonly unsubscribe: (() => void)[];
  private readonly leaderHintWaitMs: number;
  /** Waiting for a leader hint (`whenLeaderKnown`), told together. */
  private hintWaiters: LeaderHint[] = [];
  private hintTimer: NodeJS.Timeout | null = null;

  constructor(
    machine: LockStateMachine,
    private readonly raft: RaftNodeApi,
    options: SessionHubOptions = {},
  ) {
    this.leaderHintWaitMs = options.leaderHintWaitMs ?? DEFAULT_LEADER_HINT_WAIT_MS;
    this.unsubscribe = [
      machine.onEvent((event) => this.streams.get(event.sessionId)?.onLockEvent(event)),
      raft.onStatusChange((status) => {
        if (status.leaderId !== null) this.tellLeader(status.leaderId, status.leaderAddress);
        if (status.role !== 'leader') {
          const streams = this.takeAll();
          if (streams.length > 0) {
            this.whenLeaderKnown((leaderId, leaderAddress) => {
              for (const stream of streams) stream.leadershipLost(leaderId, leaderAddress);
            });
          }
        }
      }),
    ];
  }

  /**
   * Calls `tell` with the leader's id and address: at once when this node knows the leader, else as soon as it
   * learns it, or with nulls after `leaderHintWaitMs` (so a NotLeader frame names the new leader whenever this node
   * knows it, and is never held back long).
   */
  whenLeaderKnown(tell: LeaderHint): void {
    const status = this.raft.status();
    if (status.leaderId !== null) {
      tell(status.leaderId, status.leaderAddress);
      return;
    }
    this.hintWaiters.push(tell);
    if (this.hintTimer === null) {
      this.hintTimer = setTimeout(() => this.tellLeader(null, null), this.leaderHintWaitMs);
      this.hintTimer.unref();
    }
  }

  /** Tells everyone waiting for a leader hint. */
  private tellLeader(leaderId: string | null, leaderAddress: string | null): void {
    if (this.hintTimer !== null) clearTimeout(this.hintTimer);
    this.hintTimer = null;
    const waiters = this.hintWaiters;
    this.hintWaiters = [];
    for (const tell of waiters) tell(leaderId, leaderAddress);
  }

  /** Connected sessions. */
  get size(): number {
    return this.streams.size;
  }

  /** Routes `sessionId`'s events to `stream`; an older stream of the same session is superseded. */
  attach(sessionId: string, stream: ConnectedStream): void {
    const previous = this.streams.get(sessionId);
    this.streams.set(sessionId, stream);
    if (previous !== undefined && previous !== stream) previous.superseded();
  }

  /** Whether `stream` is the one `sessionId`'s events are routed to (not superseded, not ended, not taken). */
  isAttached(sessionId: string, stream: ConnectedStream): boolean {
    return this.streams.get(sessionId) === stream;
  }

  /** Sends `payload` on `sessionId`'s stream; false when the session has no stream connected to this node. */
  push(sessionId: string, payload: ServerFramePayload): boolean {
    const stream = this.streams.get(sessionId);
    stream?.push(payload);
    return stream !== undefined;
  }

  /** Stops routing to `stream` (it ended); a newer stream of the session stays attached. */
  detach(sessionId: string, stream: ConnectedStream): void {
    if (this.streams.get(sessionId) === stream) this.streams.delete(sessionId);
  }

  /** Forgets every stream and returns them. */
  private takeAll(): ConnectedStream[] {
    const streams = [...this.streams.values()];
    this.streams.clear();
    return streams;
  }

  /** Stops listening; streams still connected are told to find another node (no leader hint: this one stops). */
  close(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.tellLeader(null, null);
    for (const stream of this.takeAll()) stream.leadershipLost(null, null);
  }
}
