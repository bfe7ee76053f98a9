// A restart as the scale benchmark measures it: one node (the leader or a follower) stopped with SIGTERM and started
// again on its data folder, while the benchmark's sessions hold their locks. It watches the restarted node until it
// has caught up with what the cluster had committed, and the sessions until each is connected again or lost.
import type { Client } from '../src/client/client.js';
import type { Lock } from '../src/client/lock.js';
import type { LeadershipChanges } from './leadership-watch.js';
import { cpuMsOf } from './process-usage.js';
import { type ScaleCluster, until } from './scale-cluster.js';

export type RestartedRole = 'leader' | 'follower';

export interface RestartOutcome {
  readonly role: RestartedRole;
  /** From the restarted process's start until it knows a leader and has applied what the cluster had committed. */
  readonly readyMs: number;
  /** From the start until every session is connected again or lost (Infinity when the deadline passed first). */
  readonly settledMs: number;
  readonly sessionsResumed: number;
  readonly sessionsLost: number;
  readonly locksKept: number;
  readonly locksLost: number;
  /** The restarted process's CPU from its start until the sessions settled, in ms. */
  readonly cpuMs: number;
  /** Leader changes and terms from the stop until the sessions settled. */
  readonly leadership: LeadershipChanges;
  /** Why the sessions lost so far ended, with how many ended so. */
  readonly lossReasons: Record<string, number>;
}

/** How long the sessions get to come back after a restart before those still away count as lost. */
const RESUME_DEADLINE_MS = 60_000;

function countLost(held: readonly (readonly Lock[])[]): number {
  return held.reduce((sum, locks) => sum + locks.filter((lock) => lock.signal.aborted).length, 0);
}

export async function restartAndWatch(
  cluster: ScaleCluster,
  role: RestartedRole,
  clients: readonly Client[],
  held: readonly (readonly Lock[])[],
): Promise<RestartOutcome> {
  const node = role === 'leader' ? await cluster.leader() : await cluster.follower();
  const committed = await cluster.commitIndex();
  const mark = await cluster.markLeadership();
  const sessionsLostBefore = clients.filter((client) => client.session.signal.aborted).length;
  const locksLostBefore = countLost(held);
  await cluster.stop(node, 'SIGTERM');
  const started = performance.now();
  cluster.startAgain(node);
  const pid = cluster.pidOf(node);
  let readyMs = Number.NaN;
  const settled = await until(async () => {
    if (Number.isNaN(readyMs) && (await cluster.caughtUp(node, committed))) readyMs = performance.now() - started;
    return (
      !Number.isNaN(readyMs) &&
      clients.every((client) => client.session.signal.aborted || client.session.connectedTo !== null)
    );
  }, RESUME_DEADLINE_MS);
  const settledMs = performance.now() - started;
  const cpuMs = await cpuMsOf(pid).catch(() => Number.NaN);
  // Whatever a resume found missing is lost by the time the session is connected again.
  const locksLost = countLost(held) - locksLostBefore;
  const locksKept = held.reduce((sum, locks) => sum + locks.length, 0) - countLost(held);
  const lossReasons: Record<string, number> = {};
  for (const client of clients) {
    if (!client.session.signal.aborted) continue;
    const reason = String((client.session.signal.reason as Error | undefined)?.message ?? 'unknown');
    lossReasons[reason] = (lossReasons[reason] ?? 0) + 1;
  }
  return {
    role,
    readyMs,
    settledMs: settled ? settledMs : Number.POSITIVE_INFINITY,
    sessionsResumed: clients.filter((client) => !client.session.signal.aborted && client.session.connectedTo !== null)
      .length,
    sessionsLost: clients.filter((client) => client.session.signal.aborted).length - sessionsLostBefore,
    locksKept,
    locksLost,
    cpuMs,
    leadership: await cluster.leaderChangesSince(mark),
    lossReasons,
  };
}
