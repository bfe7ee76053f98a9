import { describe, expect, it } from 'vitest';
import { forecastArima } from '../../src/spm/arima-forecaster.js';
import { ClockDriftEstimator } from '../../src/spm/clock-drift.js';
import { Ewma } from '../../src/spm/ewma.js';
import { HoltTrend } from '../../src/spm/holt.js';
import { SlidingLinearFit } from '../../src/spm/linear-fit.js';
import { MovingAverage } from '../../src/spm/moving-average.js';
import { normalCdf, normalSurvival, normalUpperTail } from '../../src/spm/normal.js';
import { ResourceStats } from '../../src/spm/resource-stats.js';
import { RingBuffer } from '../../src/spm/ring-buffer.js';
import { clockOutOfBoundRisk, driftRisk } from '../../src/spm/risk.js';
import { SeededRng } from '../../src/util/rng.js';

describe('Ewma', () => {
  it('follows the incremental weighted mean/variance arithmetic (alpha 0.5: 10, 20, 30)', () => {
    const e = new Ewma(0.5);
    e.update(10);
    expect([e.mean, e.variance]).toEqual([10, 0]);
    e.update(20); // diff 10: mean 15, variance 0.5 * (0 + 0.5 * 100) = 25
    expect([e.mean, e.variance]).toEqual([15, 25]);
    e.update(30); // diff 15: mean 22.5, variance 0.5 * (25 + 0.5 * 225) = 68.75
    expect([e.mean, e.variance, e.count]).toEqual([22.5, 68.75, 3]);
    expect(e.stdDev).toBeCloseTo(Math.sqrt(68.75), 12);
  });

  it('rejects a smoothing factor outside (0, 1]', () => {
    expect(() => new Ewma(0)).toThrow(RangeError);
    expect(() => new Ewma(1.5)).toThrow(RangeError);
  });
});

describe('HoltTrend', () => {
  it('smooths level and trend as Holt did (a = b = 0.5: 10, 12, 14)', () => {
    const h = new HoltTrend(0.5, 0.5, 0.5);
    h.update(10);
    h.update(12); // forecast 10, level 0.5*12 + 0.5*10 = 11, trend starts at 11 - 10 = 1
    expect([h.level, h.trend]).toEqual([11, 1]);
    h.update(14); // forecast 12, level 0.5*14 + 0.5*12 = 13, trend 0.5*2 + 0.5*1 = 1.5
    expect([h.level, h.trend]).toEqual([13, 1.5]);
    expect(h.forecast(1)).toBe(14.5);
    expect(h.forecast(2)).toBe(16);
    expect(h.errorStdDev).toBe(2); // both one-step errors were 2
  });
});

describe('MovingAverage', () => {
  it('keeps the mean and sample standard deviation of its window only', () => {
    const m = new MovingAverage(3);
    for (const x of [100, 2, 3, 4]) m.update(x);
    expect(m.count).toBe(3);
    expect(m.mean).toBe(3);
    expect(m.stdDev).toBe(1);
  });
});

describe('RingBuffer', () => {
  it('drops the oldest value when full and reads oldest first', () => {
    const r = new RingBuffer(3);
    for (const x of [1, 2, 3, 4, 5]) r.push(x);
    expect(r.toArray()).toEqual([3, 4, 5]);
    expect(r.last()).toBe(5);
  });

  it('takes no storage until its first value, and reads empty meanwhile', () => {
    const r = new RingBuffer(256);
    const storage = () => (r as unknown as { values: Float64Array | null }).values;
    r.setLast(7);
    r.clear();
    expect([r.length, r.last(), r.toArray(), storage()]).toEqual([0, Number.NaN, [], null]);
    r.push(4);
    expect(storage()).toHaveLength(8);
    expect([r.length, r.at(0), r.last()]).toEqual([1, 4, 4]);
  });

  it('grows its storage with its values up to the capacity, reading as a plain window would', () => {
    const rng = new SeededRng(13);
    for (const capacity of [1, 3, 8, 9, 64, 256]) {
      const r = new RingBuffer(capacity);
      const model: number[] = [];
      for (let i = 0; i < 3 * capacity + 5; i++) {
        const value = rng.next();
        r.push(value);
        model.push(value);
        if (model.length > capacity) model.shift();
        expect(r.toArray()).toEqual(model);
        expect(r.allocatedSlots).toBeGreaterThanOrEqual(model.length);
        expect(r.allocatedSlots).toBeLessThanOrEqual(Math.min(capacity, Math.max(8, 2 * model.length)));
      }
      // Cleared, it lets grown storage go: a reused window costs what a new one does.
      r.clear();
      expect(r.allocatedSlots).toBeLessThanOrEqual(8);
      r.push(1);
      expect([r.toArray(), r.allocatedSlots]).toEqual([[1], Math.min(8, capacity)]);
    }
  });
});

describe('SlidingLinearFit', () => {
  it('fits an exact line with zero residual', () => {
    const f = new SlidingLinearFit(8);
    for (let x = 0; x < 4; x++) f.push(x, 1 + 2 * x);
    const line = f.fit();
    expect(line?.slope).toBeCloseTo(2, 12);
    expect(line?.valueAtLast).toBeCloseTo(7, 12);
    expect(line?.residualStdDev).toBeCloseTo(0, 12);
  });

  it('gives the hand-computed slope and standard error on noisy points', () => {
    const f = new SlidingLinearFit(4);
    f.push(-10, 99); // pushed out by the window
    for (const [x, y] of [
      [0, 0],
      [1, 1],
      [2, 1],
      [3, 2],
    ] as const)
      f.push(x, y);
    // sxx = 5, sxy = 3: slope 0.6; residuals -0.1, 0.3, -0.3, 0.1: rss 0.2, variance 0.1; stderr sqrt(0.1/5)
    const line = f.fit();
    expect(line?.slope).toBeCloseTo(0.6, 12);
    expect(line?.slopeStdErr).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(line?.residualStdDev).toBeCloseTo(Math.sqrt(0.1), 12);
    expect(line?.points).toBe(4);
  });

  it('keeps its precision with epoch-millisecond x values', () => {
    const f = new SlidingLinearFit(8);
    for (let i = 0; i < 8; i++) f.push(1.7e12 + i * 3333, 5 - 0.02 * i * 3333);
    expect(f.fit()?.slope).toBeCloseTo(-0.02, 9);
  });
});

describe('ClockDriftEstimator', () => {
  it('measures a client clock 2% slow, whatever its offset, from six placed samples on', () => {
    const d = new ClockDriftEstimator(8);
    const epoch = 1_715_000_000_000;
    // A keepalive reports the round trip of the exchange before it: six keepalives place five samples.
    for (let i = 0; i < 6; i++) d.observe(50_000 + i * 3333, epoch + 0.98 * (50_000 + i * 3333), 2);
    expect(d.estimate()).toBeNull(); // too few samples to know how noisy this session is
    for (let i = 6; i < 10; i++) d.observe(50_000 + i * 3333, epoch + 0.98 * (50_000 + i * 3333), 2);
    const e = d.estimate();
    expect(e?.drift).toBeCloseTo(-0.02, 6); // epoch-sized clock readings: about 1e-8 of float rounding
    expect(e?.changing).toBe(false);
    expect(e?.points).toBe(7); // the window's eight, less the newest, whose round trip is not known yet
    expect(e?.pathDoubt).toBeCloseTo(0, 12); // a steady round trip
  });

  it('learns its uncertainty from the scatter of its own samples: a noisy link gives a wider standard error', () => {
    const quiet = new ClockDriftEstimator(16);
    const noisy = new ClockDriftEstimator(16);
    const rng = new SeededRng(3);
    for (let i = 0; i < 16; i++) {
      const t = i * 3333;
      quiet.observe(t + 1 + rng.normal(0, 0.3), 1e12 + t, 2);
      noisy.observe(t + 100 + rng.normal(0, 30), 1e12 + t, 200);
    }
    const q = quiet.estimate()!;
    const n = noisy.estimate()!;
    expect(Math.abs(q.drift)).toBeLessThan(1e-4);
    expect(Math.abs(n.drift)).toBeLessThan(3 * n.driftStdErr + 1e-4);
    expect(n.driftStdErr).toBeGreaterThan(10 * q.driftStdErr);
  });

  it('sets a delay spike aside instead of reading it as a clock', () => {
    const d = new ClockDriftEstimator(16);
    for (let i = 0; i < 16; i++) {
      const t = i * 3333;
      d.observe(t + 50 + (i === 9 ? 2000 : 0), 1e12 + t, 100);
    }
    const e = d.estimate()!;
    expect(e.points).toBe(14); // 16, less the newest (round trip not known yet) and the spike
    expect(Math.abs(e.drift)).toBeLessThan(1e-5);
  });

  it('follows a rate that ramps, once the curvature is significant', () => {
    const d = new ClockDriftEstimator(10);
    // rate(t) = -1e-7 * t: the clock reads t - 5e-8 t^2.
    for (let i = 0; i < 10; i++) {
      const t = i * 3000;
      d.observe(t, 5000 + t - 5e-8 * t * t, undefined);
    }
    const e = d.estimate();
    expect(e?.changing).toBe(true);
    expect(e?.drift).toBeCloseTo(-1e-7 * 27_000, 4); // the rate at the newest sample
    expect(e?.driftChangePerMs).toBeCloseTo(-1e-7, 9);
  });

  it('does not mistake a growing RTT for a slow clock: a pure ramp is read as a symmetric path', () => {
    const d = new ClockDriftEstimator(8);
    for (let i = 0; i < 10; i++) {
      const sendMs = i * 3333;
      const rttMs = 500 + 200 * i;
      d.observe(sendMs + rttMs / 2, 1e12 + sendMs, rttMs);
    }
    expect(Math.abs(d.estimate()?.drift as number)).toBeLessThan(1e-9);
  });

  it('says how much an asymmetric path could explain: a delay growing on the inbound side only is not a clock out of bound', () => {
    // The reply path stays at 5 ms; the path to the server grows by 30 ms a keepalive (0.9%), with jitter. No fit can
    // tell that from a clock 0.45% slow on a symmetric path; the doubt says so, and the clock is not accused.
    const rng = new SeededRng(11);
    const d = new ClockDriftEstimator(16);
    let previousRttMs: number | undefined;
    for (let i = 0; i < 17; i++) {
      const sendMs = i * 3333;
      const inboundMs = 5 + 30 * i + rng.normal(0, 3);
      d.observe(sendMs + inboundMs, 1e12 + sendMs, previousRttMs);
      previousRttMs = inboundMs + 5;
    }
    const e = d.estimate()!;
    expect(e.drift).toBeCloseTo(-0.0045, 3);
    expect(e.pathDoubt).toBeCloseTo(0.0045, 3);
    // Even judged against a bound of 0.2%, the clock is not out of it once the doubt is given to it.
    expect(driftRisk(e, 10_000, 0.002, 0)).toBeLessThan(0.01);
    expect(clockOutOfBoundRisk(e, 0.002)).toBeLessThan(0.01);
    expect(clockOutOfBoundRisk({ ...e, pathDoubt: 0 }, 0.002)).toBeGreaterThan(0.99);
    expect(driftRisk({ ...e, pathDoubt: 0 }, 10_000, 0.002, 0)).toBeGreaterThan(0.99);
  });

  it('takes off each exchange its own round trip, as NTP does: symmetric WAN jitter (150 +- 40 ms) cancels', () => {
    const rng = new SeededRng(5);
    const corrected = new ClockDriftEstimator(16);
    const uncorrected = new ClockDriftEstimator(16);
    let previousRttMs: number | undefined;
    for (let i = 0; i < 17; i++) {
      const sendMs = i * 3333;
      const oneWayMs = 75 + rng.normal(0, 20);
      corrected.observe(sendMs + oneWayMs, 1e12 + 0.98 * sendMs, previousRttMs);
      uncorrected.observe(sendMs + oneWayMs, 1e12 + 0.98 * sendMs, undefined);
      previousRttMs = 2 * oneWayMs;
    }
    const e = corrected.estimate()!;
    expect(e.drift).toBeCloseTo(-0.02, 6);
    expect(e.driftStdErr).toBeLessThan(1e-5);
    expect(uncorrected.estimate()!.driftStdErr).toBeGreaterThan(20 * e.driftStdErr);
  });
});

describe('normal distribution', () => {
  it('matches tabulated values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 12);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 10);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 10);
    expect(normalUpperTail(5) / 2.866515718791939e-7).toBeCloseTo(1, 8);
    expect(normalUpperTail(10) / 7.61985302416047e-24).toBeCloseTo(1, 6);
    expect(normalSurvival(130, 100, 10)).toBeCloseTo(0.0013498980316301, 10);
    expect(normalSurvival(5, 10, 0)).toBe(1);
    expect(normalSurvival(15, 10, 0)).toBe(0);
  });
});

describe('forecastArima', () => {
  it('continues a linear trend exactly with ARIMA(1,1,0)', () => {
    const series = Array.from({ length: 20 }, (_, i) => 5 + 2 * i); // last value 43
    const forecast = forecastArima(series, 3, { p: 1, d: 1, q: 0 });
    expect(forecast).not.toBeNull();
    expect(forecast?.means[0]).toBeCloseTo(45, 4);
    expect(forecast?.means[1]).toBeCloseTo(47, 4);
    expect(forecast?.means[2]).toBeCloseTo(49, 4);
  });

  it('recovers an AR(1) coefficient of 0.8 (forecast decays toward the mean by 0.8 a step)', () => {
    const seed = 4;
    const rng = new SeededRng(seed);
    const series = [10];
    for (let i = 1; i < 400; i++) series.push(10 + 0.8 * ((series[i - 1] as number) - 10) + rng.normal(0, 0.5));
    const forecast = forecastArima(series, 2, { p: 1, d: 0, q: 0 });
    expect(forecast).not.toBeNull();
    const last = series.at(-1) as number;
    // x(t+1) - mu = phi (x(t) - mu): estimate phi from two forecast steps, mu from the series.
    const mu = series.reduce((a, b) => a + b, 0) / series.length;
    const phi = ((forecast?.means[1] as number) - mu) / ((forecast?.means[0] as number) - mu);
    expect(Math.abs(phi - 0.8), `seed ${seed}, last ${last}`).toBeLessThan(0.1);
    expect(forecast?.variances[1]).toBeGreaterThan(forecast?.variances[0] as number);
  });

  it('returns null when the series is too short for the order', () => {
    expect(forecastArima([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 1, { p: 1, d: 1, q: 0 })).toBeNull(); // needs 11
    expect(forecastArima([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 1, { p: 1, d: 1, q: 0 })).not.toBeNull();
  });
});

describe('ResourceStats', () => {
  it('keeps the quantiles of the last 256 holds as a full sort would (seeded)', () => {
    const seed = 11;
    const rng = new SeededRng(seed);
    const stats = new ResourceStats(10_000);
    const all: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const held = Math.round(rng.uniform(0, 5000)); // rounded: ties exercise the removal of evicted values
      all.push(held);
      stats.addHold(held);
    }
    const window = all.slice(-256).sort((a, b) => a - b);
    for (const q of [0.01, 0.5, 0.9, 0.99]) {
      expect(stats.holdQuantileMs(q), `seed ${seed}, q ${q}`).toBe(window[Math.ceil(q * 256) - 1]);
    }
    expect(stats.holdSurvival(window[127] as number)).toBeCloseTo(128 / 256, 12);
  });

  it('extrapolates past the p99 with a power-law tail: 1% at the p99, less beyond, never 0', () => {
    const stats = new ResourceStats(10_000);
    for (let i = 1; i <= 100; i++) stats.addHold(100 * i);
    const p99 = stats.holdQuantileMs(0.99) as number;
    expect(p99).toBe(9900);
    expect(stats.holdSurvival(p99)).toBeCloseTo(0.01, 12);
    const far = stats.holdSurvival(4 * p99);
    expect(far).toBeGreaterThan(0);
    expect(far).toBeLessThan(0.01 / 4 ** 0.5);
    // Hill's index over the top 10 (91..100 hundred ms above 9000 ms), trusted only to its lower 95% bound.
    let sumLogs = 0;
    for (let k = 91; k <= 100; k++) sumLogs += Math.log(k / 90);
    const index = Math.min(6, 10 / sumLogs) * (1 - 1.645 / Math.sqrt(10));
    expect(far).toBeCloseTo(0.01 * 0.25 ** index, 12);
  });

  it('averages demand over closed buckets, counting empty ones', () => {
    const stats = new ResourceStats(1000);
    for (const t of [0, 100, 200, 1500, 3500]) stats.addRequest(t); // buckets: 3, 1, 0, 1 (open)
    expect(stats.demandPerBucket(3600)).toBeCloseTo(4 / 3, 12);
  });

  it('reset() leaves the same state as a new one, and the same answers after the same inputs (seeded)', () => {
    const seed = 5;
    const rng = new SeededRng(seed);
    /** Every field, a ring buffer by its contents (its storage keeps stale values beyond its length). */
    const stateOf = (stats: ResourceStats): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(stats).map(([key, value]) => [key, value instanceof RingBuffer ? value.toArray() : value]),
      );
    const feed = (stats: ResourceStats, fromMs: number): void => {
      for (let i = 0; i < 400; i++) {
        stats.addHold(Math.round(rng.uniform(0, 5000)));
        stats.addRequest(fromMs + i * 700);
      }
      stats.refitDemand(fromMs + 400 * 700, { p: 1, d: 0, q: 0 }, 32);
    };
    const reused = new ResourceStats(10_000);
    feed(reused, 0);
    reused.holdSurvival(1e6); // caches the tail index
    reused.reset();
    const fresh = new ResourceStats(10_000);
    expect(stateOf(reused)).toEqual(stateOf(fresh));
    const startMs = 1_000_000;
    for (const stats of [reused, fresh]) {
      const copy = new SeededRng(seed + 1);
      for (let i = 0; i < 300; i++) {
        stats.addHold(Math.round(copy.uniform(0, 9000)));
        stats.addRequest(startMs + i * 300);
      }
    }
    for (const ageMs of [0, 1000, 8900, 50_000]) expect(reused.holdSurvival(ageMs)).toBe(fresh.holdSurvival(ageMs));
    expect(reused.holdQuantileMs(0.99)).toBe(fresh.holdQuantileMs(0.99));
    expect(reused.demandPerBucket(startMs + 300 * 300)).toBe(fresh.demandPerBucket(startMs + 300 * 300));
    expect(stateOf(reused)).toEqual(stateOf(fresh));
  });
});
