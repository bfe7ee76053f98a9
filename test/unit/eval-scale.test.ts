// The predictor judges each session by its own noise: scaling every network delay of the LAN sessions by 50 (2 ms
// becomes 100 ms) must not flood them with warnings (`forelock eval --scale K`).
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/eval/evaluate.js';
import { buildReport } from '../../src/eval/report.js';
import type { Trace } from '../../src/eval/trace.js';
import { generateScenario } from '../../src/sim/scenarios/families.js';

const SEEDS = [1, 2, 3];

/** The trace with only its LAN sessions (and the server's load). */
function lanSessionsOf(trace: Trace): Trace {
  const lan = new Set([...(trace.links ?? [])].filter(([, kind]) => kind === 'lan').map(([session]) => session));
  return {
    header: trace.header,
    events: trace.events.filter((event) => event.type === 'load' || lan.has(event.session)),
  };
}

function healthyFalseWarningsPerHour(delayScale: number): number {
  const work = SEEDS.map((seed) => ({
    family: 'healthy-jitter',
    label: `seed ${seed} x${delayScale}`,
    load: () => lanSessionsOf(generateScenario('healthy-jitter', seed, undefined, { delayScale })),
  }));
  const metrics = buildReport(evaluate(work), 'quick', SEEDS).families['healthy-jitter']!.detectors.forelock!;
  expect(metrics.false_warnings_per_hour_healthy).not.toBeNull();
  return metrics.false_warnings_per_hour_healthy!;
}

describe('prediction is scale-free', () => {
  it('healthy-jitter LAN sessions: false warnings at 50x the delays are at most 1.5x those at 1x, plus 0.2', () => {
    const atOne = healthyFalseWarningsPerHour(1);
    const atFifty = healthyFalseWarningsPerHour(50);
    expect(atFifty).toBeLessThanOrEqual(1.5 * atOne + 0.2);
  }, 60_000);

  it('--scale multiplies the round trips of a generated trace and leaves its rhythm and TTL alone', () => {
    const size = { workers: 4, leaders: 1, durationMs: 60_000, faults: 0 };
    const rtts = (scale: number) =>
      lanSessionsOf(generateScenario('healthy-jitter', 4, size, { delayScale: scale })).events.flatMap((event) =>
        event.type === 'keepalive' && event.rtt_ms !== undefined ? [event.rtt_ms] : [],
      );
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const one = rtts(1);
    const fifty = rtts(50);
    expect(mean(fifty) / mean(one)).toBeGreaterThan(30);
    const trace = generateScenario(
      'healthy-jitter',
      4,
      { workers: 2, leaders: 1, durationMs: 60_000, faults: 0 },
      { delayScale: 50 },
    );
    expect(trace.header.ttl_ms).toBe(10_000);
    expect(trace.header.keepalive_ms).toBe(3333);
  });
});
