import { describe, expect, it } from 'vitest';
import { forelockGuardedSpec, forelockSpec } from '../../src/eval/forelock-detector.js';
import { buildGroundTruth } from '../../src/eval/ground-truth.js';
import { runShadow } from '../../src/eval/shadow-runner.js';
import type { Trace, TraceEvent } from '../../src/eval/trace.js';
import { generateScenario, SCENARIO_FAMILIES, type ScenarioSize } from '../../src/sim/scenarios/families.js';

const SIZE: ScenarioSize = { workers: 8, leaders: 1, durationMs: 420_000, faults: 4 };
const SEEDS = [21, 22];

describe('the forelock detectors in shadow mode', () => {
  it.each(SCENARIO_FAMILIES)('%s: forelock-guarded never revokes before the promise it sent', (family) => {
    for (const seed of SEEDS) {
      const trace = generateScenario(family, seed, SIZE);
      const truth = buildGroundTruth(trace);
      const run = runShadow(trace, truth, forelockGuardedSpec);
      const early = run.outcomes.filter(
        (outcome) => outcome.preemptAtMs !== null && outcome.preemptAtMs < outcome.guaranteeEndMs!,
      );
      expect(early, `${family} seed ${seed}`).toEqual([]);
      expect(run.events).toBe(trace.events.filter((event) => event.type !== 'truth').length);
    }
  });

  it('runs the same decisions for the same trace (deterministic)', () => {
    const trace = generateScenario('crash', 23, SIZE);
    const truth = buildGroundTruth(trace);
    const first = runShadow(trace, truth, forelockSpec);
    const second = runShadow(trace, truth, forelockSpec);
    expect(second.outcomes).toEqual(first.outcomes);
    expect(second.brierSum).toBe(first.brierSum);
    expect(first.brierSamples).toBeGreaterThan(0);
  });

  it('revokes a crashed holder whose connection ended when a live client would have resumed, not a lost keepalive later', () => {
    const preemptAt = (withDisconnect: boolean): number => {
      const events: TraceEvent[] = [
        { t: 0, type: 'session', session: 'dead', ttl_ms: 10_000 },
        { t: 0, type: 'session', session: 'waiter', ttl_ms: 10_000 },
      ];
      let t = 0;
      for (let i = 1; i <= 20; i++) {
        t = i * 3333;
        events.push({ t, type: 'keepalive', session: 'dead', client_time_ms: 1_715_000_000_000 + t, rtt_ms: 2 });
        events.push({
          t: t + 1,
          type: 'keepalive',
          session: 'waiter',
          client_time_ms: 1_715_000_000_000 + t,
          rtt_ms: 2,
        });
        if (i === 2) events.push({ t: t + 2, type: 'grant', session: 'dead', resource: 'job' });
      }
      // The holder dies 500 ms after its last keepalive; its kernel's reset reaches the server 1 ms later.
      const crashMs = t + 500;
      events.push({ t: crashMs, type: 'truth', session: 'dead', fault: 'crash', stale_at: crashMs });
      if (withDisconnect) events.push({ t: crashMs + 1, type: 'disconnect', session: 'dead' });
      for (let i = 21; i <= 26; i++) {
        events.push({
          t: i * 3333 + 1,
          type: 'keepalive',
          session: 'waiter',
          client_time_ms: 1_715_000_000_000 + i * 3333,
          rtt_ms: 2,
        });
      }
      const trace: Trace = {
        header: { type: 'header', version: 1, name: 'disconnect', ttl_ms: 10_000, keepalive_ms: 3333 },
        events,
      };
      const run = runShadow(trace, buildGroundTruth(trace), forelockSpec);
      return run.outcomes[0]!.preemptAtMs! - crashMs;
    };
    const withReset = preemptAt(true);
    const silentOnly = preemptAt(false);
    // Half an interval for the redial and resume, then the ladder's shortened waits (ack and grace, a quarter each).
    expect(withReset).toBeGreaterThan(3333 / 2);
    expect(withReset).toBeLessThan(3333);
    // Without the reset the silence is one lost keepalive's until its replacement is overdue.
    expect(silentOnly).toBeGreaterThan(2 * 3333 - 500);
  });
});
