// The simulator's virtual network between Raft nodes: delay, drop, duplicate, reorder, symmetric/one-way partitions.
import type { Message, NodeId } from '../raft/types.js';
import type { SeededRng } from '../util/rng.js';

/** How unreliable the network is; every probability is per message. */
export interface NetworkFaults {
  /** Probability a message is lost. */
  dropRate: number;
  /** Probability a message is delivered twice. */
  duplicateRate: number;
  /** Delivery delay range in ms; messages with different delays overtake each other (reordering). */
  minDelayMs: number;
  maxDelayMs: number;
  /** Probability a message is held back much longer (up to `longDelayMs`), so it arrives far out of order. */
  longDelayRate: number;
  longDelayMs: number;
}

/** A reliable, fast network. */
export const RELIABLE_NETWORK: NetworkFaults = {
  dropRate: 0,
  duplicateRate: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
  longDelayRate: 0,
  longDelayMs: 0,
};

/** What the network decided for one message: the delays of its deliveries (empty when lost). */
export type Deliveries = readonly number[];

/**
 * Decides the fate of each message (hashicorp/raft's in-memory transport with faults): links can be cut one way
 * or both ways, and a cut link loses messages both at send time and when they would have arrived.
 */
export class RaftNetwork {
  faults: NetworkFaults = { ...RELIABLE_NETWORK };
  private readonly cut = new Set<string>();
  /** Messages handed to the network, by type. */
  readonly sent = new Map<Message['type'], number>();
  dropped = 0;

  constructor(private readonly rng: SeededRng) {}

  /** The delays after which `message` arrives (none when lost, two when duplicated). */
  route(message: Message): Deliveries {
    this.sent.set(message.type, (this.sent.get(message.type) ?? 0) + 1);
    const faults = this.faults;
    if (!this.connected(message.from, message.to) || this.rng.chance(faults.dropRate)) {
      this.dropped += 1;
      return [];
    }
    const delay = () =>
      this.rng.chance(faults.longDelayRate)
        ? this.rng.uniform(faults.maxDelayMs, faults.maxDelayMs + faults.longDelayMs)
        : this.rng.uniform(faults.minDelayMs, faults.maxDelayMs);
    return this.rng.chance(faults.duplicateRate) ? [delay(), delay()] : [delay()];
  }

  /** Whether messages from `from` reach `to` now. */
  connected(from: NodeId, to: NodeId): boolean {
    return !this.cut.has(linkKey(from, to));
  }

  /** Cuts every link between the two groups, both ways. */
  partition(groupA: readonly NodeId[], groupB: readonly NodeId[]): void {
    for (const a of groupA) {
      for (const b of groupB) {
        this.cut.add(linkKey(a, b));
        this.cut.add(linkKey(b, a));
      }
    }
  }

  /** Cuts `node` off from every other node in `all`, both ways. */
  isolate(node: NodeId, all: readonly NodeId[]): void {
    this.partition(
      [node],
      all.filter((other) => other !== node),
    );
  }

  /** Cuts the link from `from` to `to` only (`to` still reaches `from`): hashicorp/raft's Disconnect. */
  disconnect(from: NodeId, to: NodeId): void {
    this.cut.add(linkKey(from, to));
  }

  /** Restores the link from `from` to `to` only: hashicorp/raft's Connect. */
  connect(from: NodeId, to: NodeId): void {
    this.cut.delete(linkKey(from, to));
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear();
  }

  /** Messages sent of the given types so far. */
  count(...types: Message['type'][]): number {
    let total = 0;
    for (const type of types) total += this.sent.get(type) ?? 0;
    return total;
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}
