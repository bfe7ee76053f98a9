// Failover benchmark (issue 11): a 3-process cluster; an acquire is sent the moment the leader is stopped, and the
// time until it is granted is measured, after SIGTERM (the leader hands leadership off first) beside SIGKILL (the
// followers wait for their election timeout). The stopped node is restarted between rounds. It reports; it never
// fails on a figure.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '../src/client/client.js';
import { clusterLayout, LocalCluster, type LocalNode } from '../src/server/local-cluster.js';
import type { StatusJson } from '../src/server/wire.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'base-port': { type: 'string', default: '7660' },
    json: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
/** The longest a round may take before it counts as failed. */
const ROUND_DEADLINE_MS = 60_000;

async function statusOf(node: LocalNode): Promise<StatusJson | undefined> {
  try {
    return (await (
      await fetch(`http://${node.http}/v1/status`, { signal: AbortSignal.timeout(1_000) })
    ).json()) as StatusJson;
  } catch {
    return undefined;
  }
}

/** Polls until every node names the same running leader and has applied what it knows committed. */
async function settled(cluster: LocalCluster, nodes: readonly LocalNode[]): Promise<LocalNode> {
  const deadline = performance.now() + ROUND_DEADLINE_MS;
  while (performance.now() < deadline) {
    const statuses = await Promise.all(nodes.map(statusOf));
    const leaders = new Set(statuses.map((status) => status?.leader));
    const leader = nodes.find((node) => node.id === statuses[0]?.leader);
    const ready = statuses.every((status) => status !== undefined && status.appliedIndex >= status.commitIndex);
    if (leaders.size === 1 && leader !== undefined && cluster.running(leader) && ready) return leader;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the cluster did not settle within 60 s');
}

/** Stops the leader with `signal` and sends an acquire at once; ms until it is granted. */
async function oneRound(cluster: LocalCluster, nodes: readonly LocalNode[], signal: NodeJS.Signals, round: number) {
  const leader = await settled(cluster, nodes);
  const client = await connect({
    endpoints: nodes.map((node) => node.listen),
    name: `failover-bench-${signal}-${round}`,
    ttlMs: 30_000,
  });
  try {
    const stopped = cluster.stop(leader, signal);
    const startedAt = performance.now();
    const lock = await client.acquire(`failover/${signal}/${round}`, { waitMs: ROUND_DEADLINE_MS });
    const grantMs = performance.now() - startedAt;
    await lock.release();
    await stopped;
    return grantMs;
  } finally {
    await client.close();
    cluster.start(leader);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const dir = await mkdtemp(join(tmpdir(), 'forelock-failover-bench-'));
const nodes = clusterLayout(3, Number(values['base-port']));
const cluster = new LocalCluster(nodes, dir, { executable: process.execPath, args: [CLI] }, ['--log-level', 'warn']);
const results: { signal: NodeJS.Signals; grantMs: number[] }[] = [
  { signal: 'SIGTERM', grantMs: [] },
  { signal: 'SIGKILL', grantMs: [] },
];
try {
  cluster.startAll();
  const loadBefore = loadavg()[0]!;
  // Alternating, so that a drift of the machine's load touches both alike.
  for (let round = 0; round < rounds; round++) {
    for (const result of results) result.grantMs.push(await oneRound(cluster, nodes, result.signal, round));
  }
  process.stdout.write(
    `time from stopping the leader to the next grant, 3 nodes, ${rounds} rounds each (load average ${loadBefore.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)})\n\n`,
  );
  process.stdout.write('| leader stopped by | median ms | min ms | max ms |\n|---|---:|---:|---:|\n');
  for (const { signal, grantMs } of results) {
    process.stdout.write(
      `| ${signal} | ${median(grantMs).toFixed(0)} | ${Math.min(...grantMs).toFixed(0)} | ${Math.max(...grantMs).toFixed(0)} |\n`,
    );
  }
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify({ rounds, results }, null, 2)}\n`);
} finally {
  await cluster.stopAll();
  await rm(dir, { recursive: true, force: true });
}
