import { describe, expect, it } from 'vitest';
import { buildGroundTruth } from '../../src/eval/ground-truth.js';
import type { KeepaliveEvent, Trace, TruthEvent } from '../../src/eval/trace.js';
import { generateScenario, SCENARIO_FAMILIES, type ScenarioSize } from '../../src/sim/scenarios/families.js';

const SIZE: ScenarioSize = { workers: 10, leaders: 1, durationMs: 480_000, faults: 6 };
const SEEDS = [11, 12];
const TTL_MS = 10_000;

function truths(trace: Trace): TruthEvent[] {
  return trace.events.filter((event): event is TruthEvent => event.type === 'truth');
}

function keepalivesOf(trace: Trace, session: string): KeepaliveEvent[] {
  return trace.events.filter(
    (event): event is KeepaliveEvent => event.type === 'keepalive' && event.session === session,
  );
}

function nearestRankP99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.99 * sorted.length) - 1]!;
}

describe('scenario generators', () => {
  it.each(SCENARIO_FAMILIES)('%s: the same seed gives the same trace, sorted, with renewing sessions', (family) => {
    const trace = generateScenario(family, 5, SIZE);
    expect(generateScenario(family, 5, SIZE)).toEqual(trace);
    expect(generateScenario(family, 6, SIZE)).not.toEqual(trace);
    for (let index = 1; index < trace.events.length; index++)
      expect(trace.events[index]!.t).toBeGreaterThanOrEqual(trace.events[index - 1]!.t);
    const keepalives = trace.events.filter((event) => event.type === 'keepalive') as KeepaliveEvent[];
    expect(keepalives.length).toBeGreaterThan(500);
    expect(keepalives.every((keepalive) => keepalive.client_time_ms !== undefined)).toBe(true);
    expect(keepalives.filter((keepalive) => keepalive.rtt_ms !== undefined).length).toBeGreaterThan(
      keepalives.length * 0.9,
    );
    expect(buildGroundTruth(trace).holds.length).toBeGreaterThan(100);
  });

  it('healthy-jitter and bursty-contention have no faults', () => {
    for (const seed of SEEDS) {
      expect(truths(generateScenario('healthy-jitter', seed, SIZE))).toEqual([]);
      expect(truths(generateScenario('bursty-contention', seed, SIZE))).toEqual([]);
    }
  });

  it('lapse-type faults are stale exactly at the lease lapse the trace server enforced (seeds 11, 12)', () => {
    let stale = 0;
    for (const family of ['gc-pause', 'partition', 'latency-ramp'] as const) {
      for (const seed of SEEDS) {
        const trace = generateScenario(family, seed, SIZE);
        for (const truth of truths(trace)) {
          expect(truth.fault).toBe(family);
          if (truth.stale_at === null) {
            expect(truth.until).toBeGreaterThan(truth.t);
            continue;
          }
          stale += 1;
          const before = keepalivesOf(trace, truth.session).filter((keepalive) => keepalive.t < truth.stale_at!);
          expect(truth.stale_at).toBe(before[before.length - 1]!.t + TTL_MS);
          const close = trace.events.find((event) => event.type === 'close' && event.session === truth.session);
          expect(close?.t).toBe(truth.stale_at);
        }
      }
    }
    expect(stale).toBeGreaterThan(0);
  });

  it('crash is stale at the crash, after which the server sees the connection end and the session is silent until its lease lapses', () => {
    for (const seed of SEEDS) {
      const trace = generateScenario('crash', seed, SIZE);
      expect(truths(trace).length).toBeGreaterThan(0);
      for (const truth of truths(trace)) {
        expect(truth.stale_at).toBe(truth.t);
        const after = trace.events.filter(
          (event) =>
            event.t > truth.t && 'session' in event && event.session === truth.session && event.type !== 'truth',
        );
        const kinds = after.map((event) => event.type).filter((type) => type !== 'close' && type !== 'release');
        // The kernel of the dead process closes its connection: the server sees it one one-way delay later (LAN and
        // WAN links in this family: well under a second).
        expect(kinds).toEqual(['disconnect']);
        const disconnect = after.find((event) => event.type === 'disconnect')!;
        expect(disconnect.t - truth.t).toBeLessThan(1000);
      }
    }
  });

  it('crash resets live connections once while they hold: each disconnect is followed by a keepalive within a second', () => {
    let resets = 0;
    for (const seed of SEEDS) {
      const trace = generateScenario('crash', seed, SIZE);
      const crashed = new Set(truths(trace).map((truth) => truth.session));
      for (const event of trace.events) {
        if (event.type !== 'disconnect' || crashed.has(event.session)) continue;
        resets++;
        const next = trace.events.find(
          (later) =>
            later.t > event.t && 'session' in later && later.session === event.session && later.type === 'keepalive',
        );
        // The SDK redials after 25-50 ms, dials and resumes in three round trips and sends a keepalive at once (unless
        // the world loses that keepalive, as it loses 0.1% of them: then one interval later).
        expect(next).toBeDefined();
        expect(next!.t - event.t).toBeLessThan(1000 + 3333);
      }
    }
    expect(resets).toBeGreaterThan(0);
  });

  it("stuck-holder is stale when the hold passes its resource's p99 (recomputed from the trace)", () => {
    let checked = 0;
    for (const seed of SEEDS) {
      const trace = generateScenario('stuck-holder', seed, SIZE);
      for (const truth of truths(trace)) {
        const grant = trace.events.find(
          (event) => event.type === 'grant' && event.session === truth.session && event.t === truth.t,
        );
        expect(grant?.type).toBe('grant');
        const resource = grant?.type === 'grant' ? grant.resource : '';
        const heldMs: number[] = [];
        const open = new Map<string, number>();
        for (const event of trace.events) {
          if (event.t >= truth.t) break;
          if (event.type === 'grant' && event.resource === resource) open.set(event.session, event.t);
          if (event.type === 'release' && event.resource === resource) heldMs.push(event.t - open.get(event.session)!);
        }
        expect(heldMs.length).toBeGreaterThanOrEqual(30);
        expect(truth.stale_at).toBe(truth.t + nearestRankP99(heldMs));
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('clock-drift: a drifting clock that keeps renewing is transient; one that loses contact is stale at its lapse', () => {
    let stale = 0;
    let transient = 0;
    for (const seed of SEEDS) {
      const trace = generateScenario('clock-drift', seed, SIZE);
      for (const truth of truths(trace)) {
        if (truth.stale_at === null) {
          transient += 1;
          expect(truth.until).toBeGreaterThan(truth.t);
          continue;
        }
        stale += 1;
        // Stale exactly when the world expired the session: last keepalive + TTL, a close line at that moment.
        const close = trace.events.find((event) => event.type === 'close' && event.session === truth.session);
        expect(close?.t).toBe(truth.stale_at);
        const keepalives = keepalivesOf(trace, truth.session).filter((keepalive) => keepalive.t < truth.stale_at!);
        expect(truth.stale_at - keepalives.at(-1)!.t).toBeCloseTo(trace.header.ttl_ms, 6);
      }
    }
    expect(stale).toBeGreaterThan(0);
    expect(transient).toBeGreaterThan(0);
  });

  it('server-overload stalls delay every session at once and are never stale', () => {
    const trace = generateScenario('server-overload', 11, SIZE);
    const lines = truths(trace);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((truth) => truth.stale_at === null && truth.until! > truth.t)).toBe(true);
    const stallEnd = lines[0]!.until!;
    const stalled = trace.events.filter((event) => event.type === 'keepalive' && event.t === stallEnd);
    expect(stalled.length).toBeGreaterThan(1);
    const load = trace.events.find((event) => event.type === 'load' && event.t === stallEnd);
    expect(load?.type === 'load' && load.loop_delay_ms).toBeGreaterThanOrEqual(1000);
  });
});
