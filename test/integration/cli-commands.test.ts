// The client-side `forelock` commands as child processes against a real in-process node: `lock` exit statuses and
// environment, lock loss, wait timeout (75), `status --json`, `locks --json`, revoke timing, flag errors, and `bench`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { runCli, startCli, useClientFixtures } from './client-harness.js';
import { tempDir } from './server-harness.js';

const { singleNode, client, defer } = useClientFixtures();

describe('forelock lock', () => {
  it('runs the command with FORELOCK_TOKEN and FORELOCK_LOCK and exits with its status', async () => {
    const { endpoint } = await singleNode();
    const run = await runCli([
      'lock',
      'jobs/nightly',
      '--endpoints',
      endpoint,
      '--',
      'sh',
      '-c',
      'echo "$FORELOCK_LOCK $FORELOCK_TOKEN"; exit 3',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^jobs\/nightly [1-9]\d*\n$/);
    // The lock was released when the command ended.
    const observer = await client([endpoint], 'observer');
    expect(await observer.admin().listLocks('jobs/')).toEqual([]);
  });

  it('exits 75 with a message when the lock is not granted within --wait', async () => {
    const { endpoint } = await singleNode();
    const holder = await client([endpoint], 'holder');
    await holder.acquire('jobs/busy');
    const run = await runCli(['lock', 'jobs/busy', '--wait', '300ms', '--endpoints', endpoint, '--', 'true']);
    expect(run.code).toBe(75);
    expect(run.stderr).toContain('lock "jobs/busy" was not granted within 300ms');
    expect((await holder.admin().listLocks('jobs/busy'))[0]?.waiters).toBe(0);
  });

  it('stops the command with SIGTERM and exits 70 when the lock is revoked', async () => {
    const { endpoint } = await singleNode();
    const observer = await client([endpoint], 'observer');
    const { done } = startCli([
      'lock',
      'jobs/revoked',
      '--fenced',
      '--kill-after',
      '5s',
      '--endpoints',
      endpoint,
      '--',
      'sh',
      '-c',
      'trap "echo terminated; exit 9" TERM; while :; do sleep 0.05; done',
    ]);
    const [info] = await waitFor(
      'the CLI to hold the lock',
      async () => {
        const locks = await observer.admin().listLocks('jobs/revoked');
        return locks[0]?.holders.length === 1 ? locks : undefined;
      },
      60_000,
    );
    const revoked = await observer.admin().revoke('jobs/revoked', { reason: 'test' });
    expect(revoked.map((r) => r.immediate)).toEqual([true]); // fenced: at once
    expect(revoked[0]?.token).toBe(info?.holders[0]?.token);
    const run = await done;
    expect(run.code).toBe(70);
    expect(run.stdout).toBe('terminated\n');
    expect(run.stderr).toContain('lost lock "jobs/revoked"');
  });

  it('--shared lets two commands hold the lock at the same time', async () => {
    const { endpoint } = await singleNode();
    const dir = await tempDir('forelock-cli-shared-');
    defer(dir.remove);
    // Each command announces itself, then waits until it sees the other: only possible if both hold the lock at once.
    const meetAt = (me: string, other: string) =>
      `touch ${join(dir.path, me)}; while [ ! -f ${join(dir.path, other)} ]; do sleep 0.05; done`;
    const runs = await Promise.all([
      runCli(['lock', 'shared/doc', '--shared', '--endpoints', endpoint, '--', 'sh', '-c', meetAt('a', 'b')]),
      runCli(['lock', 'shared/doc', '--shared', '--endpoints', endpoint, '--', 'sh', '-c', meetAt('b', 'a')]),
    ]);
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
  });

  it('refuses a malformed duration with a clear message', async () => {
    const run = await runCli(['lock', 'x', '--wait', '10 sec', '--', 'true']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      '--wait must be a number with a unit (ms, s, m, h), like 500ms, 10s or 2m; got "10 sec"',
    );
  });
});

describe('forelock status, locks and revoke', () => {
  it('status --json has the answering node, its applied index, the leader, term, commit index and members', async () => {
    const { endpoint } = await singleNode();
    const run = await runCli(['status', '--json'], { FORELOCK_ENDPOINTS: endpoint });
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(status).sort()).toEqual(['appliedIndex', 'commitIndex', 'id', 'leader', 'members', 'term']);
    expect(status.leader).toBe('node1');
    expect(status.term).toBeGreaterThanOrEqual(1);
    expect(status.commitIndex).toBeGreaterThanOrEqual(1);
    expect(status.appliedIndex).toBeGreaterThanOrEqual(1);
    expect(status.members).toEqual([
      {
        id: 'node1',
        address: endpoint,
        role: 'leader',
        reachable: true,
        matchIndex: expect.any(Number),
        lagEntries: 0,
      },
    ]);
  });

  it('locks --json lists holders with tokens as decimal strings and the queue length', async () => {
    const { endpoint } = await singleNode();
    const holder = await client([endpoint], 'holder-client');
    const waiter = await client([endpoint], 'waiter-client');
    const lock = await holder.acquire('reports/q3', { fenced: true });
    const waiting = waiter.acquire('reports/q3', { waitMs: 30_000 });
    await waitFor('the waiter to queue', async () => (await holder.admin().listLocks('reports/'))[0]?.waiters === 1);
    const run = await runCli(['locks', '--json', '--endpoints', endpoint]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      {
        name: 'reports/q3',
        mode: 'exclusive',
        holders: [
          {
            session: holder.session.id,
            client: 'holder-client',
            // Opened with auth off: no user.
            user: '',
            token: lock.token.toString(),
            fenced: true,
            grantedAt: lock.grantedAtMs,
          },
        ],
        waiters: 1,
      },
    ]);
    await lock.release();
    await (await waiting).release();
  });

  it('revoke says when an ordinary lock goes (end of its promise), and --force warns', async () => {
    const { endpoint } = await singleNode();
    const holder = await client([endpoint], 'holder');
    const lock = await holder.acquire('ordinary');
    const later = await runCli(['revoke', 'ordinary', '--endpoints', endpoint]);
    expect(later.code).toBe(0);
    expect(later.stdout).toMatch(
      new RegExp(
        `^"ordinary" token ${lock.token} of session ${holder.session.id}: revoked at \\S+Z \\(in [\\d.]+m?s\\), when the promise already given to its session ends\\n$`,
      ),
    );
    const forced = await runCli(['revoke', 'ordinary', '--force', '--reason', 'maintenance', '--endpoints', endpoint]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('revoked now');
    expect(forced.stderr).toContain('only resources that check fencing tokens are safe');
    await waitFor('the holder to learn of the revocation', () => lock.signal.aborted);
    expect(lock.signal.reason.code).toBe('LOCK_LOST');
  });
});

describe('forelock bench', () => {
  it('runs a warm-up that is not counted, then both pairs phases with the CPU per pair, and writes the JSON', async () => {
    const { node, endpoint } = await singleNode();
    const dir = await tempDir('forelock-cli-bench-');
    defer(dir.remove);
    const json = join(dir.path, 'bench.json');
    const run = await runCli([
      'bench',
      '--clients',
      '2',
      '--locks',
      '4',
      '--warmup',
      '2s',
      '--duration',
      '200ms',
      '--json',
      json,
      '--leader-http',
      `127.0.0.1:${node.httpAddress.port}`,
      '--endpoints',
      endpoint,
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('not measured');
    expect(run.stderr).toMatch(/warm-up: [1-9]\d* pairs in 2\.\d s \(not counted\)/);
    expect(run.stdout).toMatch(/^SCENARIO .*\nuncontended +2 +4 .*\ncontended +2 +1 /);
    const written = JSON.parse(await readFile(json, 'utf8')) as {
      warmupMs: number;
      multiplex: boolean;
      pairs: {
        scenario: string;
        pairs: number;
        errors: number;
        elapsedMs: number;
        leaderCpuUsPerPair: number | null;
        clientCpuUsPerPair: number;
      }[];
    };
    expect(written.warmupMs).toBe(2_000);
    expect(written.multiplex).toBe(true);
    expect(written.pairs.map((p) => p.scenario)).toEqual(['uncontended', 'contended']);
    for (const phase of written.pairs) {
      expect(phase.pairs).toBeGreaterThan(0);
      expect(phase.errors).toBe(0);
      // A phase that counted the warm-up would have lasted 2.2 s or more.
      expect(phase.elapsedMs).toBeGreaterThanOrEqual(200);
      expect(phase.elapsedMs).toBeLessThan(2_000);
      // Read from the leader's /metrics (process CPU) and from the benchmark process itself.
      expect(phase.leaderCpuUsPerPair).toBeGreaterThan(0);
      expect(phase.clientCpuUsPerPair).toBeGreaterThan(0);
    }
  });

  it("with --no-multiplex (a stream per client), says once that the leader's CPU per pair was not measured when its /metrics cannot be read", async () => {
    const { endpoint } = await singleNode();
    const dir = await tempDir('forelock-cli-bench-');
    defer(dir.remove);
    const json = join(dir.path, 'bench.json');
    const run = await runCli([
      'bench',
      '--no-multiplex',
      '--json',
      json,
      '--clients',
      '1',
      '--locks',
      '1',
      '--warmup',
      '0',
      '--duration',
      '100ms',
      '--leader-http',
      '127.0.0.1:1',
      '--endpoints',
      endpoint,
    ]);
    expect(run.code).toBe(0);
    expect(
      run.stderr.match(/note: leader CPU per pair not measured \(http:\/\/127\.0\.0\.1:1\/metrics: /g),
    ).toHaveLength(1);
    expect(run.stdout).toMatch(/\nuncontended +1 +1 .* 0 +- +\d+ µs\n/);
    const written = JSON.parse(await readFile(json, 'utf8')) as { multiplex: boolean; pairs: { pairs: number }[] };
    expect(written.multiplex).toBe(false);
    expect(written.pairs[0]!.pairs).toBeGreaterThan(0);
  });
});

describe('forelock --version', () => {
  it("prints package.json's version and exits 0", async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });
});
