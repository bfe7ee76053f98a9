// The distinct-names run of the scale benchmark: S sessions acquire and release N lock names never used before, in
// waves (a wave is acquired, then released, by the same sessions), while the leader's RSS is sampled. It reports the
// RSS before, at the peak, and after a rest with nothing held: whatever per-name state the cluster keeps once a name
// is released shows as what RSS does not give back. Nothing is forced (the nodes expose no GC trigger).
import type { Client } from '../src/client/client.js';
import type { Lock } from '../src/client/lock.js';
import type { LeadershipChanges } from './leadership-watch.js';
import { PeakRssSampler, rssMbOf } from './process-usage.js';
import { ScaleCluster } from './scale-cluster.js';
import { connectSessions, runTimed } from './scale-load.js';
import type { ScaleOptions } from './scale-options.js';

export interface DistinctNamesRow {
  readonly nodes: number;
  readonly names: number;
  readonly sessions: number;
  readonly wave: number;
  /** The leader's RSS in MB: settled before the first acquire, the largest sampled, and after the rest. */
  readonly rssBeforeMb: number;
  readonly rssPeakMb: number;
  readonly rssAfterMb: number;
  /** Names acquired and released per second, over the whole run. */
  readonly namesPerSecond: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly leadership: LeadershipChanges;
}

const SETTLE_MS = 2_000;

export async function measureDistinctNames(options: ScaleOptions, basePort: number): Promise<DistinctNamesRow> {
  const cluster = await ScaleCluster.start({
    nodes: options.nodes,
    basePort,
    serveArgs: ['--log-level', options.nodeOutput ? 'info' : 'warn', '--preemption', options.preemption],
    onOutput: options.nodeOutput ? (node, line) => console.error(`[${node.id}] ${line}`) : undefined,
  });
  let clients: Client[] = [];
  try {
    clients = await connectSessions(cluster.endpoints, options.sessions, 'distinct');
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const mark = await cluster.markLeadership();
    const leader = await cluster.leader();
    const rssBeforeMb = await rssMbOf(cluster.pidOf(leader));
    // The sampler watches the leader of the start, and whichever node leads once the waves end (the row reports
    // any leader change in between).
    let sampledPid = cluster.pidOf(leader);
    const sampler = new PeakRssSampler(() => sampledPid);
    const started = performance.now();
    let errors = 0;
    let firstError: string | null = null;
    for (let first = 0; first < options.distinctNames; first += options.wave) {
      const size = Math.min(options.wave, options.distinctNames - first);
      const held: Lock[] = [];
      const acquired = await runTimed(size, options.concurrency, async (i) => {
        const n = first + i;
        held.push(await clients[n % clients.length]!.acquire(`distinct/${n}`, { waitMs: 0 }));
      });
      const released = await runTimed(held.length, options.concurrency, (i) => held[i]!.release());
      errors += acquired.errors + released.errors;
      firstError ??= acquired.firstError ?? released.firstError;
    }
    const elapsedMs = performance.now() - started;
    sampledPid = await cluster.leaderPid();
    await new Promise((resolve) => setTimeout(resolve, options.restMs));
    const rssPeakMb = await sampler.stop();
    return {
      nodes: options.nodes,
      names: options.distinctNames,
      sessions: options.sessions,
      wave: options.wave,
      rssBeforeMb,
      rssPeakMb,
      rssAfterMb: await rssMbOf(await cluster.leaderPid()),
      namesPerSecond: (options.distinctNames * 1000) / elapsedMs,
      errors,
      firstError,
      leadership: await cluster.leaderChangesSince(mark),
    };
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await cluster.close();
  }
}
