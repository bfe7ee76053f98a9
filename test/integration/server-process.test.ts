// `forelock serve` as real child processes: flag errors, a single node that resumes after a restart, and a
// 3-process cluster that survives SIGKILL of its leader and shuts down gracefully on SIGTERM.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../src/server/local-cluster.js';
import { waitFor } from '../support/wait-for.js';
import { runCli } from './client-harness.js';
import { FORELOCK, nodeAddresses, START_TIMEOUT_MS, statusOf } from './forelock-processes.js';
import { openSession, tempDir } from './server-harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const runServe = (args: string[], env: Record<string, string> = {}) => runCli(['serve', ...args], env);

describe('forelock serve flags', () => {
  it('exits 2 with a clear message for a malformed address', async () => {
    const { code, stderr } = await runServe(['--listen', 'nowhere']);
    expect(code).toBe(2);
    expect(stderr).toContain('--listen must be host:port (e.g. 127.0.0.1:7400), got "nowhere"');
  });

  it('exits 2 for an unknown key in --config', async () => {
    const dir = await tempDir('forelock-serve-config-');
    cleanups.push(dir.remove);
    const file = join(dir.path, 'node.json');
    await writeFile(file, JSON.stringify({ id: 'node1', lisen: '127.0.0.1:7400' }));
    const { code, stderr } = await runServe(['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}: unknown setting "lisen"`);
  });

  it('reads its settings from FORELOCK_SERVE_* variables, naming the variable when one is bad', async () => {
    const { code, stderr } = await runServe([], { FORELOCK_SERVE_LISTEN: 'nowhere' });
    expect(code).toBe(2);
    expect(stderr).toContain('FORELOCK_SERVE_LISTEN must be host:port (e.g. 127.0.0.1:7400), got "nowhere"');
  });
});

describe('forelock config check', () => {
  it('passes a good file (durations with units) and exits 2 naming every problem of a bad one', async () => {
    const dir = await tempDir('forelock-config-check-');
    cleanups.push(dir.remove);
    const good = join(dir.path, 'good.json');
    const bad = join(dir.path, 'bad.json');
    await writeFile(good, JSON.stringify({ id: 'n1', lockDelayMs: '2s', ladder: { graceMs: '5s' } }));
    await writeFile(bad, JSON.stringify({ id: 'n1', listen: 'x', ladder: { graceMs: 'soon' } }));
    const passed = await runCli(['config', 'check', good, '--json']);
    expect(passed.code).toBe(0);
    expect(JSON.parse(passed.stdout)).toMatchObject({ id: 'n1', lockDelayMs: 2_000, ladder: { graceMs: 5_000 } });
    const failed = await runCli(['config', 'check', bad]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(`${bad}: listen must be host:port`);
    expect(failed.stderr).toContain(`${bad}: ladder.graceMs must be a number with a unit`);
  });
});

describe('forelock serve start-up failures', () => {
  it('exits 1 with one clear line when --listen is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const { port } = taken.address() as { port: number };
    const dir = await tempDir('forelock-serve-taken-');
    cleanups.push(dir.remove);
    const { code, stderr } = await runServe([
      '--listen',
      `127.0.0.1:${port}`,
      '--http',
      '127.0.0.1:0',
      '--data',
      dir.path,
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain(`forelock serve: cannot listen on 127.0.0.1:${port}`);
  });
});

describe('a single node process', () => {
  it('bootstraps itself, and after SIGTERM (exit 0) and a restart resumes its locks and token counter', async () => {
    const dir = await tempDir('forelock-serve-single-');
    cleanups.push(dir.remove);
    const [node] = await nodeAddresses(1);
    // Peers name only the node itself: the same single-node cluster as no --peers, with known ports.
    const cluster = new LocalCluster([node!], dir.path, FORELOCK, ['--log-level', 'warn']);
    cleanups.push(() => cluster.stopAll());
    cluster.startAll();
    await waitFor('the node to lead', async () => (await statusOf(node!))?.leader === 'node1', START_TIMEOUT_MS);
    const { stream } = await openSession(node!.listen, { ttlMs: 60_000 });
    stream.send({ acquire: { requestSeq: '1', name: 'restart/lock', waitMs: 0 } });
    const token = ((await stream.next('acquire')).acquire as { token: string }).token;
    expect(await cluster.stop(node!)).toBe(0);
    cluster.start(node!);
    await waitFor('the node to lead again', async () => (await statusOf(node!))?.leader === 'node1', START_TIMEOUT_MS);
    const locks = (await (await fetch(`http://${node!.http}/v1/locks`)).json()) as {
      name: string;
      holders: { token: string }[];
    }[];
    expect(locks.find((lock) => lock.name === 'restart/lock')?.holders.map((h) => h.token)).toEqual([token]);
    const { stream: next } = await openSession(node!.listen);
    next.send({ acquire: { requestSeq: '1', name: 'restart/other', waitMs: 0 } });
    const later = ((await next.next('acquire')).acquire as { token: string }).token;
    expect(BigInt(later)).toBeGreaterThan(BigInt(token));
    next.cancel();
  });
});

describe('a 3-process cluster', () => {
  it('elects a leader, re-elects after SIGKILL of the leader, and the restarted node catches up', async () => {
    const dir = await tempDir('forelock-serve-cluster-');
    cleanups.push(dir.remove);
    const nodes = await nodeAddresses(3);
    const cluster = new LocalCluster(nodes, dir.path, FORELOCK, ['--log-level', 'warn']);
    cleanups.push(() => cluster.stopAll());
    cluster.startAll();
    const first = await waitFor('a leader', () => cluster.leader(), START_TIMEOUT_MS);
    const { stream } = await openSession(first.listen, { ttlMs: 60_000 });
    stream.send({ acquire: { requestSeq: '1', name: 'cluster/lock', waitMs: 0 } });
    await stream.next('acquire');
    expect(await cluster.stop(first, 'SIGKILL')).toBe(null);
    const second = await waitFor('a new leader', async () => {
      const leader = await cluster.leader();
      return leader !== null && leader.id !== first.id ? leader : undefined;
    });
    const leaderStatus = (await statusOf(second))!;
    cluster.start(first);
    await waitFor(
      'the restarted node to catch up',
      async () => {
        const status = await statusOf(first);
        return status !== undefined && status.leader === second.id && status.commitIndex >= leaderStatus.commitIndex;
      },
      START_TIMEOUT_MS,
    );
    const codes = await cluster.stopAll();
    expect(codes).toEqual({ node1: 0, node2: 0, node3: 0 });
  });
});

/** A base port whose gRPC (base..base+n-1) and HTTP (base+80..) ports are all free right now. */
async function freeBasePort(nodes: number): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: nodes }, (_, i) => [base + i, base + 80 + i]).flat();
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

describe('forelock cluster', () => {
  it('prints the endpoints and the leader, and on SIGINT stops every node and removes its data', async () => {
    const basePort = await freeBasePort(3);
    const child = spawn(FORELOCK.executable, [...FORELOCK.args, 'cluster', '--base-port', String(basePort)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit') as Promise<[number | null]>;
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const endpoints = [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`).join(',');
    const leaderLine = await waitFor(
      'the leader line',
      () => /leader: (node\d) at (\S+)/.exec(stdout),
      START_TIMEOUT_MS,
    );
    expect(stdout).toContain(`endpoints: ${endpoints}`);
    expect(stdout).toContain(`node1  grpc 127.0.0.1:${basePort}  http http://127.0.0.1:${basePort + 80}`);
    expect(endpoints.split(',')).toContain(leaderLine[2]);
    const dataDir = /data in (\S+)/.exec(stdout)![1]!;
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stdout).toContain('stopped; data removed.');
    expect(existsSync(dataDir)).toBe(false);
    const status = await fetch(`http://127.0.0.1:${basePort + 80}/healthz`).catch((error: unknown) => error);
    expect(status).toBeInstanceOf(Error);
  });
});
