// Deadlock detection on the session-level waits-for graph: a queued session waits for the holders of its lock and
// for every waiter ahead of it (no barging, so none of them can be passed).

/** One edge of a cycle: `sessionId` waits for `waitsFor` on lock `lockName`. */
export interface WaitEdge {
  readonly sessionId: string;
  readonly lockName: string;
  readonly waitsFor: string;
}

/** The waits-for graph, as the state machine exposes it. Iteration order must be deterministic. */
export interface WaitsForGraph {
  /** Every (lock, blocker) pair `sessionId` currently waits for. */
  blockersOf(sessionId: string): Iterable<{ readonly lockName: string; readonly blocker: string }>;
}

/**
 * The cycle that `sessionId` would close by waiting on `lockName` for `blockers`, as a list of edges starting with
 * its own, or null when waiting is safe. Depth-first search from each blocker back to `sessionId`.
 */
export function findWaitCycle(
  graph: WaitsForGraph,
  sessionId: string,
  lockName: string,
  blockers: Iterable<string>,
): WaitEdge[] | null {
  const visited = new Set<string>();
  const path: WaitEdge[] = [];

  const reaches = (from: string): boolean => {
    if (from === sessionId) return true;
    if (visited.has(from)) return false;
    visited.add(from);
    for (const { lockName: waitedLock, blocker } of graph.blockersOf(from)) {
      path.push({ sessionId: from, lockName: waitedLock, waitsFor: blocker });
      if (reaches(blocker)) return true;
      path.pop();
    }
    return false;
  };

  for (const blocker of blockers) {
    path.push({ sessionId, lockName, waitsFor: blocker });
    if (reaches(blocker)) return path;
    path.pop();
  }
  return null;
}
