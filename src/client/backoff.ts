// Reconnect delays: exponential backoff with jitter (kafkajs retry, AWS "equal jitter"), pure given an Rng.
import type { Rng } from '../util/rng.js';

/** How reconnect delays grow. */
export interface BackoffOptions {
  /** The first delay, before jitter. Default 50 ms. */
  readonly initialMs?: number;
  /**
   * The largest delay, before jitter. Default 1,000 ms: a session's promise runs out a few seconds after its node is
   * lost (6.5-9.8 s with the default TTL), and a longer ceiling spent up to that much of it after a restarted node was
   * back (issue 13: the sessions settled 2.3 s after the node was ready with 2,000 ms). A retry is a refused
   * connection or a NotLeader answer: cheap for the node.
   */
  readonly maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  readonly multiplier?: number;
  /** Fraction of the delay that is random: 0.5 gives a delay in [d/2, d]. Default 0.5. */
  readonly jitter?: number;
}

/** Successive delays for consecutive failures; `reset()` after a success starts over. */
export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;

  constructor(
    private readonly rng: Rng,
    options: BackoffOptions = {},
  ) {
    this.initialMs = options.initialMs ?? 50;
    this.maxMs = options.maxMs ?? 1_000;
    this.multiplier = options.multiplier ?? 2;
    this.jitter = options.jitter ?? 0.5;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs) || !(this.multiplier >= 1)) {
      throw new RangeError(
        `backoff needs 0 < initialMs <= maxMs and multiplier >= 1, got ${this.initialMs}, ${this.maxMs}, ${this.multiplier}`,
      );
    }
    if (!(this.jitter >= 0 && this.jitter <= 1))
      throw new RangeError(`backoff jitter must be in [0, 1], got ${this.jitter}`);
  }

  /** The delay before the next attempt, in ms; each call counts one more failure. */
  nextDelayMs(): number {
    const ceilingMs = Math.min(this.maxMs, this.initialMs * this.multiplier ** this.attempt);
    this.attempt++;
    return ceilingMs * (1 - this.jitter * this.rng.next());
  }

  /** Consecutive failures counted so far. */
  get failures(): number {
    return this.attempt;
  }

  /** Starts over after a success. */
  reset(): void {
    this.attempt = 0;
  }
}
