// The predictor's per-resource statistics are bounded (issue 13): the least recently used beyond 10,000 resources are
// forgotten, as the replicated usage history forgets them; a resource in use keeps its history.
import { describe, expect, it } from 'vitest';
import { defaultSpmConfig } from '../../src/spm/config.js';
import { StalenessPredictor } from '../../src/spm/predictor.js';
import { ManualClock } from '../../src/util/clock.js';

/** Enough short holds of `resource` for its history to be trusted (minHoldSamples). */
function history(predictor: StalenessPredictor, resource: string, atMs: number): void {
  for (let i = 0; i < defaultSpmConfig.minHoldSamples + 5; i++) {
    predictor.observeRelease({ sessionId: 's', resource, atMs, heldMs: 100 + i });
  }
}

describe('StalenessPredictor memory', () => {
  it('forgets the least recently used resources beyond 10,000 and keeps those in use', () => {
    const predictor = new StalenessPredictor({}, new ManualClock(0));
    history(predictor, 'old', 0);
    history(predictor, 'busy', 0);
    // A stuck bound is non-zero only for a resource whose history is kept and trusted.
    expect(predictor.stuckBound('old', 0, 60_000)).toBeGreaterThan(0);
    for (let i = 0; i < 25_000; i++) {
      predictor.observeGrant({
        sessionId: 's',
        resource: `entity/${i}`,
        token: BigInt(i + 1),
        atMs: i,
        fenced: false,
        preemptible: true,
      });
      predictor.observeRelease({ sessionId: 's', resource: `entity/${i}`, atMs: i, heldMs: 1 });
      if (i % 1_000 === 0) predictor.observeRequest({ resource: 'busy', atMs: i });
    }
    expect(predictor.stuckBound('old', 0, 60_000)).toBe(0);
    expect(predictor.stuckBound('busy', 0, 60_000)).toBeGreaterThan(0);
    // Background maintenance still walks what is kept.
    expect(predictor.maintain(30_000)).toBeGreaterThan(0);
  });

  it('gives a resource named beyond the bound no history but its own, as a fresh predictor would', () => {
    const full = new StalenessPredictor({}, new ManualClock(0));
    // 10,000 resources with trusted histories, then as many again: each new one takes a forgotten one's buffers.
    for (let i = 0; i < 20_000; i++) history(full, `entity/${i}`, i);
    expect(full.stuckBound('entity/0', 0, 60_000)).toBe(0);
    const fresh = new StalenessPredictor({}, new ManualClock(0));
    full.observeGrant({ sessionId: 's', resource: 'new', token: 1n, atMs: 0, fenced: false, preemptible: true });
    expect(full.stuckBound('new', 0, 60_000)).toBe(0);
    history(full, 'new', 30_000);
    history(fresh, 'new', 30_000);
    for (const ageMs of [0, 200, 5_000, 60_000]) {
      expect(full.stuckBound('new', 30_000, 30_000 + ageMs)).toBe(fresh.stuckBound('new', 30_000, 30_000 + ageMs));
    }
    expect(full.stuckBound('new', 0, 60_000)).toBeGreaterThan(0);
  });
});

describe('StalenessPredictor memory bounds after many distinct names', () => {
  it('keeps at most 10,000 resources, 20,000 names to maintain, and window storage that follows their samples', () => {
    const predictor = new StalenessPredictor({}, new ManualClock(0));
    const names = 60_000;
    for (let i = 0; i < names; i++) {
      const resource = `entity/${i}`;
      predictor.observeRequest({ resource, atMs: i });
      predictor.observeGrant({
        sessionId: 's',
        resource,
        token: BigInt(i + 1),
        atMs: i,
        fenced: false,
        preemptible: true,
      });
      predictor.observeRelease({ sessionId: 's', resource, atMs: i, heldMs: 1 });
      if (i % 5_000 === 0) predictor.maintain(i);
    }
    const footprint = predictor.resourceFootprint();
    expect(footprint.resources).toBe(10_000);
    expect(footprint.roundRobinNames).toBeLessThanOrEqual(20_000);
    // A name held once has one hold and at most one closed demand bucket: a window's first allocation each, not the
    // 256 + 64 numbers of a full history.
    expect(footprint.windowSlots).toBeLessThanOrEqual(10_000 * (8 + 8 + 1));
  });
});
