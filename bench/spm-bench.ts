// Benchmark of the SPM's online path: 10,000 sessions at one keepalive per second (target: at most 10 us per event).
// Prints a table (and JSON with --json); never fails. Virtual time drives the SPM; CPU time is measured around it.
import { cpus } from 'node:os';
import { StalenessPredictor } from '../src/spm/predictor.js';
import type { SpmModel } from '../src/spm/types.js';
import { ManualClock } from '../src/util/clock.js';
import { SeededRng } from '../src/util/rng.js';

const SESSIONS = 10_000;
const SECONDS = 30;
const SEED = 1;

interface Row {
  readonly path: string;
  readonly events: number;
  readonly cpuMs: number;
  readonly usPerEvent: number;
  /** CPU share of one core to sustain 10,000 keepalives per second. */
  readonly corePercent: number;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Runs `SECONDS` virtual seconds of keepalives; `perKeepalive` adds the work the server does for each one. */
function run(
  path: string,
  model: SpmModel,
  perKeepalive: (spm: StalenessPredictor, id: string, t: number) => void,
): Row {
  const rng = new SeededRng(SEED);
  const spm = new StalenessPredictor({ model, ttlMs: 3000, gMinMs: 3000 }, new ManualClock(0));
  const ids = Array.from({ length: SESSIONS }, (_, i) => `session-${i}`);
  const phase = ids.map(() => rng.uniform(0, 1000));
  for (const id of ids) spm.observeSessionOpened(id, 3000, 1000, 0);
  const jitter = Array.from({ length: 4096 }, () => rng.normal(0, 2));
  let events = 0;
  const start = cpuMs();
  for (let second = 1; second <= SECONDS; second++) {
    for (let i = 0; i < SESSIONS; i++) {
      const id = ids[i] as string;
      const t = second * 1000 + (phase[i] as number) + (jitter[(i + second) & 4095] as number);
      spm.observeKeepalive({
        sessionId: id,
        receiveMs: t,
        clientTimeMs: 1.7e12 + t,
        rttMs: 2 + (jitter[i & 4095] as number) / 4,
      });
      perKeepalive(spm, id, t);
      events++;
    }
    spm.observeLoad({ atMs: second * 1000, cpu: 0.3, mem: 0.4, loopDelayMs: 2 });
    spm.maintain(second * 1000);
  }
  const cpu = cpuMs() - start;
  const usPerEvent = (cpu * 1000) / events;
  return { path, events, cpuMs: cpu, usPerEvent, corePercent: (usPerEvent * SESSIONS) / 10_000 };
}

const lock = { resource: 'r', token: 1n, grantedAtMs: 0, waiters: 1, fenced: true };
/** One held lock per session, built once as the server keeps its held locks (not a new object per assessment). */
const heldLocks = new Map(
  Array.from({ length: SESSIONS }, (_, i): [string, typeof lock & { sessionId: string }] => [
    `session-${i}`,
    { ...lock, sessionId: `session-${i}` },
  ]),
);
const rows: Row[] = [
  run('observeKeepalive (ewma)', 'ewma', () => {}),
  run('observeKeepalive (sma)', 'sma', () => {}),
  run('observeKeepalive + answerKeepalive (ewma)', 'ewma', (spm, id, t) => {
    spm.answerKeepalive(id, t);
  }),
  run('keepalive + guarantee + assess (ewma)', 'ewma', (spm, id, t) => {
    spm.answerKeepalive(id, t);
    spm.assess(heldLocks.get(id)!, t);
  }),
];

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ sessions: SESSIONS, keepalivesPerSecond: SESSIONS, rows }, null, 2));
} else {
  console.log(
    `SPM online path: ${SESSIONS} sessions x 1 keepalive/s, ${SECONDS} virtual s, seed ${SEED}, ${cpus()[0]?.model ?? 'cpu'}`,
  );
  console.log('targets: < 10 us/event on the online path, < 10% of one core for observeKeepalive\n');
  console.log(
    `${'path'.padEnd(40)} ${'events'.padStart(8)} ${'cpu ms'.padStart(9)} ${'us/event'.padStart(9)} ${'% of 1 core'.padStart(12)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.path.padEnd(40)} ${String(r.events).padStart(8)} ${r.cpuMs.toFixed(0).padStart(9)} ${r.usPerEvent.toFixed(2).padStart(9)} ${r.corePercent.toFixed(1).padStart(11)}%`,
    );
  }
}
