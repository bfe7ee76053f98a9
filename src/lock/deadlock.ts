// Deadlock detection on the session-level waits-for graph: a queued session waits for the holders of its lock and
// for the waiters ahead of it (no barging, so none of them can be passed).

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
 * its own, or null when waiting is safe. An iterative depth-first search from each blocker back to `sessionId`
 * (queues of thousands make paths too deep for recursion).
 */
export function findWaitCycle(
  graph: WaitsForGraph,
  sessionId: string,
  lockName: string,
  blockers: Iterable<string>,
): WaitEdge[] | null {
  const visited = new Set<string>();
  for (const first of blockers) {
    const path: WaitEdge[] = [{ sessionId, lockName, waitsFor: first }];
    if (first === sessionId) return path;
    if (visited.has(first)) continue;
    visited.add(first);
    const stack: Iterator<{ readonly lockName: string; readonly blocker: string }>[] = [
      graph.blockersOf(first)[Symbol.iterator](),
    ];
    while (stack.length > 0) {
      const next = stack.at(-1)!.next();
      if (next.done) {
        stack.pop();
        path.pop();
        continue;
      }
      const { lockName: waitedLock, blocker } = next.value;
      const from = path.at(-1)!.waitsFor;
      if (blocker === sessionId) return [...path, { sessionId: from, lockName: waitedLock, waitsFor: blocker }];
      if (visited.has(blocker)) continue;
      visited.add(blocker);
      path.push({ sessionId: from, lockName: waitedLock, waitsFor: blocker });
      stack.push(graph.blockersOf(blocker)[Symbol.iterator]());
    }
  }
  return null;
}
