// Leader changes in a cluster, read from outside it: each node's forelock_leader_changes_total (GET /metrics) and
// the highest term a node reports (GET /v1/status). A benchmark marks the nodes before a phase and asks what changed
// after it.
import type { LocalNode } from '../src/server/local-cluster.js';
import type { StatusJson } from '../src/server/wire.js';

/** What a cluster's leader-change counters and terms were at one moment. */
export interface LeadershipMark {
  /** forelock_leader_changes_total by node id (nodes that did not answer are missing). */
  readonly changes: ReadonlyMap<string, number>;
  /** The highest term a node reported. */
  readonly term: number;
}

/** What happened to leadership between two marks. */
export interface LeadershipChanges {
  /** New leaders taking office, as the node that saw most of them counted (each node counts every change it sees). */
  readonly leaderChanges: number;
  /** Terms started: elections, won or not. */
  readonly terms: number;
}

/** A loaded node may answer slowly; one that does not answer in this long is left out of the count. */
const FETCH_TIMEOUT_MS = 5_000;
const LEADER_CHANGES_METRIC = /^forelock_leader_changes_total(?:\{[^}]*\})? (\S+)$/m;

/** A node's GET /v1/status, or undefined when it does not answer. */
export async function statusOf(node: LocalNode): Promise<StatusJson | undefined> {
  try {
    const response = await fetch(`http://${node.http}/v1/status`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    return (await response.json()) as StatusJson;
  } catch {
    return undefined;
  }
}

async function leaderChangesCountedBy(node: LocalNode): Promise<number | undefined> {
  try {
    const response = await fetch(`http://${node.http}/metrics`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const value = LEADER_CHANGES_METRIC.exec(await response.text())?.[1];
    return value === undefined ? undefined : Number(value);
  } catch {
    return undefined;
  }
}

/** The nodes' leader-change counters and the highest term, now. */
export async function markLeadership(nodes: readonly LocalNode[]): Promise<LeadershipMark> {
  const changes = new Map<string, number>();
  let term = 0;
  for (const node of nodes) {
    const counted = await leaderChangesCountedBy(node);
    if (counted !== undefined) changes.set(node.id, counted);
    term = Math.max(term, (await statusOf(node))?.term ?? 0);
  }
  return { changes, term };
}

/** Leader changes and terms since `mark`. */
export async function leaderChangesSince(
  nodes: readonly LocalNode[],
  mark: LeadershipMark,
): Promise<LeadershipChanges> {
  const now = await markLeadership(nodes);
  let leaderChanges = 0;
  for (const [id, counted] of now.changes) {
    const before = mark.changes.get(id);
    // A node that did not answer at the mark has no baseline: the nodes that did answer count the same changes.
    if (before === undefined) continue;
    // A node restarted since the mark counts from 0 again: its whole count is new.
    leaderChanges = Math.max(leaderChanges, counted < before ? counted : counted - before);
  }
  return { leaderChanges, terms: now.term - mark.term };
}
