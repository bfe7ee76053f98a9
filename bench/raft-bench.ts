// Raft replication benchmark: 3 processes on loopback, synced writes, 1 and 64 proposers inside the leader's process.
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
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
  readonly proposers: number;
  readonly leaderEventLoopDelayMs: number;
}

const cluster = await LocalCluster.start({ size: 3 });
const rows: Row[] = [];
try {
  const leaderId = await cluster.waitForLeader(15_000);
  const leader = cluster.node(leaderId);
  for (const proposers of proposerCounts) {
    await leader.load({ concurrency: proposers, entryBytes, durationMs: warmupMs });
    const result = await leader.load({ concurrency: proposers, entryBytes, durationMs });
    const status = await leader.status();
    rows.push({ ...result, proposers, leaderEventLoopDelayMs: status.eventLoopDelayMs });
  }
} finally {
  await cluster.destroy();
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
console.log(
  `Raft benchmark: 3 processes on 127.0.0.1, synced level writes, ${entryBytes}-byte entries, ${durationMs} ms per row`,
);
console.log(`machine: ${machine}\n`);
console.log('| proposers | commits | commits/s | p50 ms | p99 ms | failures | leader event-loop p99 ms |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) {
  console.log(
    `| ${row.proposers} | ${row.commits} | ${Math.round(row.commitsPerSecond)} | ${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} | ${row.failures} | ${row.leaderEventLoopDelayMs.toFixed(1)} |`,
  );
}
if (values.json !== undefined) {
  await writeFile(values.json, `${JSON.stringify({ machine, entryBytes, durationMs, rows }, null, 2)}\n`);
}
