// Scale benchmark (issue 13): one `forelock serve` process, S SDK sessions in this process holding N locks spread
// evenly over them. Per size it prints the acquire rate while filling (per tenth of the fill), the leader's CPU and
// RSS at rest, the time of `forelock locks --json`, and what a restart of the node did to the sessions. It reports;
// it never fails on a figure (the timings belong here, the tests assert outcomes).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Client, connect } from '../src/client/client.js';
import type { Lock } from '../src/client/lock.js';
import { LocalCluster, type LocalNode } from '../src/server/local-cluster.js';

const { values } = parseArgs({
  options: {
    locks: { type: 'string', default: '1000,10000' },
    sessions: { type: 'string', default: '100' },
    preemption: { type: 'string', default: 'on' },
    'rest-ms': { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '256' },
    'base-port': { type: 'string', default: '7640' },
    'no-restart': { type: 'boolean', default: false },
    'node-output': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const lockCounts = values.locks!.split(',').map(Number);
const sessionCount = Number(values.sessions);
const restMs = Number(values['rest-ms']);
const concurrency = Number(values.concurrency);
const basePort = Number(values['base-port']);
const preemption = values.preemption!;
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
/** How long the sessions get to come back after a restart before those still away count as lost. */
const RESUME_DEADLINE_MS = 60_000;

interface Row {
  readonly locks: number;
  readonly sessions: number;
  readonly preemption: string;
  /** Grants per second over each tenth of the fill. */
  readonly fillRatesPerSecond: number[];
  readonly fillErrors: number;
  readonly restCpuPercent: number;
  readonly rssMb: number;
  readonly listMs: number;
  /** `ok`, or the first line of the command's error. */
  readonly listOutcome: string;
  readonly restart: RestartOutcome | null;
}

interface RestartOutcome {
  /** From the restarted process's start until its /healthz answers 200. */
  readonly readyMs: number;
  /** From the start until every session is connected again or lost (or the deadline passed). */
  readonly settledMs: number;
  readonly sessionsResumed: number;
  readonly sessionsLost: number;
  readonly locksKept: number;
  readonly locksLost: number;
  /** Leader CPU from the restart until the sessions settled, in ms. */
  readonly cpuMs: number;
  /** Why the lost sessions ended, with how many ended so. */
  readonly lossReasons: Record<string, number>;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU of process `pid`, in ms (from /proc). */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size of process `pid`, in MB. */
async function rssMbOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  return kb / 1024;
}

async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, pollMs = 100): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return false;
}

async function healthy(node: LocalNode): Promise<boolean> {
  try {
    const response = await fetch(`http://${node.http}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Runs `forelock locks --json` and times it. */
function timeLocksCommand(endpoint: string): Promise<{ ms: number; outcome: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'locks', '--json', '--endpoints', endpoint],
      { maxBuffer: 1 << 30 },
      (error, _stdout, stderr) => {
        const ms = performance.now() - started;
        const firstLine = `${stderr}`.split('\n').find((line) => line.trim() !== '') ?? String(error?.message);
        resolve({ ms, outcome: error === null ? 'ok' : `fails: ${firstLine.slice(0, 120)}` });
      },
    );
  });
}

class NodeUnderTest {
  readonly node: LocalNode;
  private readonly cluster: LocalCluster;

  constructor(dataDir: string, index: number) {
    const port = basePort + index * 2;
    this.node = { id: 'node1', listen: `127.0.0.1:${port}`, http: `127.0.0.1:${port + 1}` };
    const started = performance.now();
    this.cluster = new LocalCluster(
      [this.node],
      dataDir,
      { executable: process.execPath, args: [CLI] },
      ['--log-level', values['node-output'] ? 'info' : 'warn', '--preemption', preemption],
      {
        onOutput: (_node, line) => {
          if (values['node-output'])
            console.error(`[node +${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`);
        },
      },
    );
  }

  async start(): Promise<void> {
    this.cluster.start(this.node);
    if (!(await until(() => healthy(this.node), 30_000))) throw new Error('the node did not become ready in 30 s');
  }

  get pid(): number {
    const pid = (this.cluster as unknown as { children: Map<string, { pid?: number }> }).children.get(
      this.node.id,
    )?.pid;
    if (pid === undefined) throw new Error('the node is not running');
    return pid;
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return this.cluster.stop(this.node, signal);
  }

  startAgain(): void {
    this.cluster.start(this.node);
  }
}

async function fill(
  clients: readonly Client[],
  locks: number,
  held: Lock[][],
): Promise<{ rates: number[]; errors: number }> {
  const rates: number[] = [];
  let next = 0;
  let errors = 0;
  let tenthStarted = performance.now();
  let granted = 0;
  // A tenth of the fill, but at least a few rounds of the acquires in flight (their grants arrive in batches).
  const tenth = Math.max(4 * concurrency, Math.floor(locks / 10));
  const worker = async (): Promise<void> => {
    for (;;) {
      const n = next++;
      if (n >= locks) return;
      const sessionIndex = n % clients.length;
      try {
        const lock = await clients[sessionIndex]!.acquire(`scale/${n}`, { waitMs: 0 });
        held[sessionIndex]!.push(lock);
      } catch {
        errors++;
      }
      granted++;
      // The last, partial tenth is measured after the loop (when it is large enough to mean something).
      if (granted % tenth === 0) {
        const now = performance.now();
        rates.push((tenth * 1000) / (now - tenthStarted));
        tenthStarted = now;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (granted % tenth >= concurrency) rates.push(((granted % tenth) * 1000) / (performance.now() - tenthStarted));
  return { rates, errors };
}

async function restartAndWatch(
  nut: NodeUnderTest,
  clients: readonly Client[],
  held: Lock[][],
): Promise<RestartOutcome> {
  await nut.stop('SIGTERM');
  const started = performance.now();
  nut.startAgain();
  const pid = nut.pid;
  let readyMs = Number.NaN;
  const settled = await until(async () => {
    if (Number.isNaN(readyMs) && (await healthy(nut.node))) readyMs = performance.now() - started;
    return clients.every((client) => client.session.signal.aborted || client.session.connectedTo !== null);
  }, RESUME_DEADLINE_MS);
  const settledMs = performance.now() - started;
  const cpuMs = await cpuMsOf(pid).catch(() => Number.NaN);
  // Whatever a resume found missing is lost by the time the session is connected again.
  let locksKept = 0;
  let locksLost = 0;
  for (const locks of held) {
    for (const lock of locks) {
      if (lock.signal.aborted) locksLost++;
      else locksKept++;
    }
  }
  const sessionsLost = clients.filter((client) => client.session.signal.aborted).length;
  const lossReasons: Record<string, number> = {};
  for (const client of clients) {
    if (!client.session.signal.aborted) continue;
    const reason = String((client.session.signal.reason as Error | undefined)?.message ?? 'unknown');
    lossReasons[reason] = (lossReasons[reason] ?? 0) + 1;
  }
  return {
    readyMs,
    settledMs: settled ? settledMs : Number.POSITIVE_INFINITY,
    sessionsResumed: clients.filter((client) => !client.session.signal.aborted && client.session.connectedTo !== null)
      .length,
    sessionsLost,
    locksKept,
    locksLost,
    cpuMs,
    lossReasons,
  };
}

async function measure(locks: number, index: number): Promise<Row> {
  const dataDir = await mkdtemp(join(tmpdir(), 'forelock-scale-'));
  const nut = new NodeUnderTest(dataDir, index);
  const clients: Client[] = [];
  try {
    await nut.start();
    for (let i = 0; i < sessionCount; i++) {
      clients.push(await connect({ endpoints: [nut.node.listen], name: `scale-${i}` }));
    }
    const held: Lock[][] = clients.map(() => []);
    const filled = await fill(clients, locks, held);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const cpuBefore = await cpuMsOf(nut.pid);
    await new Promise((resolve) => setTimeout(resolve, restMs));
    const restCpuPercent = ((await cpuMsOf(nut.pid)) - cpuBefore) / (restMs / 100);
    const rssMb = await rssMbOf(nut.pid);
    const listed = await timeLocksCommand(nut.node.listen);
    const restart = values['no-restart'] ? null : await restartAndWatch(nut, clients, held);
    return {
      locks,
      sessions: sessionCount,
      preemption,
      fillRatesPerSecond: filled.rates,
      fillErrors: filled.errors,
      restCpuPercent,
      rssMb,
      listMs: listed.ms,
      listOutcome: listed.outcome,
      restart,
    };
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await nut.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
}

const loadBefore = loadavg()[0]!;
const rows: Row[] = [];
for (const [index, locks] of lockCounts.entries()) rows.push(await measure(locks, index));

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';
console.log(
  `Scale benchmark: one node (forelock serve, --preemption ${preemption}), ${sessionCount} SDK sessions in one ` +
    `process, ${concurrency} acquires in flight, ${restMs} ms at rest`,
);
console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; ` +
    `1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after\n`,
);
console.log(
  '| held locks | acquire rate while filling (min-max per tenth) | leader CPU at rest | leader RSS | `locks --json` | ' +
    'restart: ready | restart: sessions resumed / lost | restart: locks kept / lost | restart: leader CPU |',
);
console.log('|---:|---|---:|---:|---|---:|---|---|---:|');
for (const row of rows) {
  const rates = row.fillRatesPerSecond;
  const restart = row.restart;
  console.log(
    `| ${fmt(row.locks)} | ${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}/s` +
      `${row.fillErrors > 0 ? ` (${row.fillErrors} errors)` : ''} | ${fmt(row.restCpuPercent, 1)}% | ` +
      `${fmt(row.rssMb)} MB | ${row.listOutcome === 'ok' ? `${fmt(row.listMs / 1000, 2)} s` : row.listOutcome} | ` +
      (restart === null
        ? '– | – | – | – |'
        : `${fmt(restart.readyMs / 1000, 1)} s | ${restart.sessionsResumed} / ${restart.sessionsLost} | ` +
          `${fmt(restart.locksKept)} / ${fmt(restart.locksLost)} | ${fmt(restart.cpuMs / 1000, 1)} s |`),
  );
}
for (const row of rows) {
  for (const [reason, count] of Object.entries(row.restart?.lossReasons ?? {})) {
    console.log(`${fmt(row.locks)} held: ${count} session(s) lost: ${reason}`);
  }
}
if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(rows, null, 2)}\n`);
process.exit(0);
