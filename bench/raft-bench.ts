// Raft replication benchmark: 3 processes on loopback, synced writes, 1 and 64 proposers inside the leader's process.
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { LocalCluster } from './raft-cluster-harness.js';
import type { LoadResult } from './raft-node-process.js';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    'duration-ms': { type: 'string', default: '5000' },
    'warmup-ms': { type: 'string', default: '1000' },
    proposers: { type: 'string', default: '1,64' },
    'entry-bytes': { type: 'string', default: '100' },
  },
});
const durationMs = Number(values['duration-ms']);
const warmupMs = Number(values['warmup-ms']);
const entryBytes = Number(values['entry-bytes']);
const proposerCounts = values.proposers!.split(',').map(Number);

interface Row extends LoadResult {
  /** 3 for the cluster under test; 1 for the baseline (same node program, synced writes, no replication). */
  readonly nodes: number;
  readonly proposers: number;
  readonly leaderEventLoopDelayMs: number;
  /** CPU used per commit during the measured run, in µs: by the leader, and by each follower on average. */
  readonly leaderCpuUsPerCommit: number;
  readonly followerCpuUsPerCommit: number | null;
}

/** Runs every proposer count against a fresh cluster of `size` nodes, warming up before each measured run. */
async function measure(size: number): Promise<Row[]> {
  const cluster = await LocalCluster.start({ size });
  const rows: Row[] = [];
  try {
    const leaderId = await cluster.waitForLeader(15_000);
    const leader = cluster.node(leaderId);
    for (const proposers of proposerCounts) {
      await leader.load({ concurrency: proposers, entryBytes, durationMs: warmupMs });
      const before = await cluster.statuses();
      const result = await leader.load({ concurrency: proposers, entryBytes, durationMs });
      const after = await cluster.statuses();
      const cpuUs = (id: string): number => ((after.get(id)!.cpuMs - before.get(id)!.cpuMs) * 1000) / result.commits;
      const followers = [...after.keys()].filter((id) => id !== leaderId);
      rows.push({
        ...result,
        nodes: size,
        proposers,
        leaderEventLoopDelayMs: after.get(leaderId)!.eventLoopDelayMs,
        leaderCpuUsPerCommit: cpuUs(leaderId),
        followerCpuUsPerCommit:
          followers.length === 0 ? null : followers.reduce((sum, id) => sum + cpuUs(id), 0) / followers.length,
      });
    }
  } finally {
    await cluster.destroy();
  }
  return rows;
}

const loadBefore = loadavg()[0]!;
const rows = [...(await measure(3)), ...(await measure(1))];
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
const loadNote = `1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`;

console.log(
  `Raft benchmark: processes on 127.0.0.1, synced level writes, ${entryBytes}-byte entries, ${durationMs} ms a row`,
);
console.log(`machine: ${machine}; ${loadNote}\n`);
console.log(
  '| nodes | proposers | commits | commits/s | p50 ms | p99 ms | failures | leader event-loop p99 ms | ' +
    'leader CPU µs/commit | follower CPU µs/commit |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) {
  const label = row.nodes === 1 ? '1 (baseline: no replication)' : String(row.nodes);
  console.log(
    `| ${label} | ${row.proposers} | ${row.commits} | ${Math.round(row.commitsPerSecond)} | ${row.p50Ms.toFixed(2)} | ` +
      `${row.p99Ms.toFixed(2)} | ${row.failures} | ${row.leaderEventLoopDelayMs.toFixed(1)} | ` +
      `${row.leaderCpuUsPerCommit.toFixed(0)} | ${row.followerCpuUsPerCommit?.toFixed(0) ?? '-'} |`,
  );
}
if (values.json !== undefined) {
  await writeFile(values.json, `${JSON.stringify({ machine, loadNote, entryBytes, durationMs, rows }, null, 2)}\n`);
  console.log(`\nwrote ${values.json}`);
}
