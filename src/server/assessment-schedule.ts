// When each held lock needs the SPM and the ladder again, so that prediction costs follow changes, not the number of
// held locks (docs/design.md, "Staleness prediction"). A lock is assessed at an evaluation pass only when the
// assessment could do something: its session's lapse risk has grown past a quiet level (searched for at the
// session's own events: open, keepalive), its hold has aged past what its resource's history allows, or the ladder
// has it WARNED or PREEMPT_REQUESTED. Everything else would be assessed LOW with nothing to do, and is skipped.
import { MinHeap } from '../util/min-heap.js';

/** What the schedule reads of the SPM: bounds on the two parts of a lock's staleness probability. */
export interface QuietBounds {
  /** The lapse part for every lock of the session at `atMs` (never falls as `atMs` grows, inputs fixed). */
  sessionLapse(sessionId: string, atMs: number): number;
  /** The most the stuck part can be for a hold granted at `grantedAtMs`, at `atMs` (never falls as `atMs` grows). */
  stuckBound(resource: string, grantedAtMs: number, atMs: number): number;
  /**
   * False when `stuckBound` is 0 for every hold of `resource` at every time until the resource's history changes
   * (a history too short to be trusted), the driver then calling `historyChanged`. Optional: without it every hold's
   * bound is searched, and searched again at the horizon.
   */
  hasTrustedHistory?(resource: string): boolean;
}

/** What the schedule needs of a hold. */
export interface ScheduledHold {
  readonly resource: string;
  readonly sessionId: string;
  readonly grantedAtMs: number;
}

/** How the schedule is tuned. */
export interface AssessmentScheduleOptions {
  /**
   * A lock is skipped while both parts stay at or below their quiet levels. The probability is then at most
   * `1 - (1 - lapse)(1 - stuck)`, below the lapse + stuck sum: with 0.1 each, 0.2, where no assessment warns (the
   * lowest warning threshold is `warningThresholdMin`, 0.6 by default) nor marks its session at risk (half the
   * threshold). The gap is the margin for what moves between a session's events: the cluster's loss and late rates,
   * the node's loop delay.
   */
  readonly quietLevel: number;
  /** The resolution of the search for when a bound passes the quiet level: the evaluation period. */
  readonly stepMs: number;
  /** The farthest a search looks ahead; a bound still quiet there is searched again then. */
  readonly horizonMs: number;
}

/** The last step of a search is refined to this fraction of it. */
const REFINE_STEPS = 16;

export const defaultAssessmentScheduleOptions: AssessmentScheduleOptions = {
  quietLevel: 0.1,
  stepMs: 250,
  horizonMs: 60_000,
};

interface SessionEntry<H extends ScheduledHold> {
  readonly sessionId: string;
  readonly holds: Set<HoldEntry<H>>;
  /** From when the session's locks are assessed at every pass (until its next event searches again). */
  wakeAtMs: number;
}

interface HoldEntry<H extends ScheduledHold> {
  readonly hold: H;
  wakeAtMs: number;
}

type Wake<H extends ScheduledHold> =
  | { readonly kind: 'session'; readonly entry: SessionEntry<H>; readonly atMs: number }
  | { readonly kind: 'hold'; readonly entry: HoldEntry<H>; readonly atMs: number };

/**
 * The set of holds due an assessment at a pass, kept from events: O(log n) per event and per wake-up, O(holds due)
 * per pass. The driver reports holds (`holdStarted`, `holdEnded`), the session events that change its lapse risk
 * (`sessionHeard`), a resource's new history (`historyChanged`), a change of every input (`allChanged`: a new office,
 * the node's overload beginning or ending), and where the ladder left each lock it assessed (`settled`).
 */
export class AssessmentSchedule<H extends ScheduledHold> {
  private readonly options: AssessmentScheduleOptions;
  private readonly sessions = new Map<string, SessionEntry<H>>();
  /**
   * The holds of each resource: the one hold itself while there is one (an exclusive lock, the common case), a set
   * from the second on. A set per held lock was most of what a new leader spent indexing 100,000 holds (issue 13).
   */
  private readonly byResource = new Map<string, HoldEntry<H> | Set<HoldEntry<H>>>();
  private readonly byHold = new Map<H, HoldEntry<H>>();
  private readonly wakes = new MinHeap<Wake<H>>();
  /** Sessions past their wake time: all their locks are due. */
  private readonly awake = new Set<SessionEntry<H>>();
  /** Holds past their stuck wake time. */
  private readonly aged = new Set<HoldEntry<H>>();
  /** Holds the ladder has WARNED or PREEMPT_REQUESTED. */
  private readonly laddered = new Set<HoldEntry<H>>();

  constructor(
    private readonly bounds: QuietBounds,
    options: Partial<AssessmentScheduleOptions> = {},
  ) {
    this.options = { ...defaultAssessmentScheduleOptions, ...options };
    if (!(this.options.stepMs > 0 && this.options.horizonMs >= this.options.stepMs)) {
      throw new RangeError(
        `stepMs must be > 0 and at most horizonMs, got ${this.options.stepMs} and ${this.options.horizonMs}`,
      );
    }
  }

  /** Holds known to the schedule. */
  get size(): number {
    return this.byHold.size;
  }

  /** A session renewed (or began, lost its connection, or a new leader took it over): its lapse risk is searched
   * again when it holds locks (a session without any costs nothing here). */
  sessionHeard(sessionId: string, nowMs: number): void {
    const session = this.sessions.get(sessionId);
    if (session !== undefined) this.searchSession(session, nowMs);
  }

  /** The session ended: its holds end with it. */
  sessionEnded(sessionId: string): void {
    const entry = this.sessions.get(sessionId);
    if (entry === undefined) return;
    for (const hold of [...entry.holds]) this.removeHold(entry, hold);
  }

  /** A hold began: due with its session, and from when its age passes what its resource's history allows. */
  holdStarted(hold: H, nowMs: number): void {
    let session = this.sessions.get(hold.sessionId);
    const first = session === undefined;
    if (session === undefined) {
      session = { sessionId: hold.sessionId, holds: new Set(), wakeAtMs: Number.NaN };
      this.sessions.set(hold.sessionId, session);
    }
    const entry: HoldEntry<H> = { hold, wakeAtMs: Number.POSITIVE_INFINITY };
    session.holds.add(entry);
    this.byHold.set(hold, entry);
    const peers = this.byResource.get(hold.resource);
    if (peers === undefined) this.byResource.set(hold.resource, entry);
    else if (peers instanceof Set) peers.add(entry);
    else this.byResource.set(hold.resource, new Set([peers, entry]));
    if (first) this.searchSession(session, nowMs);
    this.searchHold(entry, nowMs);
  }

  /** A hold ended (released, revoked, or with its session). */
  holdEnded(hold: H): void {
    const session = this.sessions.get(hold.sessionId);
    const entry = this.byHold.get(hold);
    if (session !== undefined && entry !== undefined) this.removeHold(session, entry);
  }

  /** The resource's hold history changed (a hold ended, a history loaded): its holds' stuck bounds move. */
  historyChanged(resource: string, nowMs: number): void {
    const peers = this.byResource.get(resource);
    if (peers instanceof Set) for (const entry of peers) this.searchHold(entry, nowMs);
    else if (peers !== undefined) this.searchHold(peers, nowMs);
  }

  /** Every input may have moved (a new office, overload beginning or ending): every bound is searched again. */
  allChanged(nowMs: number): void {
    for (const session of this.sessions.values()) {
      this.searchSession(session, nowMs);
      for (const entry of session.holds) this.searchHold(entry, nowMs);
    }
  }

  /** Where the ladder left a hold just assessed: one with a deadline is assessed at every pass. */
  settled(hold: H, pending: boolean): void {
    const entry = this.byHold.get(hold);
    if (entry === undefined) return;
    if (pending) this.laddered.add(entry);
    else this.laddered.delete(entry);
  }

  /** The holds an assessment at `nowMs` may act on (in no particular order). */
  due(nowMs: number): H[] {
    this.wakeUntil(nowMs);
    const due = new Set<HoldEntry<H>>(this.laddered);
    for (const entry of this.aged) due.add(entry);
    for (const session of this.awake) for (const entry of session.holds) due.add(entry);
    return [...due].map((entry) => entry.hold);
  }

  /** Whether `hold` is due at `nowMs` (for a driver that walks its own holds in its own order). */
  isDue(hold: H, nowMs: number): boolean {
    this.wakeUntil(nowMs);
    const entry = this.byHold.get(hold);
    if (entry === undefined) return false;
    const session = this.sessions.get(hold.sessionId);
    return this.laddered.has(entry) || this.aged.has(entry) || (session !== undefined && this.awake.has(session));
  }

  private removeHold(session: SessionEntry<H>, entry: HoldEntry<H>): void {
    session.holds.delete(entry);
    this.byHold.delete(entry.hold);
    this.aged.delete(entry);
    this.laddered.delete(entry);
    entry.wakeAtMs = Number.NaN; // a wake still in the heap for it is dropped
    const peers = this.byResource.get(entry.hold.resource);
    if (peers === entry) this.byResource.delete(entry.hold.resource);
    else if (peers instanceof Set) {
      peers.delete(entry);
      if (peers.size === 0) this.byResource.delete(entry.hold.resource);
    }
    if (session.holds.size > 0) return;
    // A session holding nothing is forgotten (its wakes dropped): its next hold searches afresh.
    session.wakeAtMs = Number.NaN;
    this.awake.delete(session);
    this.sessions.delete(session.sessionId);
  }

  private searchSession(session: SessionEntry<H>, nowMs: number): void {
    const { bounds } = this;
    session.wakeAtMs = this.quietUntil(nowMs, (atMs) => bounds.sessionLapse(session.sessionId, atMs));
    if (session.wakeAtMs <= nowMs) {
      this.awake.add(session);
      return;
    }
    this.awake.delete(session);
    this.wakes.push(session.wakeAtMs, { kind: 'session', entry: session, atMs: session.wakeAtMs });
  }

  private searchHold(entry: HoldEntry<H>, nowMs: number): void {
    const { bounds } = this;
    const { resource, grantedAtMs } = entry.hold;
    if (bounds.hasTrustedHistory?.(resource) === false) {
      // No stuck part at any age until the history changes (historyChanged searches again): no search, and no wake
      // at the horizon. Most holds of per-entity locks are such, and a new leader starts one for each (issue 13).
      entry.wakeAtMs = Number.POSITIVE_INFINITY;
      this.aged.delete(entry);
      return;
    }
    entry.wakeAtMs = this.quietUntil(nowMs, (atMs) => bounds.stuckBound(resource, grantedAtMs, atMs));
    if (entry.wakeAtMs <= nowMs) {
      this.aged.add(entry);
      return;
    }
    this.aged.delete(entry);
    this.wakes.push(entry.wakeAtMs, { kind: 'hold', entry, atMs: entry.wakeAtMs });
  }

  /**
   * The last time from `nowMs` (within the horizon, to 1/16 of a step) at which `bound`, which never falls with time,
   * is still at most the quiet level: before it the bound is quiet (a binary search, O(log(horizon / step)) calls). `nowMs` when it is
   * not quiet now; the horizon when it is quiet all the way (the search runs again then).
   */
  private quietUntil(nowMs: number, bound: (atMs: number) => number): number {
    const { quietLevel, stepMs, horizonMs } = this.options;
    if (bound(nowMs) > quietLevel) return nowMs;
    let quiet = 0;
    let loud = Math.floor(horizonMs / stepMs) + 1;
    if (bound(nowMs + (loud - 1) * stepMs) <= quietLevel) return nowMs + (loud - 1) * stepMs;
    loud--;
    while (loud - quiet > 1) {
      const middle = (quiet + loud) >> 1;
      if (bound(nowMs + middle * stepMs) <= quietLevel) quiet = middle;
      else loud = middle;
    }
    // Then within that step, to a sixteenth of it: a session renewing on time is then not woken a step early.
    let quietMs = quiet * stepMs;
    let loudMs = loud * stepMs;
    while (loudMs - quietMs > stepMs / REFINE_STEPS) {
      const middleMs = (quietMs + loudMs) / 2;
      if (bound(nowMs + middleMs) <= quietLevel) quietMs = middleMs;
      else loudMs = middleMs;
    }
    return nowMs + quietMs;
  }

  /** Takes every wake due by `nowMs` off the heap: a bound still quiet then (the horizon's end) is searched again. */
  private wakeUntil(nowMs: number): void {
    for (;;) {
      const atMs = this.wakes.peekKey();
      if (atMs === undefined || atMs > nowMs) return;
      const wake = this.wakes.pop() as Wake<H>;
      if (wake.entry.wakeAtMs !== wake.atMs) continue; // searched again since, or gone
      if (wake.kind === 'session') {
        if (this.sessions.get(wake.entry.sessionId) === wake.entry) this.searchSession(wake.entry, nowMs);
      } else {
        this.searchHold(wake.entry, nowMs);
      }
    }
  }
}
