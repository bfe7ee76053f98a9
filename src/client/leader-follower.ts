// The one rule for finding the leader, shared by the session connection and the admin client: dial the endpoints in
// turn (a leader hint first), follow a hint at once but not forever (stale hints can ping-pong during an election),
// back off between other retriable failures, and give up on a final one.
import type { ForelockError } from '../util/errors.js';
import type { Backoff } from './backoff.js';
import type { Endpoint, EndpointPool } from './endpoints.js';
import { NotLeaderError } from './errors.js';

/** Which endpoint to try next and how long to wait before trying it, after each attempt's outcome. Pure. */
export class LeaderFollower {
  /** Hints followed at once since the last success or backoff. */
  private hintHops = 0;

  constructor(
    private readonly pool: EndpointPool,
    private readonly backoff: Backoff,
  ) {}

  /** The endpoint to try next: a pending leader hint, else the next one in rotation. */
  next(): Endpoint {
    return this.pool.next();
  }

  /** The attempt reached the leader: the next failure starts from the shortest delay. */
  succeeded(): void {
    this.backoff.reset();
    this.hintHops = 0;
  }

  /**
   * A node named `leaderAddress` as the leader: it is dialed next. Returns the ms to wait first: 0 while hints are
   * followed, a backoff once they have gone round every known endpoint without reaching the leader.
   */
  redirected(leaderAddress: Endpoint): number {
    this.pool.hintLeader(leaderAddress);
    if (++this.hintHops <= this.pool.size) return 0;
    this.hintHops = 0;
    return this.backoff.nextDelayMs();
  }

  /**
   * The attempt on `address` failed with `failure`: the endpoint goes to the back of the rotation. Returns the ms to
   * wait before the next attempt (0 to follow a NotLeader hint at once), or null when the failure is final.
   */
  failed(address: Endpoint, failure: ForelockError): number | null {
    this.pool.failed(address);
    if (failure instanceof NotLeaderError && failure.leaderAddress) return this.redirected(failure.leaderAddress);
    if (!failure.retriable) return null;
    return this.backoff.nextDelayMs();
  }
}
