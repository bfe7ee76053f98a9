// `forelock bench`: acquire+release pairs/s and acquire latency, uncontended (many locks) and contended (one lock), or
// with --idle-sessions the leader's CPU holding N idle sessions; a progress display on stderr, a table on stdout.
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Presets, SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AuthOptions } from '../../client/auth-token.js';
import type { Client } from '../../client/client.js';
import type { TlsOptions } from '../../security/client-tls.js';
import {
  type CpuResult,
  closeAll,
  leaderCounters,
  leaderMetricsUrl,
  measureLeaderCpu,
  openSessions,
  type PairsResult,
  type PhaseProgress,
  runPairs,
} from '../bench-runner.js';
import {
  type ClientFlags,
  durationFlag,
  endpointList,
  formatTable,
  runCommand,
  tlsFromFlags,
  toJson,
  withEndpoints,
} from '../client-options.js';
import { authFromFlags } from '../credentials.js';

interface BenchFlags extends ClientFlags {
  endpoints: string;
  /** The TLS material read from --tls-ca/--tls-cert/--tls-key (FORELOCK_TLS_*), if any. */
  tls?: TlsOptions;
  /** The credentials from --user (FORELOCK_PASSWORD, --password-stdin) or FORELOCK_AUTH_TOKEN, if any. */
  auth?: AuthOptions;
  clients: number;
  locks: number;
  duration: number;
  warmup: number;
  ttl: number;
  json?: string;
  idleSessions?: number;
  leaderHttp?: string;
  multiplex: boolean;
}

function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be a positive integer, got "${value}"`);
    return n;
  };
}

/** A progress bar on stderr that follows `read()` every 250 ms until `stop()`. */
function progressBar(label: string, total: number, read: () => { value: number; detail: string }) {
  const bar = new SingleBar(
    { format: `${label.padEnd(12)} [{bar}] {percentage}% | {detail}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0, { detail: '' });
  const timer = setInterval(() => {
    const { value, detail } = read();
    bar.update(Math.min(value, total), { detail });
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      const { value, detail } = read();
      bar.update(Math.min(value, total), { detail });
      bar.stop();
    },
  };
}

async function pairsPhase(
  scenario: string,
  clients: readonly Client[],
  locks: number,
  lockName: (clientIndex: number, iteration: number) => string,
  durationMs: number,
  leaderCpuSeconds: (() => Promise<number | null>) | undefined,
): Promise<PairsResult> {
  const progress: PhaseProgress = { pairs: 0, errors: 0 };
  const startedAt = performance.now();
  const bar = progressBar(scenario, durationMs, () => {
    const elapsedMs = performance.now() - startedAt;
    const rate = (progress.pairs * 1_000) / Math.max(1, elapsedMs);
    return { value: elapsedMs, detail: `${progress.pairs} pairs, ${rate.toFixed(0)}/s, ${progress.errors} errors` };
  });
  try {
    return await runPairs(scenario, clients, locks, lockName, durationMs, progress, leaderCpuSeconds);
  } finally {
    bar.stop();
  }
}

/** The results table of the pairs phases. */
export function formatPairs(results: readonly PairsResult[]): string {
  return formatTable(
    [
      'SCENARIO',
      'CLIENTS',
      'LOCKS',
      'PAIRS',
      'PAIRS/S',
      'P50 ACQUIRE',
      'P99 ACQUIRE',
      'ERRORS',
      'LEADER CPU/PAIR',
      'CLIENT CPU/PAIR',
    ],
    results.map((r) => [
      r.scenario,
      String(r.clients),
      String(r.locks),
      String(r.pairs),
      r.pairsPerSecond.toFixed(0),
      `${r.acquireP50Ms.toFixed(2)} ms`,
      `${r.acquireP99Ms.toFixed(2)} ms`,
      String(r.errors),
      r.leaderCpuUsPerPair === null ? '-' : `${r.leaderCpuUsPerPair.toFixed(0)} µs`,
      `${r.clientCpuUsPerPair.toFixed(0)} µs`,
    ]),
  );
}

/** The results table of the idle-sessions measurement. */
export function formatCpu(results: readonly CpuResult[]): string {
  return formatTable(
    ['SCENARIO', 'SESSIONS', 'KEEPALIVES/S', 'WINDOW', 'LEADER CPU (% OF ONE CORE)'],
    results.map((r) => [
      r.scenario,
      String(r.sessions),
      r.keepalivesPerSecond.toFixed(0),
      `${(r.windowMs / 1_000).toFixed(1)} s`,
      `${r.leaderCpuPercent.toFixed(1)}%`,
    ]),
  );
}

/**
 * Reads the leader's CPU seconds from its /metrics for the CPU per pair; when the leader's HTTP address cannot be
 * found or read, says so once on stderr and returns null readings (the column shows '-').
 */
async function leaderCpuReader(
  endpoints: readonly string[],
  leaderHttp: string | undefined,
  tls: TlsOptions | undefined,
  auth: AuthOptions | undefined,
): Promise<() => Promise<number | null>> {
  let warned = false;
  const warn = (why: string): null => {
    if (!warned) process.stderr.write(`note: leader CPU per pair not measured (${why}); see --leader-http\n`);
    warned = true;
    return null;
  };
  let url: string;
  try {
    url = await leaderMetricsUrl(endpoints, leaderHttp, tls, auth);
  } catch (error) {
    warn((error as Error).message);
    return async () => null;
  }
  return () =>
    leaderCounters(url).then(
      (counters) => counters.cpuSeconds,
      (error: Error) => warn(`${url}: ${error.cause instanceof Error ? error.cause.message : error.message}`),
    );
}

/** Opens `count` sessions named `clientName`-i (openSessions), showing their progress on a bar labelled `label`. */
async function openSessionsShowingProgress(
  label: string,
  endpoints: string[],
  count: number,
  clientName: string,
  flags: BenchFlags,
): Promise<Client[]> {
  const opened = { count: 0 };
  const bar = progressBar(label, count, () => ({ value: opened.count, detail: `${opened.count} sessions` }));
  try {
    return await openSessions(
      endpoints,
      count,
      flags.ttl,
      clientName,
      (n) => {
        opened.count = n;
      },
      undefined,
      flags.multiplex,
      flags.tls,
      flags.auth,
    );
  } finally {
    bar.stop();
  }
}

async function benchPairs(endpoints: string[], flags: BenchFlags): Promise<PairsResult[]> {
  const clients = await openSessionsShowingProgress('connect', endpoints, flags.clients, 'bench', flags);
  try {
    const leaderCpuSeconds = await leaderCpuReader(endpoints, flags.leaderHttp, flags.tls, flags.auth);
    const perClient = Math.max(1, Math.floor(flags.locks / flags.clients));
    // Client i only ever uses its own slice of the lock names, so no two clients contend.
    const uncontendedName = (i: number, n: number) => `bench/uncontended/${i * perClient + (n % perClient)}`;
    if (flags.warmup > 0) {
      // Not counted: lets the servers' and this process's JIT compile the hot paths before the measured phases.
      const warmup = await pairsPhase(
        'warmup',
        clients,
        perClient * flags.clients,
        uncontendedName,
        flags.warmup,
        undefined,
      );
      process.stderr.write(
        `warm-up: ${warmup.pairs} pairs in ${(warmup.elapsedMs / 1_000).toFixed(1)} s (not counted)\n`,
      );
    }
    const uncontended = await pairsPhase(
      'uncontended',
      clients,
      perClient * flags.clients,
      uncontendedName,
      flags.duration,
      leaderCpuSeconds,
    );
    const contended = await pairsPhase(
      'contended',
      clients,
      1,
      () => 'bench/contended',
      flags.duration,
      leaderCpuSeconds,
    );
    return [uncontended, contended];
  } finally {
    await closeAll(clients);
  }
}

async function benchIdle(endpoints: string[], flags: BenchFlags, sessions: number): Promise<CpuResult[]> {
  const metricsUrl = await leaderMetricsUrl(endpoints, flags.leaderHttp, flags.tls, flags.auth);
  process.stderr.write(`leader metrics: ${metricsUrl}\n`);
  const measure = (scenario: string, count: number) =>
    measureLeaderCpu(scenario, metricsUrl, count, flags.duration, (ms) => {
      const startedAt = performance.now();
      const bar = progressBar(scenario, ms, () => ({ value: performance.now() - startedAt, detail: 'measuring' }));
      return sleep(ms).finally(() => bar.stop());
    });
  const baseline = await measure('baseline', 0);
  const clients = await openSessionsShowingProgress('open', endpoints, sessions, 'bench-idle', flags);
  try {
    // Let every session settle into its keepalive rhythm before measuring.
    await sleep(flags.ttl / 3);
    const idle = await measure('idle', sessions);
    const lost = clients.filter((c) => c.session.signal.aborted).length;
    if (lost > 0) process.stderr.write(`warning: ${lost} of ${sessions} sessions ended during the measurement\n`);
    return [baseline, idle];
  } finally {
    await closeAll(clients);
  }
}

/** Registers `forelock bench`. */
export function registerBenchCommand(program: Command): void {
  withEndpoints(program.command('bench'))
    .description(
      'measure acquire+release pairs/s and acquire latency (uncontended over many locks, then contended on one), or with --idle-sessions the leader CPU holding N idle sessions',
    )
    .addOption(
      new Option('--clients <n>', 'concurrent clients (one session each)')
        .argParser(positiveInt('--clients'))
        .default(64),
    )
    .addOption(
      new Option('--locks <n>', 'distinct locks in the uncontended phase')
        .argParser(positiveInt('--locks'))
        .default(1000),
    )
    .addOption(durationFlag('--duration <duration>', 'length of each phase or measurement window', '10s'))
    .addOption(
      durationFlag(
        '--warmup <duration>',
        'uncontended pairs run first and not counted, before the pairs phases (0 to skip)',
        '2s',
      ),
    )
    .addOption(durationFlag('--ttl <duration>', 'session TTL (keepalives every TTL/3)', '10s'))
    .option('--json <file>', 'also write the results as JSON to this file')
    .addOption(
      new Option(
        '--idle-sessions <n>',
        "hold N idle sessions and report the leader's CPU (instead of pairs)",
      ).argParser(positiveInt('--idle-sessions')),
    )
    .option('--leader-http <host:port>', "the leader's HTTP address for /metrics (default: its gRPC port + 80)")
    .option(
      '--no-multiplex',
      'give every client a Session stream of its own instead of sharing one Sessions stream per endpoint',
    )
    .action((flags: BenchFlags) =>
      runCommand(async () => {
        const endpoints = endpointList(flags.endpoints);
        const tls = await tlsFromFlags(flags);
        if (tls !== undefined) flags.tls = tls;
        const auth = await authFromFlags(flags);
        if (auth !== undefined) flags.auth = auth;
        if (flags.idleSessions !== undefined) {
          const results = await benchIdle(endpoints, flags, flags.idleSessions);
          process.stdout.write(`${formatCpu(results)}\n`);
          if (flags.json) await writeFile(flags.json, `${toJson({ multiplex: flags.multiplex, idle: results })}\n`);
        } else {
          const results = await benchPairs(endpoints, flags);
          process.stdout.write(`${formatPairs(results)}\n`);
          if (flags.json) {
            await writeFile(
              flags.json,
              `${toJson({ warmupMs: flags.warmup, multiplex: flags.multiplex, pairs: results })}\n`,
            );
          }
        }
      }),
    );
}
