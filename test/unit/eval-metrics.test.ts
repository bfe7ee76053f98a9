import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runEvalCommand } from '../../src/cli/commands/eval.js';
import type { EvalReport } from '../../src/eval/report.js';

// Two sessions, TTL 10 s, keepalives every 3333 ms. s1 holds r1 from 100 to 20000 and pauses for a while (a transient
// gc-pause: its keepalive after 9999 comes at 17500); s2 holds r2 from 5000, crashes at 11000 (stale_at) and is expired
// by the trace's server at its lapse, 9999 + 10000 = 19999.
const TRACE = [
  { type: 'header', version: 1, name: 'hand', ttl_ms: 10000, keepalive_ms: 3333 },
  { t: 0, type: 'session', session: 's1', ttl_ms: 10000 },
  { t: 0, type: 'session', session: 's2', ttl_ms: 10000 },
  { t: 100, type: 'acquire', session: 's1', resource: 'r1', mode: 'exclusive' },
  { t: 100, type: 'grant', session: 's1', resource: 'r1' },
  { t: 3333, type: 'keepalive', session: 's1', client_time_ms: 1715000003333, rtt_ms: 2 },
  { t: 3333, type: 'keepalive', session: 's2', client_time_ms: 1715000003333, rtt_ms: 2 },
  { t: 5000, type: 'acquire', session: 's2', resource: 'r2', mode: 'exclusive' },
  { t: 5000, type: 'grant', session: 's2', resource: 'r2' },
  { t: 6666, type: 'keepalive', session: 's1', client_time_ms: 1715000006666, rtt_ms: 2 },
  { t: 6666, type: 'keepalive', session: 's2', client_time_ms: 1715000006666, rtt_ms: 2 },
  { t: 9999, type: 'keepalive', session: 's1', client_time_ms: 1715000009999, rtt_ms: 2 },
  { t: 9999, type: 'keepalive', session: 's2', client_time_ms: 1715000009999, rtt_ms: 2 },
  { t: 11000, type: 'truth', session: 's2', fault: 'crash', stale_at: 11000 },
  { t: 12000, type: 'truth', session: 's1', fault: 'gc-pause', stale_at: null, until: 17000 },
  { t: 17500, type: 'keepalive', session: 's1', client_time_ms: 1715000017500, rtt_ms: 2 },
  { t: 19999, type: 'close', session: 's2' },
  { t: 20000, type: 'release', session: 's1', resource: 'r1' },
  { t: 20833, type: 'keepalive', session: 's1', client_time_ms: 1715000020833, rtt_ms: 2 },
  { t: 21000, type: 'close', session: 's1' },
];

const directory = mkdtempSync(join(tmpdir(), 'forelock-eval-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function evaluateHandTrace(): { report: EvalReport; json: EvalReport; text: string } {
  const tracePath = join(directory, 'hand.jsonl');
  const jsonPath = join(directory, 'hand.json');
  writeFileSync(tracePath, `${TRACE.map((line) => JSON.stringify(line)).join('\n')}\n`);
  let text = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const report = runEvalCommand({ trace: [tracePath], json: jsonPath }, { out, progress: null });
  return { report, json: JSON.parse(readFileSync(jsonPath, 'utf8')) as EvalReport, text };
}

describe('forelock eval --trace on a hand-written trace', () => {
  const { report, json, text } = evaluateHandTrace();
  const family = json.families.hand!;

  it('counts the episodes, holds and holding time', () => {
    expect(json.suite).toBe('trace');
    expect(json.seeds).toEqual([]);
    expect(family.episodes).toBe(2);
    expect(family.holds).toBe(2);
    // (20000 - 100) + (19999 - 5000) = 34899 ms = 0.0097 h
    expect(family.hold_hours).toBe(0.01);
  });

  it('gives fixed-ttl the trace lease: freed at the lapse, 19999 - 11000 after the crash, no pre-emption', () => {
    expect(family.detectors['fixed-ttl']).toEqual({
      detection_ms_p50: 8999,
      detection_ms_p99: 8999,
      warned_ahead_frac: null,
      lead_ms_p50: null,
      false_warnings_per_hour: null,
      unnecessary_preemptions_per_1k: 0,
      guarantee_violations: 0,
      brier: null,
      false_warnings_per_hour_healthy: null,
      // A clock fitted in hindsight that keeps time: the TTL promise always outlives the SDK's safe period.
      unsafe_exposure_ms: 0,
    });
  });

  it('gives phi-accrual the moment phi reaches 8 after the last keepalive of s2', () => {
    // Inter-arrival history: bootstrap 2499.75 and 4166.25, then 3333 x 3: mean 3333,
    // variance 2 x 833.25^2 / 5 = 277722.225. Suspected at 9999 + 3333 + 3000 (pause) + z(1e-8) x std.
    const suspectMs = 9999 + 3333 + 3000 + 5.612001244 * Math.sqrt(277722.225);
    const phi = family.detectors['phi-accrual']!;
    expect(phi.detection_ms_p50).toBe(Math.round(suspectMs - 11000));
    // s1's 7.5 s gap stays below phi 8 (suspected only at about 19290): no pre-emption of the healthy hold.
    expect(phi.unnecessary_preemptions_per_1k).toBe(0);
    // 19290 is before s2's lease end (9999 + 10000): a guarantee violation.
    expect(phi.guarantee_violations).toBe(1);
  });

  it('gives rto SRTT + 4 x RTTVAR, firing on the crash and on the pause alike', () => {
    // Samples 3333, 3333, 3333: SRTT 3333, RTTVAR 1666.5 -> 1249.875 -> 937.40625; RTO = 3333 + 4 x 937.40625.
    const rtoMs = 3333 + 4 * 937.40625;
    const rto = family.detectors.rto!;
    expect(rto.detection_ms_p50).toBe(Math.round(9999 + rtoMs - 11000));
    // s1 is suspected at 9999 + 7082.6 < 17500: the healthy hold is pre-empted, 1 of 2 holds.
    expect(rto.unnecessary_preemptions_per_1k).toBe(500);
    expect(rto.guarantee_violations).toBe(2);
  });

  it('gives chen the expected arrival plus one interval', () => {
    // Arrivals 0, 3333, 6666, 9999: mean 4999.5, delta 3333: EA = 4999.5 + 3333 x 5/2 = 13332; + alpha 3333.
    const chen = family.detectors.chen!;
    expect(chen.detection_ms_p50).toBe(13332 + 3333 - 11000);
    expect(chen.unnecessary_preemptions_per_1k).toBe(500);
    expect(chen.guarantee_violations).toBe(2);
  });

  it('sweeps fixed-ttl over its TTL factor', () => {
    const points = family.sweeps['fixed-ttl']!;
    expect(points.map((point) => point.knob)).toEqual([0.3, 0.45, 0.6, 0.75, 1]);
    // 0.3 x TTL = 3000 < 3333: both holds are pre-empted at their first gap; s2 at 3333 + 3000 = 6333.
    expect(points[0]).toEqual({ knob: 0.3, detection_ms_p50: 6333 - 11000, unnecessary_preemptions_per_1k: 500 });
    // 0.45 x TTL = 4500: s2 at 9999 + 4500; s1 too, 14499 < 17500.
    expect(points[1]).toEqual({ knob: 0.45, detection_ms_p50: 14499 - 11000, unnecessary_preemptions_per_1k: 500 });
    // 0.75 x TTL = 7500: s1's gap of 7501 is pre-empted by 1 ms.
    expect(points[3]).toEqual({ knob: 0.75, detection_ms_p50: 17499 - 11000, unnecessary_preemptions_per_1k: 500 });
    expect(points[4]).toEqual({ knob: 1, detection_ms_p50: 8999, unnecessary_preemptions_per_1k: 0 });
  });

  it('gives the forelock detectors warning metrics, null where nothing applies, and keeps guarded promises', () => {
    for (const name of ['forelock', 'forelock-guarded']) {
      const metrics = family.detectors[name]!;
      // The only stale episode is a crash, which is not predictable: no warned-ahead fraction, no lead.
      expect(metrics.warned_ahead_frac).toBeNull();
      expect(metrics.lead_ms_p50).toBeNull();
      expect(metrics.false_warnings_per_hour).not.toBeNull();
      expect(metrics.brier).not.toBeNull();
      expect(metrics.detection_ms_p50).not.toBeNull();
      // Detection never exceeds the trace's lease backstop.
      expect(metrics.detection_ms_p50!).toBeLessThanOrEqual(8999);
    }
    expect(family.detectors['forelock-guarded']!.guarantee_violations).toBe(0);
  });

  it('writes the same numbers to JSON, overall and on the terminal', () => {
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));
    expect(json.overall).toEqual(family.detectors);
    expect(text).toContain('== hand: 2 episodes, 2 holds, 0.01 hold-hours');
    expect(text).toMatch(/fixed-ttl\s+8999\s+8999\s+-\s+-\s+-\s+0\s+0\s+-/);
  });
});
