// Deadlock detection on the session-level waits-for graph: a queued session waits for the holders of its lock and
// for the waiters ahead of it (no barging, so none of them can be passed).

/** One edge of a cycle: `sessionId` waits for `waitsFor` on lock `lockName`. */
export interface WaitEdge {
  readonly sessionId: string;
  readonly lockName: string;
  readonly waitsFor: string;
}

/** One session another waits for, and the lock it waits on. */
export interface Blocker {
  readonly lockName: string;
  readonly blocker: string;
}

/** The waits-for graph, as the state machine exposes it. Order must be deterministic. */
export interface WaitsForGraph {
  /**
   * The `index`-th (lock, blocker) pair `sessionId` currently waits for, or null past the last. The pair may be
   * reused by the next call (nothing is allocated per step of a search): read it before asking again.
   */
  blockerAt(sessionId: string, index: number): Blocker | null;
  /**
   * Marks `sessionId` as reached by this search: true the first time, false after (or for a session that is not
   * open, which waits for nobody). The graph keeps the marks, so a search builds no set of the sessions it visits.
   */
  reach(sessionId: string): boolean;
}

/**
 * The cycle that `sessionId` would close by waiting on `lockName` for `blockers`, as a list of edges starting with
 * its own, or null when waiting is safe. An iterative depth-first search from each blocker back to `sessionId`
 * (queues of thousands make paths too deep for recursion), in time linear in the sessions it visits. The search path
 * is kept in parallel arrays rather than as edge objects and iterators, and the graph marks the sessions reached
 * (growing a set of 20,000 names cost more than the rest of the search): the check runs inside one entry's apply
 * (docs/design.md: cost follows the work).
 */
export function findWaitCycle(
  graph: WaitsForGraph,
  sessionId: string,
  lockName: string,
  blockers: Iterable<string>,
): WaitEdge[] | null {
  for (const first of blockers) {
    if (first === sessionId) return [{ sessionId, lockName, waitsFor: first }];
    if (!graph.reach(first)) continue;
    // At depth d of the path: the session reached (waitedFor[d]), the lock it was reached through (viaLock[d]) and
    // the index of its next blocker to try.
    const waitedFor = [first];
    const viaLock = [lockName];
    const nextIndex = [0];
    while (waitedFor.length > 0) {
      const depth = waitedFor.length - 1;
      const index = nextIndex[depth]!;
      const edge = graph.blockerAt(waitedFor[depth]!, index);
      if (edge === null) {
        nextIndex.pop();
        waitedFor.pop();
        viaLock.pop();
        continue;
      }
      nextIndex[depth] = index + 1;
      const { lockName: waitedLock, blocker } = edge;
      if (blocker === sessionId) return cycleOf(sessionId, viaLock, waitedFor, waitedLock);
      if (!graph.reach(blocker)) continue;
      waitedFor.push(blocker);
      viaLock.push(waitedLock);
      nextIndex.push(0);
    }
  }
  return null;
}

/** The edges of the search path from `sessionId`, closed by the last session's wait on `closingLock` for it. */
function cycleOf(
  sessionId: string,
  viaLock: readonly string[],
  waitedFor: readonly string[],
  closingLock: string,
): WaitEdge[] {
  const cycle: WaitEdge[] = [];
  let from = sessionId;
  for (let depth = 0; depth < waitedFor.length; depth++) {
    cycle.push({ sessionId: from, lockName: viaLock[depth]!, waitsFor: waitedFor[depth]! });
    from = waitedFor[depth]!;
  }
  cycle.push({ sessionId: from, lockName: closingLock, waitsFor: sessionId });
  return cycle;
}
