// Records a real trace for `forelock eval --trace`: a 3-node cluster of `forelock serve --record-trace` processes on
// 127.0.0.1, SDK clients in separate processes (scripts/trace-client.ts), and real faults injected while it runs:
// SIGSTOP/SIGCONT of a client (a GC pause), SIGKILL of a client (a crash), CPU hogs pinned to the leader's core
// (overload), and slow client links through the test-only fault hook (every node delays the frames of a named
// client). The leader's recorded trace gets `truth` lines labelled from this script's own fault log.
//
//   npm run build && npx tsx scripts/record-traces.ts --scenario gc-pauses --minutes 4 --out trace.jsonl.gz
//
// The nodes run with --preemption off, so the recorded keepalive rhythm is the plain TTL/3 one and no detector shapes
// the traffic. Slow links (`--scenario slow-links`) run the nodes with --test-fault-injection and ramp a client's
// delay through POST /test/faults {client, delayMs, jitterMs}. Every process started is stopped on exit, error or
// SIGINT; a run is bounded in time.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildGroundTruth } from '../src/eval/ground-truth.js';
import type { TruthEvent } from '../src/eval/trace.js';
import { parseTrace } from '../src/eval/trace-reader.js';
import type { StatusJson } from '../src/server/wire.js';
import { SeededRng } from '../src/util/rng.js';

type Scenario = 'gc-pauses' | 'crashes' | 'overload' | 'slow-links';

interface RunOptions {
  readonly scenario: Scenario;
  readonly durationMs: number;
  readonly sessions: number;
  readonly out: string;
  readonly seed: number;
}

/** One fault as injected, in epoch ms (the clock the trace's `t` uses: same machine). */
type Fault =
  | { readonly kind: 'pause'; readonly session: string; readonly startMs: number; endMs: number }
  | { readonly kind: 'crash'; readonly session: string; readonly atMs: number }
  | { readonly kind: 'overload'; readonly startMs: number; endMs: number; readonly hogs: number }
  | {
      readonly kind: 'slow-link';
      /** Every session the client had while its link was slow (it may reconnect with a new one). */
      readonly sessions: Set<string>;
      readonly startMs: number;
      endMs: number;
    };

/** A truth line, as the trace format has it. */
type Truth = TruthEvent;

const NODE_CLI = 'dist/src/cli/main.js';
const CLIENT = 'scripts/trace-client.ts';
const TTL_MS = 10_000;
/** Clients run this long before the first fault, and the run ends this long after the last. */
const WARMUP_MS = 20_000;
const COOLDOWN_MS = 25_000;

function parseArgs(argv: readonly string[]): RunOptions {
  const value = (flag: string, fallback?: string): string => {
    const index = argv.indexOf(flag);
    const found = index >= 0 ? argv[index + 1] : fallback;
    if (found === undefined) throw new Error(`record-traces: missing ${flag}`);
    return found;
  };
  const scenario = value('--scenario');
  if (scenario !== 'gc-pauses' && scenario !== 'crashes' && scenario !== 'overload' && scenario !== 'slow-links') {
    throw new Error('record-traces: --scenario must be gc-pauses, crashes, overload or slow-links');
  }
  const minutes = Number(value('--minutes', '4'));
  const sessions = Number(value('--sessions', '14'));
  if (!(minutes >= 1 && minutes <= 10)) throw new Error('record-traces: --minutes must be 1-10');
  if (!(Number.isInteger(sessions) && sessions >= 2 && sessions <= 40))
    throw new Error('record-traces: --sessions must be 2-40');
  return {
    scenario,
    durationMs: minutes * 60_000,
    sessions,
    out: value('--out', `${scenario}.jsonl.gz`),
    seed: Number(value('--seed', '1')),
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function log(message: string): void {
  process.stderr.write(`[record-traces ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Every child process this script started, stopped on the way out whatever happens. */
class Processes {
  private readonly children = new Set<ChildProcess>();

  spawn(executable: string, args: readonly string[], onLine?: (line: string) => void): ChildProcess {
    const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    let pending = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line !== '') onLine?.(line);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim() !== '') log(`child ${child.pid}: ${line.slice(0, 300)}`);
    });
    return child;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops everything still running: SIGKILL after 10 s at most. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((child) => this.stop(child, 'SIGTERM', 10_000)));
  }
}

interface ClientProcess {
  readonly name: string;
  readonly child: ChildProcess;
  session: string | null;
  paused: boolean;
  dead: boolean;
  /** Whether it holds a lock now (as it last reported). */
  holding: boolean;
}

/** Runs one recording and returns the labelled trace's text. */
async function record(options: RunOptions, processes: Processes, workDir: string): Promise<string> {
  const rng = new SeededRng(options.seed);
  const ids = ['node1', 'node2', 'node3'];
  const listen = new Map<string, string>();
  const http = new Map<string, string>();
  for (const id of ids) {
    listen.set(id, `127.0.0.1:${await freePort()}`);
    http.set(id, `127.0.0.1:${await freePort()}`);
  }
  const peers = ids.map((id) => `${id}=${listen.get(id)}`).join(',');
  const nodes = new Map<string, ChildProcess>();
  for (const id of ids) {
    const args = [NODE_CLI, 'serve', '--id', id, '--listen', listen.get(id)!, '--http', http.get(id)!];
    args.push('--data', join(workDir, id), '--peers', peers, '--preemption', 'off', '--log-level', 'warn');
    args.push('--record-trace', join(workDir, `${id}.jsonl`));
    // The test-only fault hook delays a named client's frames (POST /test/faults {client, delayMs, jitterMs}).
    if (options.scenario === 'slow-links') args.push('--test-fault-injection');
    nodes.set(id, processes.spawn(process.execPath, args));
  }
  const leaderId = await waitForLeader(ids, http);
  log(`cluster up, leader ${leaderId}`);
  const endpoints = [...listen.values()].join(',');

  const clients: ClientProcess[] = [];
  let clientCount = 0;
  const startClient = (role: 'worker' | 'leader'): ClientProcess => {
    clientCount += 1;
    const name = `${role}-${clientCount}`;
    const args = ['--import', 'tsx', CLIENT, '--endpoints', endpoints, '--name', name, '--role', role];
    args.push('--seed', String(options.seed * 1000 + clientCount));
    let client: ClientProcess | undefined;
    const child = processes.spawn(process.execPath, args, (line) => {
      try {
        const report = JSON.parse(line) as { session?: string; holding?: boolean };
        if (client === undefined) return;
        if (report.session !== undefined) client.session = report.session;
        if (report.holding !== undefined) client.holding = report.holding;
      } catch {
        log(`${name}: ${line}`);
      }
    });
    client = { name, child, session: null, paused: false, dead: false, holding: false };
    client.child.on('exit', () => {
      client.dead = true;
    });
    clients.push(client);
    return client;
  };
  const leaders = Math.max(1, Math.round(options.sessions / 5));
  for (let i = 0; i < options.sessions; i++) {
    startClient(i < leaders ? 'leader' : 'worker');
    await sleep(300);
  }
  const deadline = Date.now() + 120_000;
  while (clients.some((client) => client.session === null)) {
    if (Date.now() > deadline) throw new Error('clients did not all open a session within 120 s');
    await sleep(200);
  }
  log(`${clients.length} clients connected`);

  let leaderPid: number | undefined;
  let hogCpu = '0';
  if (options.scenario === 'overload') {
    leaderPid = nodes.get(leaderId)!.pid;
    // Pin the leader to one core so that the hogs really compete with it.
    if (leaderPid !== undefined && spawnSync('taskset', ['-cp', hogCpu, String(leaderPid)]).status !== 0) {
      log('taskset is not available: the hogs are not pinned');
      hogCpu = '';
    }
  }

  const faults: Fault[] = [];
  const live = (): ClientProcess[] => clients.filter((c) => !c.dead && !c.paused && c.session !== null);
  /** A live client, most often one that holds a lock now (a fault on an idle session is not an episode). */
  const victim = (): ClientProcess | undefined => {
    const candidates = live();
    const holding = candidates.filter((c) => c.holding);
    const from = holding.length > 0 && rng.chance(0.8) ? holding : candidates;
    return from.length > 0 ? rng.pick(from) : undefined;
  };
  const pauseClient = async (client: ClientProcess, durationMs: number): Promise<void> => {
    const fault = { kind: 'pause' as const, session: client.session!, startMs: Date.now(), endMs: 0 };
    client.paused = true;
    client.child.kill('SIGSTOP');
    faults.push(fault);
    log(`pause ${client.name} (${fault.session.slice(0, 8)}) for ${(durationMs / 1000).toFixed(1)} s`);
    await sleep(durationMs);
    client.child.kill('SIGCONT');
    fault.endMs = Date.now();
    client.paused = false;
  };
  const crashClient = (client: ClientProcess): void => {
    faults.push({ kind: 'crash', session: client.session!, atMs: Date.now() });
    client.child.kill('SIGKILL');
    client.dead = true;
    log(`crash ${client.name} (${client.session!.slice(0, 8)})`);
    const role = client.name.startsWith('leader') ? 'leader' : 'worker';
    setTimeout(() => startClient(role), 3_000);
  };
  const overload = async (durationMs: number, hogs: number): Promise<void> => {
    const fault = { kind: 'overload' as const, startMs: Date.now(), endMs: 0, hogs };
    faults.push(fault);
    log(`overload: ${hogs} hogs for ${(durationMs / 1000).toFixed(1)} s`);
    const hogArgs = ['-e', 'const end = Date.now() + Number(process.argv[1]); while (Date.now() < end) {}'];
    const started = Array.from({ length: hogs }, () =>
      hogCpu === ''
        ? processes.spawn(process.execPath, [...hogArgs, String(durationMs)])
        : processes.spawn('taskset', ['-c', hogCpu, process.execPath, ...hogArgs, String(durationMs)]),
    );
    await sleep(durationMs);
    await Promise.all(started.map((child) => processes.stop(child, 'SIGKILL', 1_000)));
    fault.endMs = Date.now();
  };

  /** Every node delays `client`'s frames by `delayMs` (+10% jitter): the client's link is slow, both ways. */
  const setLinkDelay = async (client: ClientProcess, delayMs: number): Promise<void> => {
    const body = JSON.stringify({
      client: client.name,
      delayMs: Math.round(delayMs),
      jitterMs: Math.round(delayMs / 10),
    });
    await Promise.all(
      [...http.values()].map((address) =>
        fetch(`http://${address}/test/faults`, { method: 'POST', body }).then(
          (response) => response.text(),
          (error: unknown) => log(`fault hook at ${address}: ${(error as Error).message}`),
        ),
      ),
    );
  };
  /** A link that degrades to `peakMs` of delay over `rampMs`, stays there for `holdMs`, then recovers (or not). */
  const slowLink = async (
    client: ClientProcess,
    peakMs: number,
    rampMs: number,
    holdMs: number,
    recovers: boolean,
  ): Promise<void> => {
    const fault = { kind: 'slow-link' as const, sessions: new Set([client.session!]), startMs: Date.now(), endMs: 0 };
    const noteSession = (): void => {
      if (client.session !== null) fault.sessions.add(client.session);
    };
    faults.push(fault);
    log(
      `slow link ${client.name} (${client.session!.slice(0, 8)}): to ${(peakMs / 1000).toFixed(1)} s over ${(rampMs / 1000).toFixed(0)} s`,
    );
    for (let elapsedMs = 0; elapsedMs < rampMs; elapsedMs += 1_000) {
      await setLinkDelay(client, (peakMs * elapsedMs) / rampMs);
      await sleep(1_000);
      noteSession();
    }
    await setLinkDelay(client, peakMs);
    for (let heldMs = 0; heldMs < holdMs; heldMs += 1_000) {
      await sleep(1_000);
      noteSession();
    }
    if (recovers) await setLinkDelay(client, 0);
    fault.endMs = recovers ? Date.now() : Number.POSITIVE_INFINITY;
  };

  await sleep(WARMUP_MS);
  const faultsEndMs = Date.now() + options.durationMs - WARMUP_MS - COOLDOWN_MS;
  const running: Promise<void>[] = [];
  let index = 0;
  while (Date.now() < faultsEndMs) {
    index += 1;
    if (options.scenario === 'gc-pauses') {
      const client = victim();
      // A third short (0.3-3 s), a third around the renewal (3-9 s), a third past the 10 s TTL (11-25 s).
      const band = rng.int(0, 2);
      const durationMs =
        band === 0 ? rng.uniform(300, 3_000) : band === 1 ? rng.uniform(3_000, 9_000) : rng.uniform(11_000, 25_000);
      if (client !== undefined) running.push(pauseClient(client, durationMs));
      await sleep(rng.uniform(8_000, 16_000));
    } else if (options.scenario === 'crashes') {
      const client = victim();
      // Crashes among short pauses: every third fault is a pause of 0.3-6 s.
      if (client !== undefined && index % 3 === 0) running.push(pauseClient(client, rng.uniform(300, 6_000)));
      else if (client !== undefined) crashClient(client);
      await sleep(rng.uniform(12_000, 20_000));
    } else if (options.scenario === 'slow-links') {
      const client = victim();
      // Links that slow down to 0.5-12 s of delay over 10-40 s; two in three recover after 10-20 s at the peak.
      const peakMs = rng.uniform(500, 12_000);
      const recovers = rng.chance(2 / 3);
      if (client !== undefined) {
        running.push(slowLink(client, peakMs, rng.uniform(10_000, 40_000), rng.uniform(10_000, 20_000), recovers));
      }
      await sleep(rng.uniform(10_000, 20_000));
    } else {
      const hogs = rng.int(2, 4);
      await overload(rng.uniform(5_000, 15_000), hogs);
      // One crash in the middle of the run, as a real incident mix would have.
      const client = index === 3 ? victim() : undefined;
      if (client !== undefined) crashClient(client);
      await sleep(rng.uniform(12_000, 25_000));
    }
  }
  await Promise.all(running);
  await sleep(Math.max(0, faultsEndMs + COOLDOWN_MS - Date.now()));
  log(`faults: ${faults.length}; stopping clients, then nodes`);
  await Promise.all(clients.map((client) => processes.stop(client.child, 'SIGTERM', 10_000)));
  await Promise.all([...nodes.values()].map((child) => processes.stop(child, 'SIGTERM', 15_000)));

  return label(await leaderTrace(ids, workDir), faults, options.scenario);
}

async function waitForLeader(ids: readonly string[], http: ReadonlyMap<string, string>): Promise<string> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    for (const id of ids) {
      try {
        const response = await fetch(`http://${http.get(id)}/v1/status`, { signal: AbortSignal.timeout(1_000) });
        const status = (await response.json()) as StatusJson;
        if (status.leader !== null && status.leader !== undefined && status.leader !== '') return status.leader;
      } catch {
        // Not up yet.
      }
    }
    if (Date.now() > deadline) throw new Error('no leader within 90 s');
    await sleep(250);
  }
}

/** The recorded trace of the node that led (the one with keepalives); warns when the leadership moved. */
async function leaderTrace(ids: readonly string[], workDir: string): Promise<string> {
  const recorded = await Promise.all(
    ids.map(async (id) => {
      const text = await readFile(join(workDir, `${id}.jsonl`), 'utf8').catch(() => '');
      return { id, text, keepalives: text.split('"type":"keepalive"').length - 1 };
    }),
  );
  recorded.sort((a, b) => b.keepalives - a.keepalives);
  if ((recorded[1]?.keepalives ?? 0) > 0) log(`warning: the leadership moved; ${recorded[1]!.id} recorded too`);
  if (existsSync(join(workDir, `${recorded[0]!.id}.jsonl.1`)))
    log('warning: the trace rotated; only the last file is kept');
  return recorded[0]!.text;
}

/** Adds the truth lines of `faults` to `text` (merged in `t` order) and names the trace after the scenario. */
export function label(text: string, faults: readonly Fault[], scenario: Scenario): string {
  const lines = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown> & { t: number; type: string });
  const [header, ...events] = lines;
  if (header === undefined) throw new Error('the leader recorded nothing');
  const openedAt = new Map<string, number>();
  const ttl = new Map<string, number>();
  const closedAt = new Map<string, number>();
  const keepalives = new Map<string, number[]>();
  const holds: { session: string; from: number; to: number }[] = [];
  const held = new Map<string, number>();
  for (const event of events) {
    const session = event.session as string;
    if (event.type === 'session') {
      openedAt.set(session, event.t);
      ttl.set(session, event.ttl_ms as number);
      keepalives.set(session, [event.t]);
    } else if (event.type === 'keepalive') keepalives.get(session)?.push(event.t);
    else if (event.type === 'close') closedAt.set(session, event.t);
    else if (event.type === 'grant') held.set(`${session}\u0000${event.resource}`, event.t);
    else if (event.type === 'release') {
      const key = `${session}\u0000${event.resource}`;
      const from = held.get(key);
      if (from !== undefined) holds.push({ session, from, to: event.t });
      held.delete(key);
    }
  }
  const endMs = events.at(-1)?.t ?? 0;
  for (const [key, from] of held) holds.push({ session: key.split('\u0000')[0]!, from, to: endMs });

  const truths: Truth[] = [];
  for (const fault of faults) {
    if (fault.kind === 'crash') {
      if ((openedAt.get(fault.session) ?? Number.POSITIVE_INFINITY) > fault.atMs) continue;
      truths.push({ t: fault.atMs, type: 'truth', session: fault.session, fault: 'crash', stale_at: fault.atMs });
    } else if (fault.kind === 'pause') {
      if ((openedAt.get(fault.session) ?? Number.POSITIVE_INFINITY) > fault.startMs) continue;
      const closed = closedAt.get(fault.session);
      const expired = closed !== undefined && closed >= fault.startMs && closed <= fault.endMs + 2_000;
      const lastKeepalive = (keepalives.get(fault.session) ?? []).filter((t) => t <= fault.startMs).at(-1);
      const lapse = (lastKeepalive ?? fault.startMs) + (ttl.get(fault.session) ?? TTL_MS);
      truths.push(
        expired
          ? {
              t: fault.startMs,
              type: 'truth',
              session: fault.session,
              fault: 'gc-pause',
              stale_at: Math.max(lapse, fault.startMs),
            }
          : {
              t: fault.startMs,
              type: 'truth',
              session: fault.session,
              fault: 'gc-pause',
              stale_at: null,
              until: fault.endMs,
            },
      );
    } else if (fault.kind === 'slow-link') {
      // Each session the client had meanwhile: stale at its lapse if the server expired it while the link was slow
      // (or within a lease after), else transient until the link recovered (or the run ended).
      for (const session of [...fault.sessions].sort()) {
        const opened = openedAt.get(session);
        if (opened === undefined) continue;
        const closed = closedAt.get(session);
        const expired = closed !== undefined && closed >= fault.startMs && closed <= fault.endMs + TTL_MS;
        const base = { t: Math.max(fault.startMs, opened), type: 'truth' as const, session, fault: 'slow-link' };
        truths.push(
          expired
            ? { ...base, stale_at: closed }
            : { ...base, stale_at: null, until: Number.isFinite(fault.endMs) ? fault.endMs : endMs },
        );
      }
    } else {
      const sessions = new Set(
        holds.filter((hold) => hold.from <= fault.endMs && hold.to >= fault.startMs).map((hold) => hold.session),
      );
      for (const session of [...sessions].sort()) {
        const t = Math.max(fault.startMs, openedAt.get(session) ?? fault.startMs);
        truths.push({ t, type: 'truth', session, fault: 'server-overload', stale_at: null, until: fault.endMs });
      }
    }
  }
  // Merge: a truth line goes after the events of the same t (a stable sort of events, then truths).
  const merged: { t: number }[] = [...events, ...truths].sort((a, b) => a.t - b.t);
  const named = { ...header, name: `recorded-${scenario}` };
  return `${[named, ...merged].map((line) => JSON.stringify(line)).join('\n')}\n`;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(NODE_CLI))
    throw new Error(`${NODE_CLI} is missing: run npm run build first (from the repository root)`);
  const processes = new Processes();
  const workDir = await mkdtemp(join(tmpdir(), 'forelock-record-'));
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await processes.stopAll();
    await rm(workDir, { recursive: true, force: true });
  };
  const interrupted = (): void => {
    log('interrupted: stopping everything');
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  // A hard bound on the whole run: the recording, start-up and shutdown.
  const watchdog = setTimeout(() => {
    log('the run outlived its bound: stopping everything');
    void cleanup().finally(() => process.exit(1));
  }, options.durationMs + 240_000);
  try {
    const text = await record(options, processes, workDir);
    const trace = parseTrace(text, options.out);
    const truth = buildGroundTruth(trace);
    const sessions = trace.events.filter((event) => event.type === 'session').length;
    const faults = trace.events.filter((event) => event.type === 'truth').length;
    await writeFile(options.out, options.out.endsWith('.gz') ? gzipSync(text, { level: 9 }) : text);
    log(
      `${options.out}: ${sessions} sessions, ${faults} truth lines, ${truth.holds.length} holds, ` +
        `${truth.episodes.filter((episode) => episode.holdId !== null).length} of ${truth.episodes.length} episodes counted`,
    );
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
