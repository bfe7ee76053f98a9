// What the scenarios measured, collected over the run and reported at its end: recovery times per fault (fault ->
// agreed leader, fault -> next grant) and a summary of each scenario's history. Printed as tables to stdout and
// written to test/chaos/.results/recovery.json.

import { mkdirSync, writeFileSync } from 'node:fs';

/** One fault of one scenario and how long the cluster took to recover from it. */
export interface RecoveryMeasurement {
  readonly scenario: string;
  readonly nodes: number;
  readonly fault: string;
  /** Leader before the fault and the agreed leader after it. */
  readonly leaderBefore: string;
  readonly leaderAfter: string;
  /** Fault to a leader agreed by a majority (the same leader counts when it was never lost), in ms. */
  readonly leaderMs: number;
  /** Fault to the acknowledgement of the first grant the cluster made after the fault, in ms. */
  readonly nextGrantMs: number;
}

/** What one scenario's history held and what the checks found. */
export interface HistorySummary {
  readonly scenario: string;
  readonly nodes: number;
  readonly acquires: number;
  readonly grants: number;
  /** Acquire failures by code (timeouts, unavailability during faults). */
  readonly failures: string;
  readonly sessionsReplaced: number;
  /** Load-client sessions that ended before the workload closed them (replaced or not). */
  readonly sessionsLost: number;
  /** Promises and Pre-emption Requests the clients' sessions received and the checker used. */
  readonly promiseEvents: number;
  /** Revocations and expiries of ordinary holds the checker held to a recorded promise. */
  readonly promiseChecks: number;
  /** The least time from such a promise to its revocation or expiry (null: none). */
  readonly minPromiseMarginMs: number | null;
  readonly logEntries: number;
  readonly serverEvents: number;
  readonly violations: number;
}

/** Bound past which a scenario fails on time: generous, never a tight one. */
export const RECOVERY_BOUND_MS = 30_000;

const recoveries: RecoveryMeasurement[] = [];
const summaries: HistorySummary[] = [];

/** Adds a recovery measurement to the run's table. */
export function recordRecovery(measurement: RecoveryMeasurement): void {
  recoveries.push(measurement);
}

/** Adds a scenario's history summary to the run's table. */
export function recordSummary(summary: HistorySummary): void {
  summaries.push(summary);
}

/** Rows as a fixed-width text table under `header`. */
function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((cells) => cells[column]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

function recoveryTable(): string {
  return formatTable(
    ['scenario', 'nodes', 'fault', 'leader', 'to leader ms', 'to next grant ms'],
    recoveries.map((row) => [
      row.scenario,
      String(row.nodes),
      row.fault,
      row.leaderBefore === row.leaderAfter ? `${row.leaderAfter} (kept)` : `${row.leaderBefore} -> ${row.leaderAfter}`,
      String(Math.round(row.leaderMs)),
      String(Math.round(row.nextGrantMs)),
    ]),
  );
}

function summaryTable(): string {
  return formatTable(
    [
      'scenario',
      'nodes',
      'acquires',
      'grants',
      'failures',
      'sessions replaced',
      'sessions lost',
      'promise events',
      'promise checks',
      'min margin ms',
      'log entries',
      'server events',
      'violations',
    ],
    summaries.map((row) => [
      row.scenario,
      String(row.nodes),
      String(row.acquires),
      String(row.grants),
      row.failures || '-',
      String(row.sessionsReplaced),
      String(row.sessionsLost),
      String(row.promiseEvents),
      String(row.promiseChecks),
      row.minPromiseMarginMs === null ? '-' : String(row.minPromiseMarginMs),
      String(row.logEntries),
      String(row.serverEvents),
      String(row.violations),
    ]),
  );
}

/** Prints both tables to stdout and writes them to test/chaos/.results/recovery.json. */
export function reportResults(): void {
  const directory = new URL('../.results/', import.meta.url).pathname;
  mkdirSync(directory, { recursive: true });
  writeFileSync(`${directory}recovery.json`, `${JSON.stringify({ recoveries, summaries }, null, 2)}\n`);
  process.stdout.write(
    `\nRecovery times (fault -> leader agreed by a majority; fault -> first grant made after it, acknowledged):\n${recoveryTable()}\n\nHistories checked:\n${summaryTable()}\n\n`,
  );
}
