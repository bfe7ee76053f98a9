// How long a session open (or resume) may take to be answered once a node accepted the stream, before the next node
// is tried. Pure: the SDK's SessionConnection and the lock simulator's clients both use it.

/**
 * The least time a NEW session's open may take to be answered: it waits for the session to be committed, which a busy
 * cluster may take a while to do, and no promise is at stake yet.
 */
export const FIRST_OPEN_TIMEOUT_MS = 5_000;

/**
 * The share of the TTL a resume's answer may take, at least, once the node accepted the stream: a node that just
 * restarted or took office answers after catching up, and a client that gave up at `openTimeoutMs` would only start
 * the same resume again elsewhere, or on the same node, and lose its session while retrying (issue 13 saw 69 of 100
 * sessions end so after a restart). A node that cannot lead says so at once (not-leader), and a dead one is found by
 * the connection timeout (`openTimeoutMs`), so waiting longer for an answer costs nothing when all is well. Half the
 * TTL leaves the other half to try the next node.
 */
export const RESUME_ANSWER_TTL_SHARE = 0.5;

/** How long one endpoint may take to accept a connection unless told (ConnectOptions.openTimeoutMs): a tenth of the TTL, at most 1 s. */
export function defaultOpenTimeoutMs(ttlMs: number): number {
  return Math.min(1_000, ttlMs / 10);
}

/** The ms an open (`resuming` false) or a resume of a session with `ttlMs` may take to be answered. */
export function openAnswerTimeoutMs(openTimeoutMs: number, resuming: boolean, ttlMs: number): number {
  return Math.max(openTimeoutMs, resuming ? ttlMs * RESUME_ANSWER_TTL_SHARE : FIRST_OPEN_TIMEOUT_MS);
}
