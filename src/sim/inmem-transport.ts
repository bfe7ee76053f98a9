// One simulated node's end of the in-memory network (hashicorp/raft's InmemTransport): what the driver sends goes
// through RaftNetwork, which decides each message's fate (cut link, loss, delay, duplicate) on virtual time.
import type { RaftTransport } from '../raft/driver-ports.js';
import type { Message, NodeId } from '../raft/types.js';
import type { RaftNetwork } from './raft-network.js';

/** Runs `action` after `delayMs` of virtual time. */
export type VirtualTimer = (delayMs: number, action: () => void) => void;

/**
 * The RaftTransport of one node incarnation: a crashed node's transport is closed and sends nothing more (what it
 * sent before is still in flight). Links are cut and healed on the shared RaftNetwork (partition, isolate,
 * disconnect, connect, heal), so every peer is always "connected" at this level and setPeers has nothing to do.
 */
export class InmemTransport implements RaftTransport {
  private closed = false;

  constructor(
    private readonly network: RaftNetwork,
    private readonly after: VirtualTimer,
    /** Hands a message that survived the network to its addressee (which checks the link again on arrival). */
    private readonly deliver: (message: Message) => void,
  ) {}

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const message of messages) {
      for (const delayMs of this.network.route(message)) this.after(delayMs, () => this.deliver(message));
    }
  }

  setPeers(_addresses: Readonly<Record<NodeId, string>>): void {}

  close(): void {
    this.closed = true;
  }
}
