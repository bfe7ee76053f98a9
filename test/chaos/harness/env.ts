// One test's docker resources: a network with its own subnet, the containers on it, and their removal (always,
// even when the test fails). Resources are labelled with the owning process id so a later run can sweep what a
// killed run left behind without touching a run that is still alive.

import { mkdirSync, writeFileSync } from 'node:fs';
import { getContainerRuntimeClient, StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { docker, runHost } from './docker.js';
import { FixedIpContainer } from './fixed-ip-container.js';
import { TEST_IMAGE } from './image.js';

// Nothing may be pulled here: without these, testcontainers starts helper containers (alpine to find the docker
// host's gateway, ryuk to reap leftovers). The tests reach containers by their own addresses and remove what they
// create themselves (and sweepAbandoned() removes what a killed run left).
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/** Label carried by every container and network the chaos harness creates. */
export const CHAOS_LABEL = 'forelock.chaos.pid';

/** What a container of the environment runs. */
export interface ContainerSpec {
  /** Container name (unique per environment; prefixed with the environment's name). */
  readonly name: string;
  /** Host part of the address within the environment's subnet (2-254). */
  readonly hostNumber: number;
  readonly entrypoint?: readonly string[];
  readonly command: readonly string[];
  /** Files written into the container before it starts, by absolute path. */
  readonly files?: Readonly<Record<string, string>>;
}

/** A started container and the address the rest of the test uses for it. */
export interface EnvContainer {
  readonly name: string;
  readonly ip: string;
  readonly id: string;
  readonly started: StartedTestContainer;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes containers and networks left by chaos runs whose process is gone. */
export async function sweepAbandoned(): Promise<void> {
  for (const kind of ['container', 'network'] as const) {
    const rows = await docker([
      kind,
      'ls',
      ...(kind === 'container' ? ['-a'] : []),
      '--filter',
      `label=${CHAOS_LABEL}`,
      '--format',
      `{{.ID}} {{.Label "${CHAOS_LABEL}"}}`,
    ]);
    for (const row of rows.split('\n').filter(Boolean)) {
      const [id, pid] = row.split(' ');
      if (!processAlive(Number(pid)))
        await docker(kind === 'container' ? ['rm', '-f', '-v', id] : ['network', 'rm', id]);
    }
  }
}

async function takenSubnets(): Promise<Set<string>> {
  const ids = (await docker(['network', 'ls', '-q'])).split('\n').filter(Boolean);
  const subnets =
    ids.length === 0
      ? ''
      : await docker(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids]);
  return new Set(subnets.split(/\s+/).filter(Boolean));
}

/** The docker resources of one test; `dispose()` removes them all and saves each container's log first. */
export class ChaosEnv {
  private readonly containers = new Map<string, EnvContainer>();

  private constructor(
    readonly name: string,
    readonly network: StartedNetwork,
    /** First three octets of the subnet, e.g. `172.30.7`. */
    readonly subnetPrefix: string,
    private readonly logDir: string,
  ) {}

  /**
   * Creates a bridge network on a free 172.30.X.0/24 subnet. `preferredPrefix` (e.g. the one the cluster/ configs
   * use) is taken when free, so addresses match the deployment files.
   */
  static async create(name: string, preferredPrefix = '172.30.3'): Promise<ChaosEnv> {
    await sweepAbandoned();
    const taken = await takenSubnets();
    const candidates = [preferredPrefix, ...Array.from({ length: 200 }, (_, i) => `172.30.${i + 20}`)];
    const prefix = candidates.find((candidate) => !taken.has(`${candidate}.0/24`));
    if (prefix === undefined) throw new Error('no free 172.30.X.0/24 subnet for a chaos network');
    const client = await getContainerRuntimeClient();
    const networkName = `forelock-${name}-${process.pid}`;
    const network = await client.network.create({
      Name: networkName,
      Driver: 'bridge',
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: `${prefix}.0/24`, Gateway: `${prefix}.1` }] },
      Labels: { [CHAOS_LABEL]: String(process.pid) },
    });
    const logDir = new URL(`../.results/logs/${name}/`, import.meta.url).pathname;
    mkdirSync(logDir, { recursive: true });
    return new ChaosEnv(name, new StartedNetwork(client, networkName, network), prefix, logDir);
  }

  /** The address of host number `hostNumber` on this environment's subnet. */
  ip(hostNumber: number): string {
    return `${this.subnetPrefix}.${hostNumber}`;
  }

  /** Starts a container from the test image at its fixed address. */
  async start(spec: ContainerSpec): Promise<EnvContainer> {
    const ip = this.ip(spec.hostNumber);
    const container = new FixedIpContainer(TEST_IMAGE, this.network, ip)
      .withName(`${this.network.getName()}-${spec.name}`)
      .withLabels({ [CHAOS_LABEL]: String(process.pid) })
      .withCommand([...spec.command])
      .withAutoRemove(false);
    if (spec.entrypoint !== undefined) container.withEntrypoint([...spec.entrypoint]);
    const files = Object.entries(spec.files ?? {});
    if (files.length > 0) container.withCopyContentToContainer(files.map(([target, content]) => ({ target, content })));
    const started = await container.start();
    const entry: EnvContainer = { name: spec.name, ip, id: started.getId(), started };
    this.containers.set(spec.name, entry);
    return entry;
  }

  /** The container started under `name`. */
  get(name: string): EnvContainer {
    const entry = this.containers.get(name);
    if (entry === undefined) throw new Error(`no container named ${name} in chaos env ${this.name}`);
    return entry;
  }

  /** Saves and removes one container (with its anonymous volumes). */
  async remove(name: string): Promise<void> {
    const entry = this.get(name);
    this.containers.delete(name);
    await this.saveLog(entry);
    await docker(['rm', '-f', '-v', entry.id]);
  }

  private async saveLog(entry: EnvContainer): Promise<void> {
    try {
      const log = await runHost('sh', ['-c', `docker logs --timestamps ${entry.id} 2>&1`]);
      writeFileSync(`${this.logDir}${entry.name}.log`, log);
    } catch {
      // A log that cannot be saved must not stop the removal.
    }
  }

  /** Removes every container and the network; safe to call twice. Errors are collected and rethrown at the end. */
  async dispose(): Promise<void> {
    const failures: unknown[] = [];
    for (const name of [...this.containers.keys()]) {
      await this.remove(name).catch((error: unknown) => failures.push(error));
    }
    await docker(['network', 'rm', this.network.getName()]).catch((error: unknown) => {
      if (!String(error).includes('No such network') && !String(error).includes('not found')) failures.push(error);
    });
    if (failures.length > 0) throw new AggregateError(failures, `chaos env ${this.name}: cleanup failed`);
  }
}
