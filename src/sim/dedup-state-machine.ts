// The simulator's replicated state machine: client operations deduplicated by (client id, sequence), thesis §6.3.
import { pack, unpack } from 'msgpackr';
import type { Entry } from '../raft/types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One client operation: the client's id and its sequence number (1, 2, ... one at a time). */
export interface ClientOp {
  readonly clientId: string;
  readonly seq: number;
}

/** Encodes a client operation as an entry's data. */
export function encodeOp(op: ClientOp): Uint8Array {
  return encoder.encode(`${op.clientId}:${op.seq}`);
}

/** Decodes an entry's data back into the client operation. */
export function decodeOp(data: Uint8Array): ClientOp {
  const text = decoder.decode(data);
  const colon = text.lastIndexOf(':');
  return { clientId: text.slice(0, colon), seq: Number(text.slice(colon + 1)) };
}

/** What applying one entry did. */
export type ApplyOutcome = 'applied' | 'duplicate' | 'skipped';

/**
 * Applies each (clientId, seq) once: a retried proposal that reached the log twice takes effect the first time
 * only. Its state is a per-client high-water mark plus a running hash of every entry applied (index and term),
 * so two replicas at the same index have the same hash exactly when they applied the same sequence of entries.
 */
export class DedupStateMachine {
  private lastSeq = new Map<string, number>();
  /** Index of the last entry applied (or restored from a snapshot). */
  appliedIndex = 0;
  /** FNV-1a over the (index, term) of every entry applied, in order. */
  hash = 0x811c9dc5;
  /** A client's operation applied out of order (seq beyond the next): a dedup or ordering bug. */
  violation: string | null = null;

  /** Applies one committed entry. */
  apply(entry: Entry): ApplyOutcome {
    this.record(entry);
    if (entry.type !== 'normal') return 'skipped';
    const op = decodeOp(entry.data);
    const last = this.lastSeq.get(op.clientId) ?? 0;
    if (op.seq <= last) return 'duplicate';
    if (op.seq !== last + 1 && this.violation === null) {
      this.violation = `client ${op.clientId} seq ${op.seq} applied at index ${entry.index} after seq ${last}`;
    }
    this.lastSeq.set(op.clientId, op.seq);
    return 'applied';
  }

  /**
   * Counts `entry` as applied (index and hash) without reading it: for entries another state machine applies (the
   * lock simulation's), so the Raft invariants still compare replicas index by index.
   */
  record(entry: Entry): void {
    this.appliedIndex = entry.index;
    this.hash = mix(mix(this.hash, entry.index), entry.term);
  }

  /** The highest sequence of `clientId` applied. */
  seqOf(clientId: string): number {
    return this.lastSeq.get(clientId) ?? 0;
  }

  snapshot(): Uint8Array {
    return pack({ lastSeq: [...this.lastSeq], appliedIndex: this.appliedIndex, hash: this.hash });
  }

  restore(data: Uint8Array): void {
    const state = unpack(data) as { lastSeq: [string, number][]; appliedIndex: number; hash: number };
    this.lastSeq = new Map(state.lastSeq);
    this.appliedIndex = state.appliedIndex;
    this.hash = state.hash;
  }
}

function mix(hash: number, value: number): number {
  let h = hash;
  for (let shift = 0; shift < 32; shift += 8) {
    h ^= (value >>> shift) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
