// The held-locks run of the scale benchmark: S sessions fill N locks spread evenly over them, then the leader is
// measured at rest (CPU, RSS), `forelock locks --json` is timed, an optional steady churn runs on top of the held
// locks, and nodes are restarted while the sessions hold on. Leader changes are counted throughout.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from '../src/client/client.js';
import type { Lock } from '../src/client/lock.js';
import type { LeadershipChanges } from './leadership-watch.js';
import { cpuMsOf, cpuPercentOver, rssMbOf } from './process-usage.js';
import { ScaleCluster } from './scale-cluster.js';
import { type Churn, churn, connectSessions, runTimed } from './scale-load.js';
import type { ScaleOptions } from './scale-options.js';
import { type RestartOutcome, restartAndWatch } from './scale-restart.js';

export interface SteadyOutcome {
  readonly durationMs: number;
  readonly churn: Churn;
  /** Leader changes and terms during the churn. */
  readonly leadership: LeadershipChanges;
  /** The leader's CPU during the churn, in % of a core. */
  readonly leaderCpuPercent: number;
  readonly sessionsLost: number;
}

export interface HeldLocksRow {
  readonly nodes: number;
  readonly locks: number;
  readonly sessions: number;
  readonly preemption: string;
  /** Grants per second over each tenth of the fill. */
  readonly fillRatesPerSecond: number[];
  readonly fillErrors: number;
  readonly fillFirstError: string | null;
  /** The leader's CPU over the rest period, in % of a core. */
  readonly restCpuPercent: number;
  /** The leader's RSS after the rest, in MB. */
  readonly rssMb: number;
  readonly listMs: number;
  /** `ok`, or the first line of the command's error. */
  readonly listOutcome: string;
  readonly steady: SteadyOutcome | null;
  /** Leader changes and terms from the sessions' connecting to the end of the churn (before any restart). */
  readonly leadership: LeadershipChanges;
  readonly restarts: RestartOutcome[];
}

const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
/** Let the last grants' entries settle (snapshots, the predictor's first looks) before the rest is measured. */
const SETTLE_MS = 2_000;

/** Runs `forelock locks --json` and times it. */
function timeLocksCommand(endpoints: readonly string[]): Promise<{ ms: number; outcome: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'locks', '--json', '--endpoints', endpoints.join(',')],
      { maxBuffer: 1 << 30 },
      (error, _stdout, stderr) => {
        const ms = performance.now() - started;
        const firstLine = `${stderr}`.split('\n').find((line) => line.trim() !== '') ?? String(error?.message);
        resolve({ ms, outcome: error === null ? 'ok' : `fails: ${firstLine.slice(0, 120)}` });
      },
    );
  });
}

function sessionsLost(clients: readonly Client[]): number {
  return clients.filter((client) => client.session.signal.aborted).length;
}

async function steadyLoad(cluster: ScaleCluster, clients: readonly Client[], options: ScaleOptions) {
  const mark = await cluster.markLeadership();
  const lostBefore = sessionsLost(clients);
  const pid = await cluster.leaderPid();
  const cpuBefore = await cpuMsOf(pid);
  const started = performance.now();
  const churned = await churn(clients, options.steadyRate, options.steadyMs, 'steady/');
  const durationMs = performance.now() - started;
  const leaderCpuPercent = ((await cpuMsOf(pid).catch(() => Number.NaN)) - cpuBefore) / (durationMs / 100);
  return {
    durationMs,
    churn: churned,
    leadership: await cluster.leaderChangesSince(mark),
    leaderCpuPercent,
    sessionsLost: sessionsLost(clients) - lostBefore,
  };
}

export async function measureHeldLocks(options: ScaleOptions, locks: number, basePort: number): Promise<HeldLocksRow> {
  const cluster = await ScaleCluster.start({
    nodes: options.nodes,
    basePort,
    serveArgs: ['--log-level', options.nodeOutput ? 'info' : 'warn', '--preemption', options.preemption],
    onOutput: options.nodeOutput ? (node, line) => console.error(`[${node.id}] ${line}`) : undefined,
  });
  let clients: Client[] = [];
  try {
    const mark = await cluster.markLeadership();
    clients = await connectSessions(cluster.endpoints, options.sessions, 'scale');
    const held: Lock[][] = clients.map(() => []);
    const filled = await runTimed(locks, options.concurrency, async (n) => {
      const owner = n % clients.length;
      held[owner]!.push(await clients[owner]!.acquire(`scale/${n}`, { waitMs: 0 }));
    });
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const leaderPid = await cluster.leaderPid();
    const restCpuPercent = await cpuPercentOver(leaderPid, options.restMs);
    const rssMb = await rssMbOf(leaderPid);
    const listed = await timeLocksCommand(cluster.endpoints);
    const steady = options.steadyMs > 0 ? await steadyLoad(cluster, clients, options) : null;
    const leadership = await cluster.leaderChangesSince(mark);
    const restarts: RestartOutcome[] = [];
    for (const role of options.restarts) restarts.push(await restartAndWatch(cluster, role, clients, held));
    return {
      nodes: options.nodes,
      locks,
      sessions: options.sessions,
      preemption: options.preemption,
      fillRatesPerSecond: filled.ratesPerSecond,
      fillErrors: filled.errors,
      fillFirstError: filled.firstError,
      restCpuPercent,
      rssMb,
      listMs: listed.ms,
      listOutcome: listed.outcome,
      steady,
      leadership,
      restarts,
    };
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await cluster.close();
  }
}
