// Which session streams are connected to this node: routes the state machine's events to them and ends them all
// with NotLeader when this node stops leading (so SDKs fail over).
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

/** The registry of connected session streams on one node. */
export class SessionHub {
  private readonly streams = new Map<string, ConnectedStream>();
  private readonly unsubscribe: (() => void)[];

  constructor(machine: LockStateMachine, raft: RaftNodeApi) {
    this.unsubscribe = [
      machine.onEvent((event) => this.streams.get(event.sessionId)?.onLockEvent(event)),
      raft.onStatusChange((status) => {
        if (status.role !== 'leader')
          this.endAll((stream) => stream.leadershipLost(status.leaderId, status.leaderAddress));
      }),
    ];
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

  /** Ends every stream with `how` and forgets them. */
  private endAll(how: (stream: ConnectedStream) => void): void {
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) how(stream);
  }

  /** Stops listening; streams still connected are told to find another node (no leader hint: this one stops). */
  close(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.endAll((stream) => stream.leadershipLost(null, null));
  }
}
