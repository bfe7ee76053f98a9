// `forelock cluster`: runs a local 3- or 5-node cluster of real `forelock serve` processes until Ctrl-C.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../server/errors.js';
import { clusterLayout, LocalCluster, type LocalNode } from '../../server/local-cluster.js';

interface ClusterFlags {
  nodes: string;
  basePort: string;
  logLevel: string;
}

/** How often the leader is looked up while the cluster runs, in ms. */
const LEADER_POLL_MS = 500;

function integerFlag(value: string, flag: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) {
    throw new ConfigError(`${flag} must be an integer, got "${value}"`);
  }
  return number;
}

async function runCluster(flags: ClusterFlags): Promise<void> {
  const nodes = clusterLayout(integerFlag(flags.nodes, '--nodes'), integerFlag(flags.basePort, '--base-port'));
  const dataDir = await mkdtemp(join(tmpdir(), 'forelock-cluster-'));
  let stopping = false;
  const cluster = new LocalCluster(nodes, dataDir, undefined, ['--log-level', flags.logLevel], {
    onOutput: (node, line) => process.stderr.write(`[${node.id}] ${line}\n`),
    onExit: (node, code, signal) => {
      if (!stopping) process.stderr.write(`[${node.id}] exited (${signal ?? `code ${code}`})\n`);
    },
  });
  cluster.startAll();
  const out = process.stdout;
  out.write(`Forelock local cluster: ${nodes.length} nodes, data in ${dataDir}\n`);
  for (const node of nodes) out.write(`  ${node.id}  grpc ${node.listen}  http http://${node.http}\n`);
  out.write(`endpoints: ${nodes.map((node) => node.listen).join(',')}\n`);
  out.write(`  export FORELOCK_ENDPOINTS=${nodes.map((node) => node.listen).join(',')}\n`);
  out.write('Ctrl-C stops every node and removes the data.\n');

  let lastLeader: LocalNode | null = null;
  const watch = setInterval(async () => {
    const leader = await cluster.leader();
    if (stopping || leader === null || leader.id === lastLeader?.id) return;
    lastLeader = leader;
    out.write(`leader: ${leader.id} at ${leader.listen}\n`);
  }, LEADER_POLL_MS);

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(watch);
    out.write('stopping the cluster...\n');
    await cluster.stopAll();
    await rm(dataDir, { recursive: true, force: true });
    out.write('stopped; data removed.\n');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Registers `forelock cluster`. */
export function registerClusterCommand(program: Command): void {
  program
    .command('cluster')
    .description('run a local cluster of real `forelock serve` processes (data in a temp folder) until Ctrl-C')
    .option('--nodes <n>', 'cluster size: 3 or 5', '3')
    .option('--base-port <port>', 'gRPC ports base, base+1, ...; HTTP ports base+80, ...', '7400')
    .option('--log-level <level>', "the nodes' log level", 'warn')
    .action(async (flags: ClusterFlags) => {
      try {
        await runCluster(flags);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`forelock cluster: ${error.message}\n`);
        process.exitCode = 2;
      }
    });
}
