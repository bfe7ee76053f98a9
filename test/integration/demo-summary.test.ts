// The demo's pure parts: the seeded plan, the timeline's summary and lines, the fenced store, the metrics parsing.
import { describe, expect, it } from 'vitest';
import { FencedStore } from '../../src/demo/fenced-store.js';
import { forcedRevocationsIn } from '../../src/demo/revocation-watch.js';
import { demoPlan, MIN_DEMO_DURATION_MS } from '../../src/demo/scenario.js';
import { describeEvent, formatSummary, Timeline } from '../../src/demo/timeline.js';

describe('demo plan', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(demoPlan(7, 60_000)).toEqual(demoPlan(7, 60_000));
    expect(demoPlan(8, 60_000).actors.map((a) => a.name)).not.toEqual(demoPlan(7, 60_000).actors.map((a) => a.name));
  });

  it('has one client per incident role, each starting inside the run, and refuses runs too short', () => {
    const plan = demoPlan(1, 60_000);
    const roles = plan.actors.map((a) => a.role).sort();
    expect(roles).toEqual([
      'checkpointing',
      'crashing',
      'latency-ramp',
      'steady',
      'steady',
      'steady',
      'steady',
      'stuck',
    ]);
    for (const actor of plan.actors) expect(actor.startMs).toBeLessThan(plan.durationMs * 0.7);
    expect(() => demoPlan(1, MIN_DEMO_DURATION_MS - 1)).toThrow(RangeError);
  });
});

describe('demo timeline', () => {
  it('counts each kind of event and lists grants with decimal tokens and offsets', () => {
    const timeline = new Timeline();
    const base = { lock: 'demo/x', client: 'c1' };
    timeline.add({ type: 'grant', atMs: 10.4, ...base, token: 5n, routine: false });
    timeline.add({
      type: 'warning',
      atMs: 20,
      ...base,
      token: 5n,
      score: 90,
      probability: 0.9,
      reasons: ['hold-too-long'],
      predictedStalenessMs: 0,
    });
    timeline.add({ type: 'acknowledged', atMs: 21, ...base });
    timeline.add({ type: 'checkpointing', atMs: 22, ...base, checkpointMs: 1_500 });
    timeline.add({ type: 'checkpoint-saved', atMs: 23, ...base });
    timeline.add({ type: 'cooperative-release', atMs: 24, ...base, token: 5n });
    timeline.add({ type: 'preemption-request', atMs: 25, ...base, token: 5n, graceMs: 3_000, reason: 'stuck' });
    timeline.add({ type: 'forced-revocation', atMs: 26, ...base, token: 5n });
    timeline.add({ type: 'grant', atMs: 27, lock: 'demo/x', client: 'c2', token: 2n ** 70n, routine: true });
    const advisory = { client: 'c2', condition: 'link-degrading', detail: 'round trips growing' } as const;
    timeline.add({ type: 'advisory', atMs: 28, ...advisory, active: true });
    timeline.add({ type: 'advisory', atMs: 29, ...advisory, active: false });
    const summary = timeline.summary(3, 30_000, { c1: 'stuck', c2: 'steady' });
    expect(summary).toMatchObject({
      seed: 3,
      warnings: 1,
      advisories: 1, // one episode: its begin counts, its end does not
      acknowledged: 1,
      checkpoints: 1,
      cooperativeReleases: 1,
      preemptionRequests: 1,
      forcedRevocations: 1,
    });
    expect(summary.grants).toEqual([
      { lock: 'demo/x', client: 'c1', token: '5', at: 10 },
      { lock: 'demo/x', client: 'c2', token: '1180591620717411303424', at: 27 },
    ]);
    expect(describeEvent(timeline.events[1]!)).toContain('score 90');
    expect(formatSummary(summary)).toMatch(/forced revocations\s+1/);
    expect(formatSummary(summary)).toMatch(/session advisories\s+1/);
    expect(describeEvent(timeline.events.at(-1)!)).toBe('ADVISORY    c2: link-degrading ended: round trips growing');
  });
});

describe('demo fenced store and metrics', () => {
  it('rejects a write with a token older than one it accepted', () => {
    const store = new FencedStore();
    expect(store.write(3n).accepted).toBe(true);
    expect(store.write(4n).accepted).toBe(true);
    expect(store.write(3n)).toEqual({ accepted: false, highestToken: 4n });
    expect(store.acceptedWrites).toBe(2);
  });

  it('sums forced revocations over their reasons', () => {
    const text = [
      '# HELP forelock_forced_revocations_total Forced revocations',
      'forelock_forced_revocations_total{reason="keepalive-late"} 2',
      'forelock_forced_revocations_total{reason="hold-too-long"} 1',
      'forelock_revocations_total 9',
    ].join('\n');
    expect(forcedRevocationsIn(text)).toBe(3);
  });
});
