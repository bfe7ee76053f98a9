// Checks every scenario runs after recovery, on top of the lock-history checker: acknowledged grants are still in
// the cluster's state, tokens continue upward, the token-checking resource saw no write from a holder that was
// entitled to the lock be refused, and each SDK reported a loss no later than its safe deadline.

import { connect } from '../../../src/index.js';
import { type ChaosCluster, type ClusterNode, nodeGet } from './cluster.js';
import { ClientHistory } from './history.js';

/** A lock as GET /v1/locks lists it. */
interface LockJson {
  readonly name: string;
  readonly holders: readonly { session: string; client: string; token: string }[];
}

/** How late the SDK may abort `lock.signal` after its safe deadline: the test process's own timer and event-loop lag. */
export const SIGNAL_LAG_TOLERANCE_MS = 1_000;

/** GET /v1/locks of `node`. */
async function fetchLocks(node: ClusterNode): Promise<LockJson[]> {
  const answer = await nodeGet(node, '/v1/locks', 5_000);
  if (answer.status !== 200) throw new Error(`${node.id} /v1/locks: ${answer.status} ${answer.body}`);
  return JSON.parse(answer.body) as LockJson[];
}

/**
 * Every grant acknowledged before the leader's lock table was read, whose holder was still entitled to it after the
 * read (not released, not lost, inside its safe period), must be in that table with its token: an acknowledged grant
 * survives the fault. Returns one message per missing grant.
 */
export async function missingAcknowledgedGrants(history: ClientHistory, leader: ClusterNode): Promise<string[]> {
  const readStartMs = Date.now();
  const locks = await fetchLocks(leader);
  const readEndMs = Date.now();
  const held = new Set(locks.flatMap((lock) => lock.holders.map((holder) => `${lock.name}#${holder.token}`)));
  return history
    .granted()
    .filter((record) => record.outcome.ackAtMs < readStartMs)
    .filter((record) => ClientHistory.believedEndMs(record, Number.POSITIVE_INFINITY) > readEndMs)
    .filter((record) => !held.has(`${record.lock}#${record.outcome.token}`))
    .map(
      (record) =>
        `${record.client} was granted ${record.lock} with token ${record.outcome.token} and still held it, but it is not in ${leader.id}'s lock table`,
    );
}

/**
 * A fresh client acquires each lock of the history once more (after the scenario's clients stopped): each new token
 * must exceed every token acknowledged for that lock before. Returns one message per lock that went backwards.
 */
export async function tokensNotAbove(history: ClientHistory, cluster: ChaosCluster, ttlMs: number): Promise<string[]> {
  const client = await connect({
    ...cluster.clientAccess,
    endpoints: cluster.endpoints(),
    ttlMs,
    name: 'chaos-checker',
  });
  const problems: string[] = [];
  try {
    const highest = new Map<string, bigint>();
    for (const record of history.granted()) {
      const token = record.outcome.token;
      if (token > (highest.get(record.lock) ?? -1n)) highest.set(record.lock, token);
    }
    for (const [lockName, token] of highest) {
      const lock = await client.acquire(lockName, { mode: 'exclusive', waitMs: 30_000 });
      if (lock.token <= token) problems.push(`${lockName}: new token ${lock.token} is not above acknowledged ${token}`);
      await lock.release();
    }
  } finally {
    await client.close();
  }
  return problems;
}

/** Resource writes refused although they completed (so also reached the resource) inside the safe period their
 * holder checked before writing: the cluster must then have granted a higher token while the holder was entitled. */
export function refusedEntitledWrites(history: ClientHistory): string[] {
  return history
    .granted()
    .flatMap((record) =>
      record.writes
        .filter((write) => !write.accepted && write.safeUntilMs > write.atMs)
        .map(
          (write) =>
            `${record.client}'s write with token ${write.token} on ${record.lock} was refused inside its safe period`,
        ),
    );
}

/** Losses the SDK reported later than its last safe deadline (beyond the timer tolerance). */
export function lateLossReports(history: ClientHistory): string[] {
  return history
    .granted()
    .filter((record) => record.lost !== undefined && record.lastSafeUntilMs !== undefined)
    .filter((record) => record.lost!.cause === 'safe-period-passed')
    .filter((record) => record.lost!.atMs > record.lastSafeUntilMs! + SIGNAL_LAG_TOLERANCE_MS)
    .map(
      (record) =>
        `${record.client} learned it lost ${record.lock} at ${record.lost!.atMs}, past its safe deadline ${record.lastSafeUntilMs}`,
    );
}
