// Scale benchmark (issue 13): real `forelock serve` processes (one, or a 3-node cluster with --nodes 3) and SDK
// sessions that follow the leader. Runs, each on a fresh cluster:
// - held locks (--locks): S sessions hold N locks spread evenly over them; the acquire rate per tenth of the fill, the
//   leader's CPU and RSS at rest, `forelock locks --json`, an optional steady churn (--steady-ms), leader changes,
//   and restarts of the leader or a follower (what they did to the sessions);
// - idle sessions (--idle-sessions): N sessions holding nothing, over child processes; leader CPU, sessions lost;
// - distinct names (--distinct-names): N names acquired and released in waves; the leader's RSS before, at the peak
//   and after a rest.
// --targets prints issue 13's targets with the figures measured. It reports; it never fails on a figure (the timings
// belong here, the tests assert outcomes).
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { type DistinctNamesRow, measureDistinctNames } from './scale-distinct-names.js';
import { fmt, nodesText } from './scale-format.js';
import { type HeldLocksRow, measureHeldLocks } from './scale-held-locks.js';
import { type IdleSessionsRow, measureIdleSessions } from './scale-idle-sessions.js';
import { parseScaleOptions, type ScaleOptions } from './scale-options.js';
import { checkScaleTargets, formatScaleTargets } from './scale-targets.js';

/** Each run's cluster gets ports of its own (gRPC from base + 100 k, HTTP from base + 100 k + 80). */
const PORTS_PER_RUN = 100;

function printHeldLocks(options: ScaleOptions, rows: readonly HeldLocksRow[]): void {
  console.log(
    `Held locks: ${nodesText(options.nodes)} (forelock serve, --preemption ` +
      `${options.preemption}), ${options.sessions} SDK sessions in one process, ${options.concurrency} acquires in ` +
      `flight, ${options.restMs} ms at rest; CPU and RSS are the leader's\n`,
  );
  console.log(
    '| held locks | acquire rate while filling (min-max per tenth) | leader CPU at rest | leader RSS | `locks --json` | ' +
      'leader changes (new terms) |',
  );
  console.log('|---:|---|---:|---:|---|---|');
  for (const row of rows) {
    const rates = row.fillRatesPerSecond;
    console.log(
      `| ${fmt(row.locks)} | ${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}/s` +
        `${row.fillErrors > 0 ? ` (${row.fillErrors} errors: ${row.fillFirstError})` : ''} | ` +
        `${fmt(row.restCpuPercent, 1)}% | ${fmt(row.rssMb)} MB | ` +
        `${row.listOutcome === 'ok' ? `${fmt(row.listMs / 1000, 2)} s` : row.listOutcome} | ` +
        `${row.leadership.leaderChanges} (${row.leadership.terms}) |`,
    );
  }
  const steadyRows = rows.filter((row) => row.steady !== null);
  if (steadyRows.length > 0) {
    console.log(
      '\n| held locks | steady load | acquire+release/s | errors | leader CPU | leader changes (new terms) | sessions lost |',
    );
    console.log('|---:|---:|---:|---:|---:|---|---:|');
    for (const row of steadyRows) {
      const steady = row.steady!;
      console.log(
        `| ${fmt(row.locks)} | ${fmt(steady.durationMs / 1000)} s | ${fmt(steady.churn.pairsPerSecond)} | ` +
          `${steady.churn.errors}${steady.churn.firstError === null ? '' : ` (${steady.churn.firstError})`} | ` +
          `${fmt(steady.leaderCpuPercent, 1)}% | ${steady.leadership.leaderChanges} (${steady.leadership.terms}) | ` +
          `${steady.sessionsLost} |`,
      );
    }
  }
  if (rows.some((row) => row.restarts.length > 0)) {
    console.log(
      '\n| held locks | restarted | ready (caught up) | sessions settled | sessions resumed / lost | locks kept / lost | ' +
        'restarted node CPU | leader changes (new terms) |',
    );
    console.log('|---:|---|---:|---:|---|---|---:|---|');
    for (const row of rows) {
      for (const restart of row.restarts) {
        console.log(
          `| ${fmt(row.locks)} | ${restart.role} | ${fmt(restart.readyMs / 1000, 1)} s | ` +
            `${fmt(restart.settledMs / 1000, 1)} s | ${restart.sessionsResumed} / ${restart.sessionsLost} | ` +
            `${fmt(restart.locksKept)} / ${fmt(restart.locksLost)} | ${fmt(restart.cpuMs / 1000, 1)} s | ` +
            `${restart.leadership.leaderChanges} (${restart.leadership.terms}) |`,
        );
      }
    }
    for (const row of rows) {
      for (const restart of row.restarts) {
        for (const [reason, count] of Object.entries(restart.lossReasons)) {
          console.log(`${fmt(row.locks)} held, ${restart.role} restarted: ${count} session(s) lost so far: ${reason}`);
        }
      }
    }
  }
  console.log();
}

function printIdleSessions(row: IdleSessionsRow, restMs: number): void {
  console.log(
    `Idle sessions: ${nodesText(row.nodes)}, ${fmt(row.sessions)} sessions holding ` +
      `nothing over ${row.processes} client process(es), opened in ${fmt(row.openMs / 1000, 1)} s; ${restMs} ms at rest\n`,
  );
  console.log(
    "| idle sessions | leader CPU at rest | leader RSS | client processes' CPU / RSS | sessions lost at rest | " +
      'leader changes (new terms) |',
  );
  console.log('|---:|---:|---:|---:|---:|---|');
  console.log(
    `| ${fmt(row.sessions)}${row.openFailures > 0 ? ` (${fmt(row.openFailures)} never opened: ${row.openError})` : ''} | ` +
      `${fmt(row.restCpuPercent, 1)}% | ${fmt(row.rssMb)} MB | ` +
      `${fmt(row.clientsCpuPercent, 1)}% / ${fmt(row.clientsRssMb)} MB | ` +
      `${fmt(row.sessionsLost)} | ${row.leadership.leaderChanges} (${row.leadership.terms}) |`,
  );
  for (const [reason, count] of Object.entries(row.lossReasons))
    console.log(`${count} idle session(s) lost: ${reason}`);
  console.log();
}

function printDistinctNames(row: DistinctNamesRow, restMs: number): void {
  console.log(
    `Distinct names: ${nodesText(row.nodes)}, ${fmt(row.names)} names acquired and ` +
      `released by ${row.sessions} sessions in waves of ${fmt(row.wave)}; RSS after ${restMs} ms at rest\n`,
  );
  console.log(
    '| distinct names | names/s | leader RSS before | at the peak | after the rest | errors | leader changes (new terms) |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---|');
  console.log(
    `| ${fmt(row.names)} | ${fmt(row.namesPerSecond)} | ${fmt(row.rssBeforeMb)} MB | ${fmt(row.rssPeakMb)} MB | ` +
      `${fmt(row.rssAfterMb)} MB | ${row.errors}${row.firstError === null ? '' : ` (${row.firstError})`} | ` +
      `${row.leadership.leaderChanges} (${row.leadership.terms}) |`,
  );
  console.log();
}

let options: ScaleOptions;
try {
  options = parseScaleOptions(process.argv.slice(2));
} catch (err) {
  console.error(`scale-bench: ${(err as Error).message}`);
  process.exit(2);
}
const loadBefore = loadavg()[0]!;
let run = 0;
const nextBasePort = () => options.basePort + PORTS_PER_RUN * run++;
const heldLocks: HeldLocksRow[] = [];
for (const locks of options.locks) heldLocks.push(await measureHeldLocks(options, locks, nextBasePort()));
const idleSessions = options.idleSessions > 0 ? await measureIdleSessions(options, nextBasePort()) : null;
const distinctNames = options.distinctNames > 0 ? await measureDistinctNames(options, nextBasePort()) : null;

console.log(
  `Scale benchmark on ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; ` +
    `1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after\n`,
);
if (heldLocks.length > 0) printHeldLocks(options, heldLocks);
if (idleSessions !== null) printIdleSessions(idleSessions, options.restMs);
if (distinctNames !== null) printDistinctNames(distinctNames, options.restMs);
const runs = { heldLocks, idleSessions, distinctNames };
if (options.targets) console.log(formatScaleTargets(checkScaleTargets(runs)));
if (options.json !== undefined) {
  await writeFile(options.json, `${JSON.stringify({ options, ...runs, targets: checkScaleTargets(runs) }, null, 2)}\n`);
}
process.exit(0);
