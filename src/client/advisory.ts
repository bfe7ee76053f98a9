// Session advisories as the SDK user sees them: a condition of the whole session (its clock outside the drift bound,
// its link degrading) that the cluster announces once when an episode begins and once when it ends, heard by the
// session's advisory handlers and by the event stream of every lock the session holds (issue 15, item 3).
import type { WireSessionAdvisory } from '../util/wire-frames.js';

/**
 * A condition of the session: `'clock-drift'` (this client's clock runs faster or slower than a disciplined clock keeps
 * to; the detail says what the cluster's guarantee makes of it) or `'link-degrading'` (keepalive round trips are
 * growing toward a missed renewal). A newer cluster may name other conditions; the SDK passes their names on unchanged.
 */
export type SessionCondition = 'clock-drift' | 'link-degrading';

/**
 * A Session Advisory: one episode of a session condition begins (`active` true) or ends (`active` false, with the
 * same `advisoryId`). It concerns every lock the session holds alike, and changes no lock's safe period by itself:
 * `lock.safeUntil` and `lock.signal` follow the guarantees the cluster gives, as always.
 */
export interface SessionAdvisory {
  /** Names the episode: its begin and its end carry the same id. */
  readonly advisoryId: string;
  readonly condition: SessionCondition;
  /** True when the episode begins, false when it ends. */
  readonly active: boolean;
  /** A human sentence describing the condition. */
  readonly detail: string;
  /** The guarantee now in force for the session (ms). */
  readonly guaranteeMs: number;
  /** This client clock's measured rate error: -0.03 is 3% slow, 0.02 is 2% fast; 0 when not measured. */
  readonly clockRateError: number;
  /** The condition's probability, 0-1. */
  readonly probability: number;
}

/** Called on each Session Advisory (begin and end of every episode), once each. */
export type AdvisoryHandler = (advisory: SessionAdvisory) => void;

/** The SDK's advisory from the wire's. */
export function advisoryFromWire(wire: WireSessionAdvisory): SessionAdvisory {
  return {
    advisoryId: wire.advisoryId,
    condition: wire.condition,
    active: wire.active,
    detail: wire.detail,
    guaranteeMs: wire.guaranteeMs,
    clockRateError: wire.clockRateError,
    probability: wire.probability,
  };
}

/**
 * Tells a new advisory from a repeat: a cluster may send a session's advisory again after the session resumes on a
 * stream (it cannot know the client heard it), and users should hear each begin and each end once. It keeps, per
 * condition, the last episode id and state delivered, so its memory is bounded by the number of conditions.
 */
export class AdvisoryFilter {
  private readonly last = new Map<string, { advisoryId: string; active: boolean }>();

  /** True when `advisory` is the same begin or end as the last one delivered for its condition (then drop it). */
  isRepeat(advisory: WireSessionAdvisory): boolean {
    const last = this.last.get(advisory.condition);
    if (last !== undefined && last.advisoryId === advisory.advisoryId && last.active === advisory.active) return true;
    this.last.set(advisory.condition, { advisoryId: advisory.advisoryId, active: advisory.active });
    return false;
  }
}
