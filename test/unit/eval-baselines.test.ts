import { describe, expect, it } from 'vitest';
import { ChenEstimator } from '../../src/eval/baselines/chen.js';
import { DeadlineDetector } from '../../src/eval/baselines/deadline-detector.js';
import { FixedTtlEstimator } from '../../src/eval/baselines/fixed-ttl.js';
import { PhiAccrualEstimator } from '../../src/eval/baselines/phi-accrual.js';
import { RtoEstimator } from '../../src/eval/baselines/rto.js';
import { normalUpperQuantile, percentile } from '../../src/eval/stats.js';
import type { TraceHeader } from '../../src/eval/trace.js';
import { normalUpperTail } from '../../src/spm/normal.js';

describe('RFC 6298 arithmetic over keepalive inter-arrivals', () => {
  it('takes SRTT = R, RTTVAR = R/2 from the first sample, then alpha 1/8 and beta 1/4', () => {
    const rto = new RtoEstimator(4, 3333);
    rto.arrive(0);
    rto.arrive(1000); // R = 1000: SRTT 1000, RTTVAR 500
    expect(rto.smoothedMs).toBe(1000);
    expect(rto.variationMs).toBe(500);
    rto.arrive(2200); // R = 1200: RTTVAR = 3/4*500 + 1/4*|1000-1200| = 425; SRTT = 7/8*1000 + 1/8*1200 = 1025
    expect(rto.variationMs).toBe(425);
    expect(rto.smoothedMs).toBe(1025);
    rto.arrive(3000); // R = 800: RTTVAR = 3/4*425 + 1/4*|1025-800| = 375; SRTT = 7/8*1025 + 1/8*800 = 996.875
    expect(rto.variationMs).toBe(375);
    expect(rto.smoothedMs).toBe(996.875);
    expect(rto.timeoutMs()).toBe(996.875 + 4 * 375);
    expect(rto.suspectAtMs()).toBe(3000 + 2496.875);
  });

  it('uses the nominal interval as the first sample until an inter-arrival is seen (no 1 s floor)', () => {
    const rto = new RtoEstimator(2, 300);
    rto.arrive(50);
    expect(rto.suspectAtMs()).toBe(50 + 300 + 2 * 150);
  });
});

describe('phi accrual with the normal model', () => {
  it('computes the normal upper tail at known points', () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(1)).toBeCloseTo(0.158655254, 7);
    expect(normalUpperTail(2)).toBeCloseTo(0.022750132, 7);
    expect(normalUpperTail(-1)).toBeCloseTo(0.841344746, 7);
    expect(normalUpperQuantile(0.158655254)).toBeCloseTo(1, 6);
    expect(normalUpperQuantile(1e-8)).toBeCloseTo(5.612001244, 5);
  });

  it('gives phi = -log10(1 - CDF) over inter-arrivals ~ N(mean + pause, max(std, min))', () => {
    // History: Akka's bootstrap 750 and 1250 for a 1000 ms interval, then two inter-arrivals of 1000 ms:
    // mean 1000, variance (250^2 + 250^2 + 0 + 0) / 4 = 31250, std 176.78.
    const phi = new PhiAccrualEstimator({ threshold: 8, minStdDevMs: 100, acceptablePauseMs: 0, window: 1000 }, 1000);
    phi.arrive(0);
    phi.arrive(1000);
    phi.arrive(2000);
    const std = Math.sqrt(31250);
    expect(phi.phi(2000 + 1000)).toBeCloseTo(-Math.log10(0.5), 5); // z = 0
    expect(phi.phi(2000 + 1000 + std)).toBeCloseTo(-Math.log10(0.158655254), 5); // z = 1
    expect(phi.phi(2000 + 1000 + 3 * std)).toBeCloseTo(-Math.log10(0.001349898), 4); // z = 3
    expect(phi.suspectAtMs()).toBeCloseTo(2000 + 1000 + 5.612001244 * std, 2);
    expect(phi.phi(phi.suspectAtMs())).toBeCloseTo(8, 4);
  });

  it('adds the acceptable pause to the mean and floors the standard deviation', () => {
    const phi = new PhiAccrualEstimator({ threshold: 1, minStdDevMs: 100, acceptablePauseMs: 3000, window: 2 }, 1000);
    phi.arrive(0);
    phi.arrive(1000);
    phi.arrive(2000); // the window of 2 now holds 1000, 1000: std 0, floored to 100
    expect(phi.phi(2000 + 1000 + 3000)).toBeCloseTo(-Math.log10(0.5), 6);
    expect(phi.phi(2000 + 4000 + 100)).toBeCloseTo(-Math.log10(0.158655254), 5);
  });
});

describe("Chen's expected arrival plus a safety margin", () => {
  it('computes EA = (1/n) sum(A_i - delta*i) + delta*(l+1) with delta the mean inter-arrival', () => {
    const chen = new ChenEstimator({ window: 1000, alphaMs: 500 }, 1000);
    for (const at of [0, 1000, 2100, 3000]) chen.arrive(at);
    // delta = 3000 / 3 = 1000; A_i - delta*i = 0, 0, 100, 0 -> mean 25; EA = 25 + 1000 * 4 = 4025
    expect(chen.expectedArrivalMs()).toBeCloseTo(4025, 9);
    expect(chen.suspectAtMs()).toBeCloseTo(4525, 9);
  });

  it('forgets arrivals beyond its window', () => {
    const chen = new ChenEstimator({ window: 3, alphaMs: 0 }, 1000);
    for (const at of [0, 1000, 2100, 3000]) chen.arrive(at);
    // last three, i = 1..3: delta = (3000 - 1000) / 2 = 1000; (0 + 100 + 0) / 3 + 1000 * 4 = 4033.33
    expect(chen.expectedArrivalMs()).toBeCloseTo(4000 + 100 / 3, 9);
  });

  it('expects the next keepalive one nominal interval after the first', () => {
    const chen = new ChenEstimator({ window: 1000, alphaMs: 100 }, 3333);
    chen.arrive(40);
    expect(chen.suspectAtMs()).toBe(40 + 3333 + 100);
  });
});

describe('fixed TTL and the deadline detector', () => {
  const header: TraceHeader = { type: 'header', version: 1, name: 't', ttl_ms: 10_000, keepalive_ms: 3333 };

  it('declares a holder dead TTL after its last keepalive, at the later of that and its grant', () => {
    const fired: [string, number, number][] = [];
    const detector = new DeadlineDetector(
      header,
      {
        warn: () => undefined,
        advise: () => undefined,
        answer: () => undefined,
        probability: () => undefined,
        preempt: (session, resource, atMs, guaranteeEndMs) =>
          fired.push([`${session}/${resource}`, atMs, guaranteeEndMs]),
      },
      () => new FixedTtlEstimator(3000),
    );
    detector.observe({ t: 0, type: 'session', session: 's', ttl_ms: 10_000 });
    detector.observe({ t: 1000, type: 'grant', session: 's', resource: 'a' });
    detector.observe({ t: 3500, type: 'grant', session: 's', resource: 'b' }); // suspected since 3000
    detector.observe({ t: 4000, type: 'keepalive', session: 's' });
    expect(fired).toEqual([
      ['s/a', 3000, 10_000],
      ['s/b', 3500, 10_000],
    ]);
    detector.observe({ t: 6000, type: 'release', session: 's', resource: 'a' });
    detector.finish(8000); // suspected again at 7000, but b was already declared dead: a hold fires once
    expect(fired).toHaveLength(2);
  });

  it('never fires when keepalives keep coming in time', () => {
    const fired: number[] = [];
    const detector = new DeadlineDetector(
      header,
      {
        warn: () => undefined,
        advise: () => undefined,
        answer: () => undefined,
        probability: () => undefined,
        preempt: (_s, _r, atMs) => fired.push(atMs),
      },
      (_keepaliveMs, ttlMs) => new FixedTtlEstimator(ttlMs),
    );
    detector.observe({ t: 0, type: 'session', session: 's', ttl_ms: 10_000 });
    detector.observe({ t: 1, type: 'grant', session: 's', resource: 'a' });
    for (let t = 3333; t < 60_000; t += 3333) detector.observe({ t, type: 'keepalive', session: 's' });
    detector.finish(60_000);
    expect(fired).toEqual([]);
  });
});

describe('nearest-rank percentiles', () => {
  it('picks the smallest value with at least q of the values at or below it', () => {
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
    expect(percentile([], 0.5)).toBeNull();
  });

  it.each([
    [[5], 0.5, 5],
    [[4, 3, 2, 1], 0.99, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
    [Array.from({ length: 100 }, (_, i) => 100 - i), 0.5, 50],
  ])('percentile(%j, %d) = %d', (values, q, expected) => {
    expect(percentile(values, q)).toBe(expected);
  });
});
