// Graceful step-down: before a leader stops, it hands leadership to its most up-to-date reachable voter (Raft thesis
// §3.10, leadership transfer), so the cluster has a new leader at once instead of after an election timeout.
import type { Logger } from 'pino';
import type { RaftNodeApi, RaftStatus } from '../raft/node-api.js';
import type { NodeId } from '../raft/types.js';

/**
 * The voter a stopping leader should hand off to: reachable, with the highest match index (ties by id, so every
 * run picks the same one); null when this node does not lead or no other voter is reachable.
 */
export function successorOf(status: RaftStatus): NodeId | null {
  if (status.role !== 'leader' || status.replication === undefined) return null;
  const voters = new Set(status.conf.voters);
  const candidates = status.replication
    .filter((member) => member.id !== status.id && member.reachable && voters.has(member.id))
    .sort((a, b) => b.matchIndex - a.matchIndex || (a.id < b.id ? -1 : 1));
  return candidates[0]?.id ?? null;
}

/**
 * The longest a stopping leader waits for its successor to take office. A transfer takes one round trip and an
 * election when all is well; a successor stopping at the same time (a whole cluster shut down) must not hold the
 * shutdown up for the Raft node's own transfer deadline of four election timeouts.
 */
export const HAND_OFF_TIMEOUT_MS = 2_000;

/** What a hand-off did: to whom, and how long the transfer took. */
export interface HandOff {
  readonly to: NodeId;
  readonly elapsedMs: number;
}

/**
 * On the leader, transfers leadership to successorOf(status) and waits until that member leads, at most
 * `timeoutMs`. Resolves null when there is nothing to hand off, or when the transfer
 * failed: the node then stops anyway, and the others elect a leader after their election timeout.
 */
export async function handOffLeadership(
  raft: RaftNodeApi,
  log: Logger,
  timeoutMs = HAND_OFF_TIMEOUT_MS,
): Promise<HandOff | null> {
  const to = successorOf(raft.status());
  if (to === null) return null;
  const startedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${to} did not take office within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([raft.transferLeadership(to), deadline]);
  } catch (error) {
    log.warn({ err: error, to }, 'leadership hand-off failed; stopping anyway');
    return null;
  } finally {
    clearTimeout(timer);
  }
  const handOff = { to, elapsedMs: Math.round(performance.now() - startedAt) };
  log.info(handOff, 'handed leadership off before stopping');
  return handOff;
}
