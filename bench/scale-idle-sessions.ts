// The idle-sessions run of the scale benchmark: N sessions that hold nothing, spread over child processes
// (idle-session-host.ts) so that the clients' own keepalive work is not one event loop's; the leader's CPU and RSS
// are measured over the rest period, and the sessions lost during it are counted.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { IdleHostOpened, IdleHostReport, IdleHostRequest } from './idle-session-host.js';
import type { LeadershipChanges } from './leadership-watch.js';
import { cpuMsOf, rssMbOf } from './process-usage.js';
import { ScaleCluster } from './scale-cluster.js';
import type { ScaleOptions } from './scale-options.js';

export interface IdleSessionsRow {
  readonly nodes: number;
  readonly sessions: number;
  readonly processes: number;
  /** Sessions that could not be opened (with the first reason), before the rest began. */
  readonly openFailures: number;
  readonly openError: string | null;
  readonly openMs: number;
  /** The leader's CPU over the rest period, in % of a core. */
  readonly restCpuPercent: number;
  /** The client processes' CPU over the rest period, together, in % of a core. */
  readonly clientsCpuPercent: number;
  readonly rssMb: number;
  /** The client processes' RSS, together, in MB. */
  readonly clientsRssMb: number;
  /** Sessions that ended during the rest period, and why. */
  readonly sessionsLost: number;
  readonly lossReasons: Record<string, number>;
  readonly leadership: LeadershipChanges;
}

const HOST = join(import.meta.dirname, 'idle-session-host.js');
const SETTLE_MS = 2_000;

function nextMessage<T>(host: ChildProcess, kind: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { kind: string }) => {
      if (message.kind !== kind) return;
      host.off('message', onMessage);
      host.off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null) => reject(new Error(`an idle-session host exited (code ${code})`));
    host.on('message', onMessage);
    host.once('exit', onExit);
  });
}

async function report(hosts: readonly ChildProcess[]): Promise<IdleHostReport[]> {
  return Promise.all(
    hosts.map((host) => {
      const answered = nextMessage<IdleHostReport>(host, 'report');
      host.send({ kind: 'report' } satisfies IdleHostRequest);
      return answered;
    }),
  );
}

export async function measureIdleSessions(options: ScaleOptions, basePort: number): Promise<IdleSessionsRow> {
  const cluster = await ScaleCluster.start({
    nodes: options.nodes,
    basePort,
    serveArgs: ['--log-level', options.nodeOutput ? 'info' : 'warn', '--preemption', options.preemption],
    onOutput: options.nodeOutput ? (node, line) => console.error(`[${node.id}] ${line}`) : undefined,
  });
  const processes = Math.ceil(options.idleSessions / options.idleSessionsPerProcess);
  const hosts: ChildProcess[] = [];
  try {
    const mark = await cluster.markLeadership();
    const started = performance.now();
    const opened: IdleHostOpened[] = await Promise.all(
      Array.from({ length: processes }, (_, i) => {
        const count = Math.floor(options.idleSessions / processes) + (i < options.idleSessions % processes ? 1 : 0);
        const host = fork(HOST, [cluster.endpoints.join(','), String(count), `idle-${i}`], { stdio: 'inherit' });
        hosts.push(host);
        return nextMessage<IdleHostOpened>(host, 'opened');
      }),
    );
    const openMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const lostBefore = (await report(hosts)).reduce((sum, each) => sum + each.lost, 0);
    const leaderPid = await cluster.leaderPid();
    const pids = [leaderPid, ...hosts.map((host) => host.pid!)];
    const cpuBefore = await Promise.all(pids.map(cpuMsOf));
    const restStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, options.restMs));
    const cpuAfter = await Promise.all(pids.map((pid) => cpuMsOf(pid).catch(() => Number.NaN)));
    const restMs = performance.now() - restStarted;
    const percent = (i: number) => (cpuAfter[i]! - cpuBefore[i]!) / (restMs / 100);
    const [rssMb, ...clientsRss] = await Promise.all(pids.map((pid) => rssMbOf(pid).catch(() => Number.NaN)));
    const after = await report(hosts);
    const lossReasons: Record<string, number> = {};
    for (const each of after) {
      for (const [reason, count] of Object.entries(each.lossReasons)) {
        lossReasons[reason] = (lossReasons[reason] ?? 0) + count;
      }
    }
    return {
      nodes: options.nodes,
      sessions: options.idleSessions,
      processes,
      openFailures: options.idleSessions - opened.reduce((sum, each) => sum + each.opened, 0),
      openError: opened.find((each) => each.error !== null)?.error ?? null,
      openMs,
      restCpuPercent: percent(0),
      clientsCpuPercent: hosts.reduce((sum, _, i) => sum + percent(i + 1), 0),
      rssMb: rssMb!,
      clientsRssMb: clientsRss.reduce((sum, each) => sum + each, 0),
      sessionsLost: after.reduce((sum, each) => sum + each.lost, 0) - lostBefore,
      lossReasons,
      leadership: await cluster.leaderChangesSince(mark),
    };
  } finally {
    await Promise.all(
      hosts.map(async (host) => {
        if (host.exitCode !== null || host.signalCode !== null) return;
        const exited = once(host, 'exit');
        host.send({ kind: 'close' } satisfies IdleHostRequest);
        const timer = setTimeout(() => host.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await cluster.close();
  }
}
