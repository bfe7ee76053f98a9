// What TLS and auth cost (issue 10): two 3-node clusters of real `forelock serve` processes side by side, one in
// plaintext, one with mutual TLS and auth enabled (certificates from `forelock certs create`, a `bench` user whose role
// may lock `bench/`, logged in once with `forelock login`), and `forelock bench --clients 64` run against them in
// turn, several times, so that whatever else the machine does falls on both alike. It prints each run's uncontended
// and contended pairs/s, the medians, and the cost of TLS + auth. It reports; it never fails on a figure.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { AdminClient } from '../src/client/admin.js';
import { clusterLayout, LocalCluster, type LocalNode } from '../src/server/local-cluster.js';
import { until } from './scale-cluster.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    clients: { type: 'string', default: '64' },
    duration: { type: 'string', default: '4s' },
    'base-port': { type: 'string', default: '7700' },
  },
});
const runs = Number(values.runs);
const basePort = Number(values['base-port']);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
const PASSWORD = 'bench-password-not-secret';

interface BenchRun {
  readonly uncontended: number;
  readonly contended: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function forelock(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  return stdout;
}

async function benchOnce(endpoints: string, env: NodeJS.ProcessEnv, dir: string): Promise<BenchRun> {
  const json = join(dir, `bench-${Date.now()}.json`);
  await forelock(
    ['bench', '--endpoints', endpoints, '--clients', values.clients!, '--duration', values.duration!, '--json', json],
    env,
  );
  const { pairs } = JSON.parse(await readFile(json, 'utf8')) as {
    pairs: { scenario: string; pairsPerSecond: number }[];
  };
  const rate = (scenario: string) => pairs.find((each) => each.scenario === scenario)!.pairsPerSecond;
  return { uncontended: rate('uncontended'), contended: rate('contended') };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'forelock-security-bench-'));
  const certs = join(dir, 'certs');
  const plainNodes = clusterLayout(3, basePort);
  const secureNodes = clusterLayout(3, basePort + 10);
  await forelock(['certs', 'create', '--out', certs, '--nodes', 'node1,node2,node3', '--clients', 'admin']);
  const tlsFiles = (name: string) => ({
    FORELOCK_TLS_CA: join(certs, 'ca.pem'),
    FORELOCK_TLS_CERT: join(certs, `${name}.pem`),
    FORELOCK_TLS_KEY: join(certs, `${name}-key.pem`),
  });
  const plain = new LocalCluster(plainNodes, join(dir, 'plain'), { executable: process.execPath, args: [CLI] }, [
    '--log-level',
    'warn',
  ]);
  const secure = new LocalCluster(
    secureNodes,
    join(dir, 'secure'),
    { executable: process.execPath, args: [CLI] },
    (node: LocalNode) => [
      '--log-level',
      'warn',
      '--tls-cert',
      join(certs, `${node.id}.pem`),
      '--tls-key',
      join(certs, `${node.id}-key.pem`),
      '--tls-ca',
      join(certs, 'ca.pem'),
    ],
  );
  const endpointsOf = (nodes: readonly LocalNode[]) => nodes.map((node) => node.listen).join(',');
  try {
    plain.startAll();
    secure.startAll();
    const tls = {
      ca: await readFile(join(certs, 'ca.pem')),
      cert: await readFile(join(certs, 'admin.pem')),
      key: await readFile(join(certs, 'admin-key.pem')),
    };
    const admin = new AdminClient({ endpoints: secureNodes.map((node) => node.listen), tls });
    try {
      if (!(await until(async () => (await plain.leader()) !== null, 60_000))) throw new Error('no plaintext leader');
      if (!(await until(async () => (await admin.status().catch(() => null))?.leader !== undefined, 60_000))) {
        throw new Error('no TLS leader');
      }
      // A root user to enable auth with, and the user the benchmark runs as: `lock` on bench/ only.
      await admin.users.add('root-user', { password: PASSWORD });
      await admin.users.grant('root-user', 'root');
      await admin.users.add('bench', { password: PASSWORD });
      await admin.roles.add('bench');
      await admin.roles.grant('bench', 'lock', 'bench/');
      await admin.users.grant('bench', 'bench');
      await admin.auth.enable();
    } finally {
      admin.close();
    }
    const secureEnv = { ...tlsFiles('admin'), FORELOCK_PASSWORD: PASSWORD };
    const token = (
      await forelock(['login', '--endpoints', endpointsOf(secureNodes), '--user', 'bench'], secureEnv)
    ).trim();
    const authEnv = { ...tlsFiles('admin'), FORELOCK_AUTH_TOKEN: token };
    const results: Record<'plaintext' | 'tls+auth', BenchRun[]> = { plaintext: [], 'tls+auth': [] };
    for (let i = 0; i < runs; i++) {
      results.plaintext.push(await benchOnce(endpointsOf(plainNodes), {}, dir));
      results['tls+auth'].push(await benchOnce(endpointsOf(secureNodes), authEnv, dir));
      process.stderr.write(`run ${i + 1}/${runs} done (load average ${loadavg()[0]!.toFixed(1)})\n`);
    }
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    console.log(
      `\n${runs} runs each, alternating; forelock bench --clients ${values.clients} --duration ${values.duration}`,
    );
    console.log('| cluster | uncontended pairs/s, each run | median | contended pairs/s, each run | median |');
    console.log('|---|---|---:|---|---:|');
    for (const [name, rows] of Object.entries(results)) {
      const u = rows.map((row) => row.uncontended);
      const c = rows.map((row) => row.contended);
      console.log(
        `| ${name} | ${u.map(fmt).join(', ')} | ${fmt(median(u))} | ${c.map(fmt).join(', ')} | ${fmt(median(c))} |`,
      );
    }
    const cost =
      1 -
      median(results['tls+auth'].map((row) => row.uncontended)) /
        median(results.plaintext.map((row) => row.uncontended));
    console.log(
      `\nTLS + auth cost at ${values.clients} clients, uncontended: ${(100 * cost).toFixed(1)}% (target: at most 25%)`,
    );
  } finally {
    await Promise.all([plain.stopAll(), secure.stopAll()]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
