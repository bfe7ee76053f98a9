// `forelock demo` end to end: an embedded 3-process cluster, the seeded clients, the live timeline, the summary,
// and the teardown (clients, processes, temp folder) however the run ends.
import { setMaxListeners } from 'node:events';
import type { ForelockCommand } from '../server/local-cluster.js';
import { runActor } from './actors.js';
import { startEmbeddedCluster } from './embedded-cluster.js';
import { FencedStore } from './fenced-store.js';
import type { DemoContext, OpenRequest } from './lock-watch.js';
import { RevocationWatch } from './revocation-watch.js';
import { DEMO_LOCKS, demoPlan } from './scenario.js';
import { type DemoEvent, type DemoSummary, describeEvent, formatOffset, formatSummary, Timeline } from './timeline.js';

/** How a demo runs. */
export interface DemoOptions {
  readonly durationMs: number;
  readonly seed: number;
  /** Where the readable output goes, one line per call. */
  readonly print: (line: string) => void;
  /** Aborting it (Ctrl-C) ends the run early; the cluster is torn down all the same. */
  readonly signal?: AbortSignal;
  /** How the cluster's `forelock serve` processes are run (default: the running CLI). */
  readonly command?: ForelockCommand;
  /** A `forelock serve --config` file every node also reads (checked by the caller); the demo's flags win. */
  readonly serveConfigFile?: string;
}

/** How long the cluster may take to elect its first leader, in ms. */
const LEADER_TIMEOUT_MS = 60_000;
/** How often the nodes' forced-revocation counters are read, in ms. */
const REVOCATION_POLL_MS = 200;

/** Runs the demo; resolves with its summary once everything it started is stopped and removed. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { print } = options;
  const plan = demoPlan(options.seed, options.durationMs);
  const roles = Object.fromEntries(plan.actors.map((actor) => [actor.name, actor.role]));
  const stopController = new AbortController();
  // Every client's waits and pauses listen to it.
  setMaxListeners(256, stopController.signal);
  const onOuterAbort = (): void => stopController.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let stopping = false;
  const embedded = await startEmbeddedCluster({
    ...(options.command === undefined ? {} : { command: options.command }),
    serveArgs: [
      '--log-level',
      'warn',
      '--preemption',
      'on',
      ...(options.serveConfigFile === undefined ? [] : ['--config', options.serveConfigFile]),
    ],
    events: {
      onExit: (node, code, signal) => {
        if (!stopping) print(`[${node.id}] exited unexpectedly (${signal ?? `code ${code}`})`);
      },
    },
  });
  try {
    print(`Forelock demo - seed ${plan.seed}, ${Math.round(plan.durationMs / 1_000)}s`);
    print(`3-node cluster (real Raft over loopback gRPC), data in ${embedded.dataDir}`);
    for (const node of embedded.nodes) print(`  ${node.id}  grpc ${node.listen}  http http://${node.http}`);
    const leader = await raceAbort(embedded.waitForLeader(LEADER_TIMEOUT_MS), stopController.signal);
    if (leader === null) return new Timeline().summary(plan.seed, 0, roles);
    print(`leader: ${leader.id}`);
    print('clients:');
    for (const actor of plan.actors) {
      const when =
        actor.role === 'steady' ? 'from the start' : `at ${formatOffset(actor.startMs).trim()} on ${actor.lock}`;
      print(`  ${actor.name.padEnd(20)} ${actor.role.padEnd(14)} ${when}`);
    }
    print('');
    print(
      "timeline (the steady clients' routine grants, and warnings they acknowledge and release, are counted, not shown):",
    );
    const startedAt = performance.now();
    const timeline = new Timeline((event: DemoEvent) => {
      if (!shown(event, roles)) return;
      print(`${formatOffset(event.atMs)}  ${describeEvent(event)}`);
    });
    const openRequests: OpenRequest[] = [];
    let watch: RevocationWatch | undefined;
    const ctx: DemoContext = {
      endpoints: embedded.endpoints,
      timeline,
      elapsedMs: () => performance.now() - startedAt,
      stop: stopController.signal,
      stores: new Map(DEMO_LOCKS.filter((lock) => lock.fenced).map((lock) => [lock.name, new FencedStore()])),
      openRequests,
      incidents: new Set(),
      revealRevocations: (atMs) => watch?.poll(atMs) ?? Promise.resolve(),
    };
    watch = new RevocationWatch(embedded.nodes, ctx);
    watch.start(REVOCATION_POLL_MS);
    const timer = setTimeout(() => stopController.abort(), plan.durationMs);
    const actors = plan.actors.map((actor) =>
      runActor(ctx, actor).catch((error: unknown) => {
        if (!stopController.signal.aborted) print(`${actor.name} failed: ${(error as Error).message}`);
        stopController.abort();
      }),
    );
    await Promise.all(actors);
    clearTimeout(timer);
    await watch.stop();
    const summary = timeline.summary(plan.seed, Math.round(ctx.elapsedMs()), roles);
    print('');
    print(formatSummary(summary));
    return summary;
  } finally {
    stopping = true;
    options.signal?.removeEventListener('abort', onOuterAbort);
    await embedded.destroy();
  }
}

/** Whether the live timeline shows `event`: everything but the steady clients' routine traffic. */
function shown(event: DemoEvent, roles: Readonly<Record<string, string>>): boolean {
  if (event.type === 'grant') return !event.routine;
  if (roles[event.client] !== 'steady') return true;
  return event.type !== 'warning' && event.type !== 'acknowledged' && event.type !== 'cooperative-release';
}

/** `promise`'s value, or null when `signal` aborts first. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | null> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      resolve(null);
      return;
    }
    const onAbort = (): void => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
