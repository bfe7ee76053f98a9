// What a backup's lock state machine image holds (highest token, locks, sessions), and the image a restored cluster
// starts from: the same state with every session ended cleanly, as a close would end it.
import { LockStateMachine } from './state-machine.js';

/** The counts `forelock snapshot status` reports of an image. */
export interface LockImageSummary {
  /** The highest fencing token ever granted (0n before the first grant). */
  readonly highestToken: bigint;
  /** Locks held or waited for. */
  readonly locks: number;
  /** Open sessions. */
  readonly sessions: number;
}

/** Reads the lock state machine image `data` (a Raft snapshot's data). */
export function summarizeLockImage(data: Uint8Array): LockImageSummary {
  const machine = new LockStateMachine();
  machine.restore(data);
  return { highestToken: machine.lastGrantedToken, locks: machine.locks().length, sessions: machine.sessions().length };
}

/**
 * The image a restored cluster starts from: every session of `data` closed at the image's last entry time, so its
 * locks are released (a waiter of a session closed later may be granted on the way, and is released with its own
 * session: the counter only grows) and its clients, which cannot resume
 * it in a new cluster, are told SESSION_NOT_FOUND and open new sessions. The token counter is kept, so every token
 * the restored cluster grants is higher than every token in the image (docs/design.md, principle 1). Deterministic:
 * every member restored from the same image starts from the same bytes.
 */
export function lockImageWithSessionsEnded(data: Uint8Array): Uint8Array {
  const machine = new LockStateMachine();
  machine.restore(data);
  const atMs = machine.lastAppliedAtMs;
  for (const session of machine.sessions()) {
    machine.applyEntry({ atMs, command: { type: 'session-close', sessionId: session.sessionId } });
  }
  return machine.snapshot();
}
