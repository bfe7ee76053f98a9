// The scenario families of the evaluation (docs/design.md, "Evaluation"): seeded generators of realistic traces with
// exact ground truth.
import type { Trace } from '../../eval/trace.js';
import { SeededRng } from '../../util/rng.js';
import {
  type Behavior,
  clamp,
  type Interval,
  lognormalLink,
  type NetworkProfile,
  normalLink,
  paretoLink,
  roundTime,
  ScenarioWorld,
  type SimResource,
  type SimSession,
} from './world.js';

/** The families, in report order. */
export const SCENARIO_FAMILIES = [
  'healthy-jitter',
  'gc-pause',
  'latency-ramp',
  'crash',
  'partition',
  'server-overload',
  'stuck-holder',
  'bursty-contention',
  'clock-drift',
  'wan',
  'heavy-tail',
  'bursty-loss',
  'drift-beyond-bound',
  'mixed',
  'recovering-links',
] as const;

/** One scenario family. */
export type ScenarioFamily = (typeof SCENARIO_FAMILIES)[number];

/** How big one generated trace is. */
export interface ScenarioSize {
  /** Sessions that request, hold and release short locks. */
  readonly workers: number;
  /** Sessions that hold one lock for the whole run (leader locks), besides any faulty ones. */
  readonly leaders: number;
  readonly durationMs: number;
  /** Faults injected per trace (episodes, or server stalls). */
  readonly faults: number;
}

/** The default size: 16 workers and 2 leaders over 12 minutes, 8 faults. */
export const defaultScenarioSize: ScenarioSize = { workers: 16, leaders: 2, durationMs: 720_000, faults: 8 };

/** The server's defaults (docs/design.md): TTL 10 s, keepalive every TTL/3. */
const TTL_MS = 10_000;
const KEEPALIVE_MS = 3333;
/** Faults start once resources have a history. */
const WARMUP_MS = 150_000;

const LAN: NetworkProfile = normalLink('lan', 2, 1, 0.001);
const WAN: NetworkProfile = normalLink('wan', 150, 30, 0.001);

/** How a scenario is generated beyond its family, seed and size. */
export interface ScenarioOptions {
  /** Multiplies every network delay and its jitter (`forelock eval --scale K`); TTLs and intervals stay. */
  readonly delayScale?: number;
}

/** Generates the trace of `family` for `seed`; the same arguments always give the same trace. */
export function generateScenario(
  family: ScenarioFamily,
  seed: number,
  size: ScenarioSize = defaultScenarioSize,
  options: ScenarioOptions = {},
): Trace {
  const familyIndex = SCENARIO_FAMILIES.indexOf(family);
  const streamSeed = (Math.imul(seed, 2654435761) ^ Math.imul(familyIndex + 1, 40503)) >>> 0;
  const rng = new SeededRng(streamSeed);
  // Connections (their resets and ends) draw from a stream of their own, so they shift none of the world's draws.
  const connectionRng = new SeededRng((streamSeed ^ 0x5bd1e995) >>> 0);
  const world = new ScenarioWorld(
    {
      name: `${family}#${seed}`,
      ttlMs: TTL_MS,
      keepaliveMs: KEEPALIVE_MS,
      durationMs: size.durationMs,
      commitMs: 3,
      clientEpochMs: 1_715_000_000_000,
      delayScale: options.delayScale ?? 1,
    },
    rng,
  );
  const bursty = family === 'bursty-contention';
  const resources = bursty
    ? addHotResources(world, rng)
    : family === 'stuck-holder'
      ? addJobResources(world, rng)
      : addResources(world, rng);
  const workerBehavior = bursty ? burstyBehavior(resources, rng) : workerBehaviorOf(resources, rng);
  const links = linksOf(family, rng);
  const workers: SimSession[] = [];
  for (let index = 0; index < size.workers; index++) {
    workers.push(world.openSession(`w${index}`, links.worker(), workerBehavior, rng.uniform(0, 2000)));
  }
  const leaders: SimSession[] = [];
  for (let index = 0; index < size.leaders; index++) leaders.push(openLeader(world, `leader${index}`, links.leader()));
  const faultWindow = (tailMs: number): number => rng.uniform(WARMUP_MS, Math.max(WARMUP_MS, size.durationMs - tailMs));
  const victims = pickDistinct(rng, workers, size.faults);
  switch (family) {
    case 'healthy-jitter':
    case 'bursty-contention':
      break;
    case 'gc-pause':
      for (const victim of victims) pauseClient(world, rng, victim, faultWindow(120_000));
      break;
    case 'partition':
      for (const victim of victims) partitionClient(world, rng, victim, faultWindow(120_000));
      break;
    case 'crash':
      for (const victim of victims) crashClient(world, connectionRng, victim, faultWindow(60_000));
      for (const live of [...workers, ...leaders]) {
        if (!victims.includes(live)) resetConnection(world, connectionRng, live, size.durationMs);
      }
      break;
    case 'latency-ramp':
      for (let index = 0; index < size.faults; index++) rampLatency(world, rng, index, size.durationMs);
      break;
    case 'clock-drift':
      for (let index = 0; index < size.faults; index++) driftClock(world, rng, index, size.durationMs);
      break;
    case 'stuck-holder':
      for (const victim of victims) stickHolder(world, rng, victim, faultWindow(150_000));
      break;
    case 'server-overload':
      overloadServer(world, rng, size);
      break;
    case 'wan':
      victims.forEach((victim, index) => {
        if (index % 2 === 0) pauseClient(world, rng, victim, faultWindow(120_000));
        else crashClient(world, connectionRng, victim, faultWindow(60_000));
      });
      break;
    case 'heavy-tail':
      break;
    case 'bursty-loss':
      for (const victim of victims) loseInBursts(world, rng, victim, size.durationMs);
      break;
    case 'drift-beyond-bound':
      for (let index = 0; index < size.faults; index++) driftBeyondBound(world, rng, index, size.durationMs, links);
      break;
    case 'mixed':
      victims.forEach((victim, index) => {
        switch (index % 5) {
          case 0:
            pauseClient(world, rng, victim, faultWindow(120_000));
            return;
          case 1:
            crashClient(world, connectionRng, victim, faultWindow(60_000));
            return;
          case 2:
            partitionClient(world, rng, victim, faultWindow(120_000));
            return;
          case 3:
            rampLatency(world, rng, index, size.durationMs);
            return;
          default:
            driftBeyondBound(world, rng, index, size.durationMs, links);
        }
      });
      break;
    case 'recovering-links':
      for (const victim of victims) degradeLink(world, rng, victim, size.durationMs);
      break;
  }
  return world.run();
}

/** Where a family's sessions connect from: a link for each worker and each leader. */
interface LinkChoice {
  worker(): NetworkProfile;
  leader(): NetworkProfile;
}

/** A wide-area link as the `wan` family draws them: median RTT 20-300 ms (log-uniform), sigma 0.2-0.5, 0.5-2% spikes
 * of 3-10x. */
function wanLink(rng: SeededRng): NetworkProfile {
  return lognormalLink('wan', logUniform(rng, 20, 300), rng.uniform(0.2, 0.5), rng.uniform(0.005, 0.02), 3, 10, 0.001);
}

/** A link with Pareto jitter (alpha 1.5-3, scale 10-50% of the base RTT, capped at 4 s) over a LAN or WAN base. */
function heavyTailLink(rng: SeededRng): NetworkProfile {
  const lan = rng.chance(0.5);
  const baseMs = lan ? 2 : logUniform(rng, 20, 300);
  return paretoLink(lan ? 'lan' : 'wan', baseMs, baseMs * rng.uniform(0.1, 0.5), rng.uniform(1.5, 3), 4000, 0.001);
}

function linksOf(family: ScenarioFamily, rng: SeededRng): LinkChoice {
  switch (family) {
    case 'wan':
      return { worker: () => wanLink(rng), leader: () => wanLink(rng) };
    case 'heavy-tail':
      return { worker: () => heavyTailLink(rng), leader: () => heavyTailLink(rng) };
    case 'mixed':
    case 'drift-beyond-bound':
    case 'recovering-links':
    case 'bursty-loss':
      return {
        worker: () => (rng.chance(0.5) ? LAN : wanLink(rng)),
        leader: () => (rng.chance(0.5) ? LAN : wanLink(rng)),
      };
    default:
      return { worker: () => (rng.chance(0.7) ? LAN : WAN), leader: () => (rng.chance(0.5) ? LAN : WAN) };
  }
}

/** A GC pause of 0.2-30 s while holding: stale at the lapse if it outlasts the lease, else transient. */
function pauseClient(world: ScenarioWorld, rng: SeededRng, victim: SimSession, atMs: number): void {
  injectLapsable(
    world,
    victim,
    'gc-pause',
    atMs,
    (session, startMs, lengthMs) => session.pauses.push({ fromMs: startMs, toMs: startMs + lengthMs }),
    logUniform(rng, 200, 30_000),
  );
}

/** The client is cut off for 1-40 s while holding: stale at the lapse if it outlasts the lease, else transient. */
function partitionClient(world: ScenarioWorld, rng: SeededRng, victim: SimSession, atMs: number): void {
  injectLapsable(
    world,
    victim,
    'partition',
    atMs,
    (session, startMs, lengthMs) => session.partitions.push({ fromMs: startMs, toMs: startMs + lengthMs }),
    logUniform(rng, 1000, 40_000),
  );
}

/** The client dies (kill -9) while holding: stale at once. The server sees its connection end
 * (ScenarioWorld.clientDied). */
function crashClient(world: ScenarioWorld, connectionRng: SeededRng, victim: SimSession, atMs: number): void {
  world.whenHolding(victim, atMs, (crashMs) => {
    world.clientDied(victim, crashMs, connectionRng);
    world.truth({ t: crashMs, session: victim.id, fault: 'crash', stale_at: crashMs });
  });
}

/** A live client's connection is reset once, while it holds, at a time drawn over the run after the warm-up: its SDK
 * redials and resumes (ScenarioWorld.resetConnection). Not a fault (no truth line): any pre-emption is unnecessary. */
function resetConnection(world: ScenarioWorld, connectionRng: SeededRng, live: SimSession, durationMs: number): void {
  const atMs = connectionRng.uniform(WARMUP_MS, Math.max(WARMUP_MS, durationMs - 60_000));
  world.whenHolding(live, atMs, (resetMs) => world.resetConnection(live, resetMs, connectionRng));
}

/** Gilbert-Elliott loss in time: good spells of 60-180 s on average, bursts of 2-15 s in which each keepalive is lost
 * with 50-100%. Each burst is an episode: stale at the lapse if the session expired during it (or within a lease
 * after), else transient. */
function loseInBursts(world: ScenarioWorld, rng: SeededRng, victim: SimSession, durationMs: number): void {
  const goodMeanMs = rng.uniform(60_000, 180_000);
  const burstMeanMs = rng.uniform(2000, 15_000);
  const bursts: Interval[] = [];
  let atMs = WARMUP_MS / 2 - goodMeanMs * Math.log(1 - rng.next());
  while (atMs < durationMs) {
    const burst = { fromMs: atMs, toMs: atMs - burstMeanMs * Math.log(1 - rng.next()) };
    bursts.push(burst);
    atMs = burst.toMs - goodMeanMs * Math.log(1 - rng.next());
  }
  victim.lossBursts = { bursts, lossInBurst: rng.uniform(0.5, 1) };
  for (const burst of bursts) labelTransientOrLapse(world, victim, 'bursty-loss', burst, durationMs);
}

/** Labels a fault of `session` over `interval`: stale at its lapse if the session expired during it or within a lease
 * after, else transient until its end (nothing if the session was already gone). */
function labelTransientOrLapse(
  world: ScenarioWorld,
  session: SimSession,
  fault: string,
  interval: Interval,
  durationMs: number,
): void {
  world.queue.at(Math.min(durationMs, interval.toMs + TTL_MS), () => {
    if (session.expiredAtMs !== null && session.expiredAtMs < interval.fromMs) return;
    const lapsed = session.expiredAtMs !== null;
    world.truth({
      t: roundTime(interval.fromMs),
      session: session.id,
      fault,
      stale_at: lapsed ? session.expiredAtMs : null,
      ...(lapsed ? {} : { until: roundTime(Math.min(durationMs, interval.toMs)) }),
    });
  });
}

/** A link that degrades (RTT up to 3-10x over 10-120 s, staying 10-60 s) and recovers over 10-120 s. */
function degradeLink(world: ScenarioWorld, rng: SeededRng, victim: SimSession, durationMs: number): void {
  const rampMs = rng.uniform(10_000, 120_000);
  const plateauMs = rng.uniform(10_000, 60_000);
  const recoverMs = rng.uniform(10_000, 120_000);
  const onsetMs = rng.uniform(WARMUP_MS, Math.max(WARMUP_MS, durationMs - rampMs - plateauMs - recoverMs - 30_000));
  const peak = rng.uniform(3, 10);
  victim.rttFactor = (atMs) => {
    const since = atMs - onsetMs;
    if (since <= 0) return 1;
    if (since <= rampMs) return 1 + ((peak - 1) * since) / rampMs;
    if (since <= rampMs + plateauMs) return peak;
    return Math.max(1, peak - ((peak - 1) * (since - rampMs - plateauMs)) / recoverMs);
  };
  const interval = { fromMs: onsetMs, toMs: onsetMs + rampMs + plateauMs + recoverMs };
  labelTransientOrLapse(world, victim, 'recovering-link', interval, durationMs);
}

function logUniform(rng: SeededRng, low: number, high: number): number {
  return Math.exp(rng.uniform(Math.log(low), Math.log(high)));
}

function pickDistinct<T>(rng: SeededRng, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const picked: T[] = [];
  while (picked.length < count && pool.length > 0) picked.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]!);
  return picked;
}

/** Twelve resources with log-normal holds whose medians range from 50 ms to 4 s. */
function addResources(world: ScenarioWorld, rng: SeededRng): SimResource[] {
  return addLogNormalResources(world, rng, 'res', 12, 50, 4000);
}

/** Ten job locks with log-normal holds whose medians range from 1.5 s to 8 s: a stuck holder matters, and can be
 * seen coming, where holds last longer than a keepalive interval (a warning one interval ahead of a p99 shorter than
 * that would have to precede the grant). */
function addJobResources(world: ScenarioWorld, rng: SeededRng): SimResource[] {
  return addLogNormalResources(world, rng, 'job', 10, 1500, 8000);
}

function addLogNormalResources(
  world: ScenarioWorld,
  rng: SeededRng,
  prefix: string,
  count: number,
  lowestMedianMs: number,
  highestMedianMs: number,
): SimResource[] {
  const resources: SimResource[] = [];
  for (let index = 0; index < count; index++) {
    const medianMs = logUniform(rng, lowestMedianMs, highestMedianMs);
    const sigma = rng.uniform(0.3, 0.8);
    resources.push(world.addResource(`${prefix}/${index}`, () => medianMs * Math.exp(sigma * rng.normal())));
  }
  return resources;
}

/** Four hot resources with heavy-tailed (Pareto, alpha 1.3) holds from 50 ms, capped at 2 minutes. */
function addHotResources(world: ScenarioWorld, rng: SeededRng): SimResource[] {
  const resources: SimResource[] = [];
  for (let index = 0; index < 4; index++) {
    const minimumMs = rng.uniform(30, 100);
    resources.push(
      world.addResource(`hot/${index}`, () => Math.min(120_000, minimumMs / (1 - rng.next()) ** (1 / 1.3))),
    );
  }
  return resources;
}

/** Think (exponential, mean 2 s), pick a resource (skewed toward the first ones), hold it for its usual time. */
function workerBehaviorOf(resources: readonly SimResource[], rng: SeededRng): Behavior {
  return {
    next: () => ({
      delayMs: -2000 * Math.log(1 - rng.next()),
      resource: resources[Math.floor(resources.length * rng.next() ** 1.5)]!,
    }),
    holdMs: (_world, _session, resource) => resource.sampleHoldMs(),
  };
}

/** ON/OFF: bursts of back-to-back requests (think 0.2 s) for 10-60 s, then silence for 20-120 s. */
function burstyBehavior(resources: readonly SimResource[], rng: SeededRng): Behavior {
  const burstEndsMs = new Map<SimSession, number>();
  return {
    next: (world, session) => {
      const now = world.queue.now;
      let offMs = 0;
      if ((burstEndsMs.get(session) ?? 0) <= now) {
        offMs = rng.uniform(20_000, 120_000);
        burstEndsMs.set(session, now + offMs + rng.uniform(10_000, 60_000));
      }
      return { delayMs: offMs - 200 * Math.log(1 - rng.next()), resource: rng.pick(resources) };
    },
    holdMs: (_world, _session, resource) => resource.sampleHoldMs(),
  };
}

/** A session that takes its own lock at once and holds it for the whole run (a leader lock). */
function openLeader(world: ScenarioWorld, id: string, network: NetworkProfile): SimSession {
  const resource = world.addResource(`leader/${id}`, () => Number.POSITIVE_INFINITY);
  let requested = false;
  const behavior: Behavior = {
    next: () => {
      if (requested) return null;
      requested = true;
      return { delayMs: 50, resource };
    },
    holdMs: () => Number.POSITIVE_INFINITY,
  };
  return world.openSession(id, network, behavior, world.rng.uniform(0, 2000));
}

/** A fault that may outlast the lease: stale at the lapse (the server expired the session during it), else transient. */
function injectLapsable(
  world: ScenarioWorld,
  victim: SimSession,
  fault: 'gc-pause' | 'partition',
  atMs: number,
  apply: (session: SimSession, atMs: number, lengthMs: number) => void,
  lengthMs: number,
): void {
  world.whenHolding(victim, atMs, (startMs) => {
    apply(victim, startMs, lengthMs);
    const endMs = startMs + lengthMs;
    world.queue.at(endMs + TTL_MS, () => {
      const lapsed = victim.expiredAtMs !== null && victim.expiredAtMs >= startMs;
      world.truth({
        t: startMs,
        session: victim.id,
        fault,
        stale_at: lapsed ? victim.expiredAtMs : null,
        ...(lapsed ? {} : { until: endMs }),
      });
    });
  });
}

/** A leader on a far link whose RTT grows up to 10x over 30-300 s; some recover, some miss a renewal (stale at the
 * lapse it causes). */
function rampLatency(world: ScenarioWorld, rng: SeededRng, index: number, durationMs: number): void {
  const network = normalLink('wan', rng.uniform(600, 1500), 60, 0.001);
  const session = openLeader(world, `far${index}`, network);
  const rampMs = rng.uniform(30_000, 300_000);
  const onsetMs = rng.uniform(WARMUP_MS, Math.max(WARMUP_MS, durationMs - rampMs - 60_000));
  const peak = rng.uniform(3, 10);
  const recovers = rng.chance(0.4);
  const endMs = recovers ? onsetMs + 1.5 * rampMs : durationMs;
  session.rttFactor = (atMs) => {
    if (atMs <= onsetMs) return 1;
    if (atMs <= onsetMs + rampMs) return 1 + ((peak - 1) * (atMs - onsetMs)) / rampMs;
    if (!recovers) return peak;
    return Math.max(1, peak - ((peak - 1) * (atMs - onsetMs - rampMs)) / (0.5 * rampMs));
  };
  world.queue.at(Math.min(durationMs, endMs + TTL_MS), () => {
    const lapsed = session.expiredAtMs !== null && session.expiredAtMs >= onsetMs;
    world.truth({
      t: onsetMs,
      session: session.id,
      fault: 'latency-ramp',
      stale_at: lapsed ? session.expiredAtMs : null,
      ...(lapsed ? {} : { until: Math.min(durationMs, endMs) }),
    });
  });
}

/** A leader whose clock's rate error grows past the SDK's 1% bound, to 4-15% (three in four slow) over 60-300 s; three
 * in five later lose contact (see `driftingLeader`). */
function driftClock(world: ScenarioWorld, rng: SeededRng, index: number, durationMs: number): void {
  const rampMs = rng.uniform(60_000, 300_000);
  const onsetMs = rng.uniform(WARMUP_MS, Math.max(WARMUP_MS, durationMs - rampMs - 60_000));
  const maxRate = (rng.chance(0.75) ? -1 : 1) * rng.uniform(0.04, 0.15);
  driftingLeader(
    world,
    rng,
    `drift${index}`,
    rng.chance(0.5) ? LAN : WAN,
    { onsetMs, rampMs, maxRate },
    durationMs,
    'clock-drift',
  );
}

/** A leader whose clock is off by 0.2-5% (log-uniform, either way), reached within 5-30 s of its onset; three in five
 * later lose contact (see `driftingLeader`). */
function driftBeyondBound(
  world: ScenarioWorld,
  rng: SeededRng,
  index: number,
  durationMs: number,
  links: LinkChoice,
): void {
  const rampMs = rng.uniform(5000, 30_000);
  const onsetMs = rng.uniform(WARMUP_MS / 2, Math.max(WARMUP_MS / 2, durationMs - rampMs - 120_000));
  const maxRate = (rng.chance(0.5) ? -1 : 1) * logUniform(rng, 0.002, 0.05);
  driftingLeader(
    world,
    rng,
    `skew${index}`,
    links.leader(),
    { onsetMs, rampMs, maxRate },
    durationMs,
    'drift-beyond-bound',
  );
}

/**
 * A leader session whose clock drifts as `drift` says. Three in five lose contact 30-120 s after the drift is fully
 * there, for 5-60 s: stale at the lapse when that outlasts the lease, transient otherwise. A drifting clock that keeps
 * renewing is not stale (transient to the end): the harm a drift can do is measured by `unsafe_exposure_ms`, against
 * the guarantees each detector actually sent.
 */
function driftingLeader(
  world: ScenarioWorld,
  rng: SeededRng,
  id: string,
  network: NetworkProfile,
  drift: { onsetMs: number; rampMs: number; maxRate: number },
  durationMs: number,
  fault: string,
): void {
  const session = openLeader(world, id, network);
  session.drift = drift;
  const lossAtMs = drift.onsetMs + drift.rampMs + rng.uniform(30_000, 120_000);
  if (!rng.chance(0.6) || lossAtMs > durationMs - 30_000) {
    world.truth({ t: roundTime(drift.onsetMs), session: id, fault, stale_at: null, until: durationMs });
    return;
  }
  const loss = { fromMs: lossAtMs, toMs: lossAtMs + logUniform(rng, 5000, 60_000) };
  session.partitions.push(loss);
  labelTransientOrLapse(world, session, fault, { fromMs: drift.onsetMs, toMs: loss.toMs }, durationMs);
}

/** A worker whose next hold (once its resource has 30 holds of history) never ends in time: stale when it passes the
 * p99 of the resource's holds released before its grant (others are waiting in shadow mode); it finally ends after
 * 2-4 p99s plus 10 s (at most 5 min). */
function stickHolder(world: ScenarioWorld, rng: SeededRng, victim: SimSession, atMs: number): void {
  world.queue.at(atMs, () => {
    victim.holdOverride = (resource, grantMs) => {
      const historyMs = ScenarioWorld.historyBefore(resource, grantMs);
      if (historyMs.length < 30) return undefined;
      victim.holdOverride = null;
      const p99Ms = ScenarioWorld.p99(historyMs);
      world.truth({ t: grantMs, session: victim.id, fault: 'stuck-holder', stale_at: grantMs + p99Ms });
      return Math.min(p99Ms * rng.uniform(2, 4) + 10_000, 300_000);
    };
  });
}

/** Event-loop stalls of 1-5 s on the server, each after 5-20 s of high CPU and loop delay; every session holding a
 * lock during a stall has a transient episode (any warning is a false one). */
function overloadServer(world: ScenarioWorld, rng: SeededRng, size: ScenarioSize): void {
  const starts = Array.from({ length: size.faults }, () => rng.uniform(WARMUP_MS, size.durationMs - 60_000)).sort(
    (a, b) => a - b,
  );
  const busy: { fromMs: number; toMs: number }[] = [];
  let freeFromMs = 0;
  for (const startMs of starts) {
    if (startMs < freeFromMs) continue;
    const stall = { fromMs: roundTime(startMs), toMs: roundTime(startMs + rng.uniform(1000, 5000)) };
    busy.push({ fromMs: stall.fromMs - rng.uniform(5000, 20_000), toMs: stall.toMs });
    world.addStall(stall);
    freeFromMs = stall.toMs + 30_000;
    world.queue.at(stall.fromMs, () => {
      for (const session of world.sessions)
        if (!session.gone && session.holding !== null)
          world.truth({
            t: stall.fromMs,
            session: session.id,
            fault: 'server-overload',
            stale_at: null,
            until: stall.toMs,
          });
    });
  }
  const normal = world.loadAt;
  world.loadAt = (atMs) => {
    if (!busy.some((window) => atMs >= window.fromMs && atMs < window.toMs)) return normal(atMs);
    return {
      cpu: clamp(rng.normal(0.93, 0.03), 0.8, 1),
      mem: clamp(rng.normal(0.4, 0.02), 0.1, 0.9),
      loopDelayMs: rng.uniform(20, 250),
    };
  };
}
