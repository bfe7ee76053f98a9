// The node's own health (Lifeguard's local-health awareness): is this server too loaded to judge its clients?
import { Ewma } from './ewma.js';
import type { LoadSample } from './types.js';

/**
 * Overload from the driver's load samples: the event-loop delay or CPU over its limit. Overload lasts `holdMs`
 * after the last overloaded sample, because keepalives delayed by a stall keep arriving late for about one TTL.
 */
export class NodeHealth {
  private overloadedUntilMs = Number.NEGATIVE_INFINITY;
  private readonly loopDelay = new Ewma(0.3);

  constructor(
    private readonly overloadLoopDelayMs: number,
    private readonly overloadCpu: number,
    private readonly holdMs: number,
  ) {}

  observe(sample: LoadSample): void {
    this.loopDelay.update(sample.loopDelayMs);
    if (sample.loopDelayMs >= this.overloadLoopDelayMs || sample.cpu >= this.overloadCpu) {
      this.overloadedUntilMs = Math.max(this.overloadedUntilMs, sample.atMs + this.holdMs);
    }
  }

  /** True while the node is overloaded or recovering from it. */
  overloaded(nowMs: number): boolean {
    return nowMs < this.overloadedUntilMs;
  }

  /** Smoothed event-loop delay: how late this node itself may be in receiving keepalives. */
  get loopDelayMs(): number {
    return this.loopDelay.mean;
  }
}
