// Which refusals of a request the SDK sends again, and after how long: the codes that say "not now" rather than "no"
// (the leader could not take the request just now; kafkajs decides retries by the code, not the text) are re-sent
// with the same request_seq after the connection's backoff; every other refusal is the request's answer. Pure: the
// SDK's SessionConnection and the lock simulator's clients both decide with it (docs/design.md, "Simulation").
import type { ErrorCode } from '../util/errors.js';

/** Server refusals that say "not now" rather than "no": the request is re-sent with its seq after a backoff. */
export const TRANSIENT_SERVER_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'PROPOSAL_DROPPED',
  'NODE_CLOSED',
  'CONF_CHANGE_IN_PROGRESS',
  'UNAVAILABLE',
]);

/** Where the delay before a retry comes from (the connection's Backoff). */
export interface RetryDelays {
  nextDelayMs(): number;
}

/**
 * What to do with a request refused with `code`: the ms to wait before sending it again (same request_seq), or null
 * when the refusal is the request's answer. Takes a delay from `delays` only for a retried code.
 */
export function retryDelayAfterRefusal(code: string, delays: RetryDelays): number | null {
  return TRANSIENT_SERVER_CODES.has(code) ? delays.nextDelayMs() : null;
}
