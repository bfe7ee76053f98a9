// `forelock serve --record-trace FILE` as a real process: a session keeps alive, takes and releases a lock and closes;
// after SIGTERM the file is a trace that `forelock eval --trace` replays without an error.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ForelockCommand, LocalCluster, type LocalNode } from '../../src/server/local-cluster.js';
import type { StatusJson } from '../../src/server/wire.js';
import { waitFor } from '../support/wait-for.js';
import { runCli } from './client-harness.js';
import { freePort, openSession, tempDir } from './server-harness.js';

/** Runs the CLI from source, as `npx tsx src/cli/main.ts` would. */
const FORELOCK: ForelockCommand = { executable: process.execPath, args: ['--import', 'tsx', 'src/cli/main.ts'] };
/** Process start-up under tsx on a loaded 2-core machine takes seconds; deadlines are generous, never sleeps. */
const START_TIMEOUT_MS = 60_000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function leaderOf(node: LocalNode): Promise<string | undefined> {
  try {
    const response = await fetch(`http://${node.http}/v1/status`, { signal: AbortSignal.timeout(1_000) });
    return ((await response.json()) as StatusJson).leader ?? undefined;
  } catch {
    return undefined;
  }
}

describe('forelock serve --record-trace', () => {
  it('records the leader’s SPM inputs as a trace that forelock eval --trace replays', async () => {
    const dir = await tempDir('forelock-record-trace-');
    cleanups.push(dir.remove);
    const file = join(dir.path, 'recorded.jsonl');
    const node: LocalNode = {
      id: 'node1',
      listen: `127.0.0.1:${await freePort()}`,
      http: `127.0.0.1:${await freePort()}`,
    };
    const cluster = new LocalCluster([node], dir.path, FORELOCK, [
      '--log-level',
      'warn',
      '--preemption',
      'off',
      '--record-trace',
      file,
    ]);
    cleanups.push(() => cluster.stopAll());
    cluster.startAll();
    await waitFor('the node to lead', async () => (await leaderOf(node)) === 'node1', START_TIMEOUT_MS);

    const { stream } = await openSession(node.listen, { ttlMs: 10_000 });
    stream.send({ keepalive: { seq: '1', clientTimeMs: Date.now(), rttMs: 0 } });
    await stream.next('keepalive');
    stream.send({ keepalive: { seq: '2', clientTimeMs: Date.now(), rttMs: 1.5 } });
    await stream.next('keepalive');
    stream.send({ acquire: { requestSeq: '1', name: 'recorded/lock', waitMs: 0 } });
    const token = ((await stream.next('acquire')).acquire as { token: string }).token;
    stream.send({ release: { requestSeq: '2', name: 'recorded/lock', token } });
    await stream.next('done');
    stream.send({ close: {} });
    await stream.ended;
    // SIGTERM flushes the buffered lines and closes the file.
    expect(await cluster.stop(node)).toBe(0);

    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toEqual({ type: 'header', version: 1, name: 'recorded', ttl_ms: 10_000, keepalive_ms: 3_333 });
    const types = lines.slice(1).map((line) => line.type);
    // `load` lines come once a second and may not have come yet: the unit tests cover them.
    for (const type of ['session', 'keepalive', 'acquire', 'grant', 'release', 'close']) {
      expect(types).toContain(type);
    }
    expect(lines.find((line) => line.type === 'keepalive' && line.rtt_ms !== undefined)).toMatchObject({
      rtt_ms: 1.5,
    });

    const replay = await runCli(['eval', '--trace', file, '--json', join(dir.path, 'report.json')]);
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    const report = JSON.parse(await readFile(join(dir.path, 'report.json'), 'utf8')) as {
      families: Record<string, { holds: number }>;
    };
    expect(report.families.recorded?.holds).toBe(1);
  });
});
