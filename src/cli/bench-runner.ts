// The client benchmark's workloads: acquire+release loops (uncontended over many locks, contended on one lock) and
// idle sessions with the leader's CPU read from its /metrics; latency percentiles.
import { AdminClient } from '../client/admin.js';
import type { AuthOptions } from '../client/auth-token.js';
import { type Client, connect } from '../client/client.js';
import { parseEndpoint } from '../client/endpoints.js';
import { percentile } from '../eval/stats.js';
import type { TlsOptions } from '../security/client-tls.js';

/** The outcome of one acquire+release phase. */
export interface PairsResult {
  readonly scenario: string;
  readonly clients: number;
  readonly locks: number;
  readonly pairs: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly pairsPerSecond: number;
  readonly acquireP50Ms: number;
  readonly acquireP99Ms: number;
  /** The leader's CPU time per pair, in µs (from its /metrics), or null when it could not be read. */
  readonly leaderCpuUsPerPair: number | null;
  /** This process's CPU time per pair, in µs (the clients' side). */
  readonly clientCpuUsPerPair: number;
}

/** The leader's CPU over one window. */
export interface CpuResult {
  readonly scenario: string;
  readonly sessions: number;
  /** Keepalives the leader answered per second over the window (its forelock_keepalives_total). */
  readonly keepalivesPerSecond: number;
  readonly windowMs: number;
  /** Leader CPU time over the window, as a percentage of one core. */
  readonly leaderCpuPercent: number;
}

/** Live counters a progress display reads while a phase runs. */
export interface PhaseProgress {
  pairs: number;
  errors: number;
}

/**
 * Runs acquire+release pairs on every client until `durationMs` passes; client `i`'s n-th lock is `lockName(i, n)`.
 * Latency counts from sending the acquire to the grant (queueing included). `leaderCpuSeconds`, when given, reads
 * the leader's CPU seconds (null if it cannot), before and after, for the CPU per pair.
 */
export async function runPairs(
  scenario: string,
  clients: readonly Client[],
  locks: number,
  lockName: (clientIndex: number, iteration: number) => string,
  durationMs: number,
  progress: PhaseProgress,
  leaderCpuSeconds?: () => Promise<number | null>,
): Promise<PairsResult> {
  const latenciesMs: number[] = [];
  const leaderBefore = (await leaderCpuSeconds?.()) ?? null;
  const clientBefore = process.cpuUsage();
  const startedAt = performance.now();
  const stopAt = startedAt + durationMs;
  await Promise.all(
    clients.map(async (client, clientIndex) => {
      for (let iteration = 0; performance.now() < stopAt; iteration++) {
        const sentAt = performance.now();
        try {
          const lock = await client.acquire(lockName(clientIndex, iteration), { waitMs: 60_000 });
          latenciesMs.push(performance.now() - sentAt);
          await lock.release();
          progress.pairs++;
        } catch {
          progress.errors++;
        }
      }
    }),
  );
  const elapsedMs = performance.now() - startedAt;
  const clientUsed = process.cpuUsage(clientBefore);
  const leaderAfter = leaderBefore === null ? null : ((await leaderCpuSeconds?.()) ?? null);
  const pairs = Math.max(1, progress.pairs);
  return {
    scenario,
    clients: clients.length,
    locks,
    pairs: progress.pairs,
    errors: progress.errors,
    elapsedMs,
    pairsPerSecond: (progress.pairs * 1_000) / elapsedMs,
    acquireP50Ms: percentile(latenciesMs, 0.5) ?? Number.NaN,
    acquireP99Ms: percentile(latenciesMs, 0.99) ?? Number.NaN,
    leaderCpuUsPerPair:
      leaderBefore === null || leaderAfter === null ? null : ((leaderAfter - leaderBefore) * 1e6) / pairs,
    clientCpuUsPerPair: (clientUsed.user + clientUsed.system) / pairs,
  };
}

/**
 * Opens `count` sessions, `batch` at a time, each under its own client name; calls `onOpened` as they open.
 * `multiplex` is connect()'s: share one Sessions stream per endpoint (the default), or a stream per session. With
 * `auth`, the clients log in once between them (connect() shares a login among clients with the same credentials).
 */
export async function openSessions(
  endpoints: readonly string[],
  count: number,
  ttlMs: number,
  namePrefix: string,
  onOpened: (opened: number) => void,
  batch = 500,
  multiplex = true,
  tls?: TlsOptions,
  auth?: AuthOptions,
): Promise<Client[]> {
  const clients: Client[] = [];
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    const opened = await Promise.all(
      Array.from({ length: size }, (_, i) =>
        connect({
          endpoints,
          ttlMs,
          name: `${namePrefix}-${start + i}`,
          connectTimeoutMs: 60_000,
          multiplex,
          ...(tls && { tls }),
          ...(auth && { auth }),
        }),
      ),
    );
    clients.push(...opened);
    onOpened(clients.length);
  }
  return clients;
}

/** Closes clients, `batch` at a time. */
export async function closeAll(clients: readonly Client[], batch = 200): Promise<void> {
  for (let start = 0; start < clients.length; start += batch) {
    await Promise.all(clients.slice(start, start + batch).map((c) => c.close().catch(() => {})));
  }
}

/** The leader's /metrics URL: `leaderHttp` if given, else the `forelock cluster` layout (HTTP port = gRPC port + 80). */
export async function leaderMetricsUrl(
  endpoints: readonly string[],
  leaderHttp?: string,
  tls?: TlsOptions,
  auth?: AuthOptions,
): Promise<string> {
  if (leaderHttp) return `http://${leaderHttp}/metrics`;
  const admin = new AdminClient({ endpoints, ...(tls && { tls }), ...(auth && { auth }) });
  try {
    const status = await admin.status();
    if (status.leaderAddress === '') throw new Error('the cluster has no leader; retry once it has elected one');
    const { host, port } = parseEndpoint(status.leaderAddress);
    return `http://${host}:${port + 80}/metrics`;
  } finally {
    admin.close();
  }
}

/** What the idle-sessions measurement reads from a node's /metrics. */
export interface LeaderCounters {
  /** prom-client's process_cpu_seconds_total. */
  readonly cpuSeconds: number;
  /** forelock_keepalives_total: keepalives the node answered. */
  readonly keepalives: number;
}

/** One sample (`name` with any labels) of Prometheus text, or throws naming the URL. */
function metricValue(text: string, name: string, metricsUrl: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  if (!match) throw new Error(`${metricsUrl} has no ${name}`);
  return Number(match[1]);
}

/** The CPU seconds and answered keepalives a node reports on /metrics. */
export async function leaderCounters(metricsUrl: string): Promise<LeaderCounters> {
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${metricsUrl} answered ${response.status}`);
  const text = await response.text();
  return {
    cpuSeconds: metricValue(text, 'process_cpu_seconds_total', metricsUrl),
    keepalives: metricValue(text, 'forelock_keepalives_total', metricsUrl),
  };
}

/** Measures the leader's CPU and the keepalives it answered over `windowMs` with `sessions` sessions open. */
export async function measureLeaderCpu(
  scenario: string,
  metricsUrl: string,
  sessions: number,
  windowMs: number,
  wait: (ms: number) => Promise<void>,
): Promise<CpuResult> {
  const before = await leaderCounters(metricsUrl);
  const startedAt = performance.now();
  await wait(windowMs);
  const after = await leaderCounters(metricsUrl);
  const elapsedMs = performance.now() - startedAt;
  return {
    scenario,
    sessions,
    keepalivesPerSecond: ((after.keepalives - before.keepalives) * 1_000) / elapsedMs,
    windowMs: elapsedMs,
    leaderCpuPercent: ((after.cpuSeconds - before.cpuSeconds) * 1_000 * 100) / elapsedMs,
  };
}
