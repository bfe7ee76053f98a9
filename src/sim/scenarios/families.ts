// The nine scenario families of EVALUATION.md: seeded generators of realistic traces with exact ground truth.
import type { Trace } from '../../eval/trace.js';
import { defaultSafePeriodAssumptions, grantedUntilMs } from '../../session/safe-period.js';
import { SeededRng } from '../../util/rng.js';
import {
  type Behavior,
  clamp,
  type NetworkProfile,
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

/** The server's defaults (ARCHITECTURE.md): TTL 10 s, keepalive every TTL/3. */
const TTL_MS = 10_000;
const KEEPALIVE_MS = 3333;
/** Faults start once resources have a history. */
const WARMUP_MS = 150_000;

const LAN: NetworkProfile = { rttMeanMs: 2, rttSpreadMs: 1, lossProbability: 0.001 };
const WAN: NetworkProfile = { rttMeanMs: 150, rttSpreadMs: 30, lossProbability: 0.001 };

/** Generates the trace of `family` for `seed`; the same arguments always give the same trace. */
export function generateScenario(
  family: ScenarioFamily,
  seed: number,
  size: ScenarioSize = defaultScenarioSize,
): Trace {
  const familyIndex = SCENARIO_FAMILIES.indexOf(family);
  const rng = new SeededRng((Math.imul(seed, 2654435761) ^ Math.imul(familyIndex + 1, 40503)) >>> 0);
  const world = new ScenarioWorld(
    {
      name: `${family}#${seed}`,
      ttlMs: TTL_MS,
      keepaliveMs: KEEPALIVE_MS,
      durationMs: size.durationMs,
      commitMs: 3,
      clientEpochMs: 1_715_000_000_000,
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
  const workers: SimSession[] = [];
  for (let index = 0; index < size.workers; index++) {
    const network = rng.chance(0.7) ? LAN : WAN;
    workers.push(world.openSession(`w${index}`, network, workerBehavior, rng.uniform(0, 2000)));
  }
  for (let index = 0; index < size.leaders; index++) openLeader(world, `leader${index}`, rng.chance(0.5) ? LAN : WAN);
  const faultWindow = (tailMs: number): number => rng.uniform(WARMUP_MS, Math.max(WARMUP_MS, size.durationMs - tailMs));
  const victims = pickDistinct(rng, workers, size.faults);
  switch (family) {
    case 'healthy-jitter':
    case 'bursty-contention':
      break;
    case 'gc-pause':
      for (const victim of victims)
        injectLapsable(
          world,
          victim,
          'gc-pause',
          faultWindow(120_000),
          (session, atMs, lengthMs) => session.pauses.push({ fromMs: atMs, toMs: atMs + lengthMs }),
          logUniform(rng, 200, 30_000),
        );
      break;
    case 'partition':
      for (const victim of victims)
        injectLapsable(
          world,
          victim,
          'partition',
          faultWindow(120_000),
          (session, atMs, lengthMs) => session.partitions.push({ fromMs: atMs, toMs: atMs + lengthMs }),
          logUniform(rng, 1000, 40_000),
        );
      break;
    case 'crash':
      for (const victim of victims)
        world.whenHolding(victim, faultWindow(60_000), (atMs) => {
          victim.crashAtMs = atMs;
          world.truth({ t: atMs, session: victim.id, fault: 'crash', stale_at: atMs });
        });
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
  }
  return world.run();
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
  const network: NetworkProfile = { rttMeanMs: rng.uniform(600, 1500), rttSpreadMs: 60, lossProbability: 0.001 };
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

/** A leader whose clock's rate error grows past the SDK's 1% bound over 60-300 s: slow clocks become stale at the
 * first keepalive whose answer gives the client a safe period (send time + TTL x (1 - maxDrift) - margin, on its own
 * clock) that outlives the real lease (receive time + TTL); fast clocks only err on the safe side (transient). */
function driftClock(world: ScenarioWorld, rng: SeededRng, index: number, durationMs: number): void {
  const session = openLeader(world, `drift${index}`, rng.chance(0.5) ? LAN : WAN);
  const rampMs = rng.uniform(60_000, 300_000);
  const onsetMs = rng.uniform(WARMUP_MS, Math.max(WARMUP_MS, durationMs - rampMs - 60_000));
  const slow = rng.chance(0.75);
  const maxRate = slow ? -rng.uniform(0.04, 0.15) : rng.uniform(0.04, 0.15);
  session.drift = { onsetMs, rampMs, maxRate };
  if (!slow) {
    world.truth({ t: onsetMs, session: session.id, fault: 'clock-drift', stale_at: null, until: durationMs });
    return;
  }
  let staleAtMs: number | null = null;
  session.onKeepalive = (receiveMs, sendMs) => {
    if (staleAtMs !== null || receiveMs < onsetMs) return;
    const safeUntilClockMs = grantedUntilMs(
      { keepaliveSentAtMs: session.clockAt(sendMs), durationMs: TTL_MS },
      defaultSafePeriodAssumptions,
    );
    const safeEndMs = session.worldTimeOf(safeUntilClockMs);
    if (safeEndMs <= receiveMs + TTL_MS) return;
    staleAtMs = receiveMs;
    world.truth({ t: onsetMs, session: session.id, fault: 'clock-drift', stale_at: receiveMs });
  };
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
