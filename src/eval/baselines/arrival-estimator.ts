// The shape every baseline failure detector shares: a per-session model of keepalive arrivals and its suspicion time.

/** One session's arrival model in a baseline failure detector. */
export interface ArrivalEstimator {
  /** A keepalive (or the session's opening) arrived at `atMs`. */
  arrive(atMs: number): void;
  /** The moment the session is declared dead if nothing arrives before it. */
  suspectAtMs(): number;
}

/** Builds a fresh estimator for a session whose nominal keepalive interval is `keepaliveMs` and TTL `ttlMs`. */
export type ArrivalEstimatorFactory = (keepaliveMs: number, ttlMs: number) => ArrivalEstimator;
