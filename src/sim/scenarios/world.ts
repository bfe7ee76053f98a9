// The scenario world: simulated clients, network and lock server that emit a trace as the server would log it.
import type { Trace, TraceEvent, TruthEvent } from '../../eval/trace.js';
import type { SeededRng } from '../../util/rng.js';
import { EventQueue } from './event-queue.js';

/** The world's fixed settings. */
export interface WorldConfig {
  readonly name: string;
  /** TTL the server grants, and the lease it enforces (last keepalive + TTL). */
  readonly ttlMs: number;
  /** Keepalive interval of every client (TTL/3). */
  readonly keepaliveMs: number;
  readonly durationMs: number;
  /** Raft commit latency between a request's arrival and its grant. */
  readonly commitMs: number;
  /** What client clocks read at world time 0. */
  readonly clientEpochMs: number;
  /** Every network delay and its jitter are multiplied by this (`forelock eval --scale K`); TTLs and intervals are
   * not. 1 when absent. */
  readonly delayScale?: number;
}

/** A client's link to the server: how its round trips are distributed, and the chance a keepalive is lost. */
export interface NetworkProfile {
  /** What kind of link it is ('lan', 'wan', ...): kept with the trace, so analyses can pick sessions by link. */
  readonly kind: string;
  readonly lossProbability: number;
  /** One round trip, before any fault's factor and the world's delay scale. */
  sampleRttMs(rng: SeededRng): number;
}

/** A link whose RTT is normal around `meanMs`, +- `spreadMs` at 2 sigma (clipped there). */
export function normalLink(kind: string, meanMs: number, spreadMs: number, lossProbability: number): NetworkProfile {
  return {
    kind,
    lossProbability,
    sampleRttMs: (rng) => clamp(rng.normal(meanMs, spreadMs / 2), meanMs - spreadMs, meanMs + spreadMs),
  };
}

/** A wide-area link: log-normal RTT around `medianMs` with `sigma`, and with `spikeProbability` a spike of
 * `spikeLow`-`spikeHigh` times that. */
export function lognormalLink(
  kind: string,
  medianMs: number,
  sigma: number,
  spikeProbability: number,
  spikeLow: number,
  spikeHigh: number,
  lossProbability: number,
): NetworkProfile {
  return {
    kind,
    lossProbability,
    sampleRttMs: (rng) => {
      const rtt = medianMs * Math.exp(sigma * rng.normal());
      return rng.chance(spikeProbability) ? rtt * rng.uniform(spikeLow, spikeHigh) : rtt;
    },
  };
}

/** A link with Pareto-distributed jitter: `baseMs` plus Pareto(`scaleMs`, `alpha`) less its scale, at most `capMs`. */
export function paretoLink(
  kind: string,
  baseMs: number,
  scaleMs: number,
  alpha: number,
  capMs: number,
  lossProbability: number,
): NetworkProfile {
  return {
    kind,
    lossProbability,
    sampleRttMs: (rng) => baseMs + Math.min(capMs, scaleMs / (1 - rng.next()) ** (1 / alpha) - scaleMs),
  };
}

/** Bursts of loss (a Gilbert-Elliott channel in time): during each interval a keepalive is lost with `lossInBurst`. */
export interface LossBursts {
  readonly bursts: readonly Interval[];
  readonly lossInBurst: number;
}

/** A time interval [fromMs, toMs). */
export interface Interval {
  readonly fromMs: number;
  readonly toMs: number;
}

/** A client clock whose rate error grows linearly from 0 at `onsetMs` to `maxRate` over `rampMs`, then stays. */
export interface ClockDrift {
  readonly onsetMs: number;
  readonly rampMs: number;
  /** Rate error: -0.05 means the clock runs 5% slow. */
  readonly maxRate: number;
}

/** The server's load as its driver would sample it. */
export interface LoadReading {
  readonly cpu: number;
  readonly mem: number;
  readonly loopDelayMs: number;
}

/** How a client uses locks. */
export interface Behavior {
  /** Delay before its next request and the resource, or null to stop requesting. */
  next(world: ScenarioWorld, session: SimSession): { readonly delayMs: number; readonly resource: SimResource } | null;
  /** How long it holds `resource` once granted (Infinity: until the end). */
  holdMs(world: ScenarioWorld, session: SimSession, resource: SimResource): number;
}

/** A lockable resource with its hold-time distribution and its server-side history. */
export class SimResource {
  holder: SimSession | null = null;
  readonly queue: SimSession[] = [];
  /** Server-side hold durations (release - grant) of completed holds, oldest first. */
  readonly historyMs: number[] = [];
  /** When each of those holds was released. */
  readonly releasedAtMs: number[] = [];

  constructor(
    readonly name: string,
    readonly sampleHoldMs: () => number,
  ) {}
}

/** One simulated client and its session. */
export class SimSession {
  readonly pauses: Interval[] = [];
  readonly partitions: Interval[] = [];
  crashAtMs = Number.POSITIVE_INFINITY;
  rttFactor: (atMs: number) => number = () => 1;
  drift: ClockDrift | null = null;
  /** Bursts of keepalive loss on its link, if any. */
  lossBursts: LossBursts | null = null;
  /** Set when the server expired the session (its lease lapsed). */
  expiredAtMs: number | null = null;
  lastReceiveMs: number;
  /** The client's measured RTT of its previous keepalive exchange. */
  lastRttMs: number | undefined;
  /** Server side: the resource granted to this session, if any. */
  holding: { readonly resource: SimResource; readonly grantMs: number } | null = null;
  /** Client side: it knows it holds a lock. */
  clientHolding = false;
  /** Runs once at the next moment the client holds a lock (fault injection). */
  pendingFault: ((atMs: number) => void) | null = null;
  /** Overrides the next hold's duration (stuck holder). */
  holdOverride: ((resource: SimResource, grantMs: number) => number | undefined) | null = null;
  /** Called when the server receives one of its keepalives. */
  onKeepalive: ((receiveMs: number, sendMs: number) => void) | null = null;
  /** Counts the client's connections: a keepalive sent on an earlier one is lost with it, and its timer stops. */
  connection = 0;

  constructor(
    readonly id: string,
    readonly network: NetworkProfile,
    readonly behavior: Behavior,
    readonly clockOffsetMs: number,
    openedMs: number,
  ) {
    this.lastReceiveMs = openedMs;
  }

  /** The server no longer knows this session. */
  get gone(): boolean {
    return this.expiredAtMs !== null;
  }

  /** When the client process can act at `atMs`: then, at the end of a pause, or never (crashed). */
  resumeAt(atMs: number): number | null {
    let t = atMs;
    for (const pause of this.pauses) if (t >= pause.fromMs && t < pause.toMs) t = pause.toMs;
    return t >= this.crashAtMs ? null : t;
  }

  /** When the client's link is up again at or after `atMs`. */
  linkUpAt(atMs: number): number {
    let t = atMs;
    for (const partition of this.partitions) if (t >= partition.fromMs && t < partition.toMs) t = partition.toMs;
    return t;
  }

  /** Rate error of the client's clock at `atMs`. */
  driftRate(atMs: number): number {
    const drift = this.drift;
    if (drift === null || atMs <= drift.onsetMs) return 0;
    return drift.maxRate * Math.min(1, (atMs - drift.onsetMs) / drift.rampMs);
  }

  /** Offset of the client's clock from world time accumulated by its drift up to `atMs`. */
  private driftOffsetMs(atMs: number): number {
    const drift = this.drift;
    if (drift === null || atMs <= drift.onsetMs) return 0;
    const inRampMs = Math.min(atMs - drift.onsetMs, drift.rampMs);
    const rampOffset = (drift.maxRate * inRampMs * inRampMs) / (2 * drift.rampMs);
    return rampOffset + drift.maxRate * Math.max(0, atMs - drift.onsetMs - drift.rampMs);
  }

  /** The client's clock reading at world time `atMs` (relative to the world's client epoch). */
  clockAt(atMs: number): number {
    return this.clockOffsetMs + atMs + this.driftOffsetMs(atMs);
  }

  /** True when a keepalive sent at `atMs` falls in one of the link's loss bursts and is lost there. */
  lostInBurst(atMs: number, rng: SeededRng): boolean {
    const loss = this.lossBursts;
    if (loss === null) return false;
    for (const burst of loss.bursts) if (atMs >= burst.fromMs && atMs < burst.toMs) return rng.chance(loss.lossInBurst);
    return false;
  }

  /** The world time at which the client's clock reads `clockMs` (the clock is strictly increasing). */
  worldTimeOf(clockMs: number): number {
    let low = clockMs - this.clockOffsetMs - 1e7;
    let high = clockMs - this.clockOffsetMs + 1e7;
    for (let step = 0; step < 80; step++) {
      const middle = (low + high) / 2;
      if (this.clockAt(middle) < clockMs) low = middle;
      else high = middle;
    }
    return high;
  }

  /** World time a client timer of `clientMs` takes when armed at `atMs`. */
  timerMs(clientMs: number, atMs: number): number {
    return clientMs / (1 + this.driftRate(atMs));
  }
}

/** Rounds a time to 0.1 ms, the resolution of emitted traces. */
export function roundTime(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** A discrete-event world: clients renew their sessions, request, hold and release locks; the server grants FIFO,
 * expires sessions whose lease lapses and logs everything it sees as trace events. Clients pace renewals on answers,
 * as Consul's session renewal and Chubby's KeepAlive do: the next keepalive goes one interval (on the client's clock)
 * after the previous answer, or one interval after a keepalive whose answer never came. So a growing RTT spaces
 * renewals out and can make one miss the lease (Forelock's own SDK sends on a fixed timer, under which a smooth
 * latency ramp never misses a renewal). */
export class ScenarioWorld {
  readonly queue = new EventQueue();
  readonly sessions: SimSession[] = [];
  readonly resources = new Map<string, SimResource>();
  readonly stalls: Interval[] = [];
  loadAt: (atMs: number) => LoadReading;
  private readonly emitted: TraceEvent[] = [];

  constructor(
    readonly config: WorldConfig,
    readonly rng: SeededRng,
  ) {
    this.loadAt = () => ({
      cpu: clamp(rng.normal(0.25, 0.04), 0.05, 0.6),
      mem: clamp(rng.normal(0.35, 0.02), 0.1, 0.6),
      loopDelayMs: 1 + rng.uniform(0, 3),
    });
    this.queue.at(0, () => this.sampleLoad());
  }

  /** Adds a resource whose holds last `sampleHoldMs()`. */
  addResource(name: string, sampleHoldMs: () => number): SimResource {
    const resource = new SimResource(name, sampleHoldMs);
    this.resources.set(name, resource);
    return resource;
  }

  /** Opens a session at `atMs`; it renews every keepalive interval and starts using locks. */
  openSession(id: string, network: NetworkProfile, behavior: Behavior, atMs: number): SimSession {
    const session = new SimSession(id, network, behavior, this.rng.uniform(-500, 500), atMs);
    this.sessions.push(session);
    this.queue.at(atMs, () => {
      this.emit({ t: atMs, type: 'session', session: id, ttl_ms: this.config.ttlMs });
      this.armLeaseCheck(session, atMs);
      this.queue.at(atMs + this.config.keepaliveMs, () => this.sendKeepalive(session));
      this.planNextRequest(session);
    });
    return session;
  }

  /** The server's event loop stalls during `interval`: nothing it receives is handled before the end. */
  addStall(interval: Interval): void {
    this.stalls.push(interval);
    this.queue.at(interval.toMs, () =>
      this.emit({
        t: interval.toMs,
        type: 'load',
        cpu: 1,
        mem: clamp(this.rng.normal(0.4, 0.02), 0.1, 0.9),
        loop_delay_ms: roundTime(interval.toMs - interval.fromMs),
      }),
    );
  }

  /** Calls `inject` at `atMs` if the session's client holds a lock then, else when it next learns of a grant, a
   * random part of that hold later. */
  whenHolding(session: SimSession, atMs: number, inject: (atMs: number) => void): void {
    this.queue.at(atMs, () => {
      if (session.gone) return;
      if (session.clientHolding) inject(this.queue.now);
      else session.pendingFault = inject;
    });
  }

  /** Records a ground-truth line. */
  truth(line: Omit<TruthEvent, 'type'>): void {
    this.emit({ ...line, type: 'truth' });
  }

  /**
   * The client process died at `atMs` (kill -9): its kernel closes its connection, and the server sees it end one
   * one-way delay later, when the link is up to carry that (a cut-off client's reset is lost). `rng` draws the delay, so
   * the world's own draws are not shifted.
   */
  clientDied(session: SimSession, atMs: number, rng: SeededRng): void {
    session.crashAtMs = atMs;
    if (session.linkUpAt(atMs) > atMs) return;
    const arrivalMs = atMs + this.sampleRttWith(session, atMs, rng) / 2;
    if (session.linkUpAt(arrivalMs) > arrivalMs) return;
    this.emitDisconnect(session, this.serverTime(arrivalMs));
  }

  /**
   * A live client's connection is reset at `atMs` (by a middlebox, or by the client's own timeout), and both ends see
   * it at once: the keepalive in flight is lost with it. Its SDK redials after its first backoff (50 ms, half of it
   * jittered), dials (two round trips: TCP, then HTTP/2), resumes (one more) and sends a keepalive at once, whose
   * rhythm goes on from there. `rng` draws the delays.
   */
  resetConnection(session: SimSession, atMs: number, rng: SeededRng): void {
    if (session.gone || session.resumeAt(atMs) !== atMs) return;
    session.connection++;
    this.emitDisconnect(session, this.serverTime(atMs));
    let resumedMs = atMs + 50 * (1 - 0.5 * rng.next());
    for (let trip = 0; trip < 3; trip++) resumedMs += this.sampleRttWith(session, resumedMs, rng);
    this.queue.at(resumedMs, () => this.sendKeepalive(session));
  }

  /** Runs the world to its end and returns the trace, events sorted by time (ties in emission order). */
  run(): Trace {
    this.queue.runUntil(this.config.durationMs);
    const events = this.emitted.filter((event) => event.t <= this.config.durationMs);
    events.sort((a, b) => a.t - b.t);
    const epochMs = this.config.clientEpochMs;
    const trace: Trace = {
      header: {
        type: 'header',
        version: 1,
        name: this.config.name,
        ttl_ms: this.config.ttlMs,
        keepalive_ms: this.config.keepaliveMs,
      },
      events,
    };
    // What only a generated trace knows (true clocks, kinds of link): kept out of its enumerable data, so traces
    // compare and serialize by their events alone.
    Object.defineProperties(trace, {
      clientClocks: {
        value: new Map(
          this.sessions.map((session) => [session.id, (clientMs: number) => session.worldTimeOf(clientMs - epochMs)]),
        ),
      },
      links: { value: new Map(this.sessions.map((session) => [session.id, session.network.kind])) },
    });
    return trace;
  }

  /** The hold durations of a resource's holds released before `beforeMs`, oldest first. */
  static historyBefore(resource: SimResource, beforeMs: number): number[] {
    let count = 0;
    while (count < resource.releasedAtMs.length && resource.releasedAtMs[count]! < beforeMs) count++;
    return resource.historyMs.slice(0, count);
  }

  /** The nearest-rank p99 of hold durations. */
  static p99(historyMs: readonly number[]): number {
    const sorted = [...historyMs].sort((a, b) => a - b);
    return sorted[Math.max(1, Math.ceil(0.99 * sorted.length)) - 1]!;
  }

  private emit(event: TraceEvent): void {
    this.emitted.push(event);
  }

  /** When the server handles something that reaches it at `atMs`: after any stall in progress. */
  private serverTime(atMs: number): number {
    let t = atMs;
    for (const stall of this.stalls) if (t >= stall.fromMs && t < stall.toMs) t = stall.toMs;
    return roundTime(t);
  }

  private sampleRttMs(session: SimSession, atMs: number): number {
    return this.sampleRttWith(session, atMs, this.rng);
  }

  private sampleRttWith(session: SimSession, atMs: number, rng: SeededRng): number {
    const base = session.network.sampleRttMs(rng);
    return Math.max(0.2, base) * (this.config.delayScale ?? 1) * session.rttFactor(atMs);
  }

  private emitDisconnect(session: SimSession, atMs: number): void {
    this.queue.at(atMs, () => {
      if (!session.gone) this.emit({ t: atMs, type: 'disconnect', session: session.id });
    });
  }

  /** Runs `act` at the moment the client can act (after a pause), unless it crashed or its session is gone. */
  private whenClientRuns(session: SimSession, act: () => void): void {
    const now = this.queue.now;
    if (session.gone) return;
    const resume = session.resumeAt(now);
    if (resume === null) return;
    if (resume > now) this.queue.at(resume, () => this.whenClientRuns(session, act));
    else act();
  }

  private sendKeepalive(session: SimSession, connection = session.connection): void {
    this.whenClientRuns(session, () => {
      if (session.connection !== connection) return;
      const sendMs = this.queue.now;
      const rttMs = this.sampleRttMs(session, sendMs);
      const intervalMs = session.timerMs(this.config.keepaliveMs, sendMs);
      const lost =
        session.linkUpAt(sendMs) > sendMs ||
        session.linkUpAt(sendMs + rttMs / 2) > sendMs + rttMs / 2 ||
        session.lostInBurst(sendMs, this.rng) ||
        this.rng.chance(session.network.lossProbability);
      if (lost) {
        this.queue.at(sendMs + intervalMs, () => this.sendKeepalive(session, connection));
        return;
      }
      const clientTimeMs = Math.round(this.config.clientEpochMs + session.clockAt(sendMs));
      const receiveMs = this.serverTime(sendMs + rttMs / 2);
      this.queue.at(receiveMs, () => {
        if (session.gone || session.connection !== connection) return;
        this.emit({
          t: receiveMs,
          type: 'keepalive',
          session: session.id,
          client_time_ms: clientTimeMs,
          ...(session.lastRttMs === undefined ? {} : { rtt_ms: roundTime(session.lastRttMs) }),
        });
        session.lastReceiveMs = receiveMs;
        this.armLeaseCheck(session, receiveMs);
        session.onKeepalive?.(receiveMs, sendMs);
        const answerMs = receiveMs + rttMs / 2;
        if (session.linkUpAt(answerMs) > answerMs) {
          this.queue.at(Math.max(receiveMs, sendMs + intervalMs), () => this.sendKeepalive(session, connection));
          return;
        }
        this.queue.at(answerMs, () =>
          this.whenClientRuns(session, () => {
            const now = this.queue.now;
            session.lastRttMs = session.clockAt(now) - session.clockAt(sendMs);
            this.queue.at(now + session.timerMs(this.config.keepaliveMs, now), () =>
              this.sendKeepalive(session, connection),
            );
          }),
        );
      });
    });
  }

  private armLeaseCheck(session: SimSession, receiveMs: number): void {
    const lapseMs = receiveMs + this.config.ttlMs;
    this.queue.at(lapseMs, () => {
      if (!session.gone && session.lastReceiveMs === receiveMs) this.expire(session, lapseMs);
    });
  }

  private expire(session: SimSession, atMs: number): void {
    session.expiredAtMs = atMs;
    this.emit({ t: atMs, type: 'close', session: session.id });
    for (const resource of this.resources.values()) {
      const waiting = resource.queue.indexOf(session);
      if (waiting >= 0) resource.queue.splice(waiting, 1);
    }
    const held = session.holding;
    session.holding = null;
    if (held !== null) {
      held.resource.holder = null;
      this.tryGrant(held.resource);
    }
  }

  private planNextRequest(session: SimSession): void {
    const plan = session.behavior.next(this, session);
    if (plan === null) return;
    this.queue.at(this.queue.now + plan.delayMs, () => this.sendAcquire(session, plan.resource));
  }

  /** Sends `send` once the client runs and its link is up; `arrive` runs when the server handles it. */
  private sendToServer(session: SimSession, arrive: () => void): void {
    this.whenClientRuns(session, () => {
      const now = this.queue.now;
      const upMs = session.linkUpAt(now);
      if (upMs > now) {
        this.queue.at(upMs, () => this.sendToServer(session, arrive));
        return;
      }
      const arrivalMs = this.serverTime(now + this.sampleRttMs(session, now) / 2);
      this.queue.at(arrivalMs, () => {
        if (!session.gone) arrive();
      });
    });
  }

  private sendAcquire(session: SimSession, resource: SimResource): void {
    this.sendToServer(session, () => {
      this.emit({
        t: this.queue.now,
        type: 'acquire',
        session: session.id,
        resource: resource.name,
        mode: 'exclusive',
      });
      resource.queue.push(session);
      this.tryGrant(resource);
    });
  }

  private tryGrant(resource: SimResource): void {
    if (resource.holder !== null) return;
    const next = resource.queue.shift();
    if (next === undefined) return;
    const grantMs = this.serverTime(this.queue.now + this.config.commitMs);
    resource.holder = next;
    next.holding = { resource, grantMs };
    this.queue.at(grantMs, () => {
      if (next.gone) return;
      this.emit({ t: grantMs, type: 'grant', session: next.id, resource: resource.name });
      const deliveredMs = grantMs + this.sampleRttMs(next, grantMs) / 2;
      this.queue.at(next.linkUpAt(deliveredMs), () =>
        this.whenClientRuns(next, () => this.holdLock(next, resource, grantMs)),
      );
    });
  }

  private holdLock(session: SimSession, resource: SimResource, grantMs: number): void {
    const holdMs = session.holdOverride?.(resource, grantMs) ?? session.behavior.holdMs(this, session, resource);
    session.clientHolding = true;
    const fault = session.pendingFault;
    if (fault !== null) {
      session.pendingFault = null;
      const injectAtMs = this.queue.now + this.rng.uniform(0, Math.min(holdMs, 60_000) / 2);
      this.queue.at(injectAtMs, () => fault(injectAtMs));
    }
    if (!Number.isFinite(holdMs)) return;
    this.queue.at(this.queue.now + holdMs, () =>
      this.whenClientRuns(session, () => {
        session.clientHolding = false;
        this.sendToServer(session, () => {
          if (session.holding?.resource !== resource) return;
          const now = this.queue.now;
          this.emit({ t: now, type: 'release', session: session.id, resource: resource.name });
          resource.historyMs.push(now - grantMs);
          resource.releasedAtMs.push(now);
          session.holding = null;
          resource.holder = null;
          this.tryGrant(resource);
          this.planNextRequest(session);
        });
      }),
    );
  }

  private sampleLoad(): void {
    const now = this.queue.now;
    if (!this.stalls.some((stall) => now >= stall.fromMs && now < stall.toMs)) {
      const load = this.loadAt(now);
      this.emit({
        t: now,
        type: 'load',
        cpu: round3(load.cpu),
        mem: round3(load.mem),
        loop_delay_ms: roundTime(load.loopDelayMs),
      });
    }
    this.queue.at(now + 1000, () => this.sampleLoad());
  }
}

/** `value` limited to [low, high]. */
export function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
