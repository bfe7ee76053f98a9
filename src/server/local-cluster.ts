// A local cluster of real `forelock serve` processes on one machine: layout, spawning, leader watching, shutdown.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { ConfigError } from './errors.js';
import type { StatusJson } from './wire.js';

/** One member of a local cluster. */
export interface LocalNode {
  readonly id: string;
  /** gRPC address (clients and peers). */
  readonly listen: string;
  /** HTTP address. */
  readonly http: string;
}

/** How to run `forelock` in a child process: the executable and the arguments before the subcommand. */
export interface ForelockCommand {
  readonly executable: string;
  readonly args: readonly string[];
}

/** The command of the running process itself (node, its flags such as a tsx loader, and the CLI script). */
export function currentForelockCommand(): ForelockCommand {
  return { executable: process.execPath, args: [...process.execArgv, process.argv[1] as string] };
}

/** Nodes node1..nodeN on `host`: gRPC ports base, base+1, ...; HTTP ports base+80, base+81, ... */
export function clusterLayout(nodes: number, basePort: number, host = '127.0.0.1'): LocalNode[] {
  if (nodes !== 3 && nodes !== 5) throw new ConfigError(`--nodes must be 3 or 5, got ${nodes}`);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 80 + nodes - 1 > 65535) {
    throw new ConfigError(`--base-port must be an integer from 1024 to ${65535 - 80 - nodes + 1}, got ${basePort}`);
  }
  return Array.from({ length: nodes }, (_, i) => ({
    id: `node${i + 1}`,
    listen: `${host}:${basePort + i}`,
    http: `${host}:${basePort + 80 + i}`,
  }));
}

/** The `--peers` value naming every member. */
export function peersFlag(nodes: readonly LocalNode[]): string {
  return nodes.map((node) => `${node.id}=${node.listen}`).join(',');
}

/** What a local cluster reports as it runs. */
export interface LocalClusterEvents {
  /** A line a node wrote to stdout or stderr. */
  onOutput?(node: LocalNode, line: string): void;
  /** A node process exited. */
  onExit?(node: LocalNode, code: number | null, signal: NodeJS.Signals | null): void;
}

/** Child processes of one local cluster. */
export class LocalCluster {
  private readonly children = new Map<string, ChildProcess>();

  constructor(
    readonly nodes: readonly LocalNode[],
    private readonly dataDir: string,
    private readonly command: ForelockCommand = currentForelockCommand(),
    /** More `serve` flags: the same for every node, or each node's own (its TLS certificate, say). */
    private readonly extraArgs: readonly string[] | ((node: LocalNode) => readonly string[]) = [],
    private readonly events: LocalClusterEvents = {},
  ) {}

  /** Starts every node that is not running. */
  startAll(): void {
    for (const node of this.nodes) if (!this.children.has(node.id)) this.start(node);
  }

  /** Starts one node (again, after a stop: it resumes from its data folder). */
  start(node: LocalNode): void {
    const child = spawn(
      this.command.executable,
      [
        ...this.command.args,
        'serve',
        '--id',
        node.id,
        '--listen',
        node.listen,
        '--http',
        node.http,
        '--data',
        `${this.dataDir}/${node.id}`,
        '--peers',
        peersFlag(this.nodes),
        ...(typeof this.extraArgs === 'function' ? this.extraArgs(node) : this.extraArgs),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.children.set(node.id, child);
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line !== '') this.events.onOutput?.(node, line);
      });
    }
    child.on('exit', (code, signal) => {
      if (this.children.get(node.id) === child) this.children.delete(node.id);
      this.events.onExit?.(node, code, signal);
    });
  }

  /** Whether the node's process is running. */
  running(node: LocalNode): boolean {
    return this.children.has(node.id);
  }

  /** The process id of a running node (to sample its CPU and memory from outside), or undefined. */
  pid(node: LocalNode): number | undefined {
    return this.children.get(node.id)?.pid;
  }

  /** Sends `signal` to one node and waits for it to exit (SIGKILL after `graceMs`); returns its exit code. */
  async stop(node: LocalNode, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<number | null> {
    const child = this.children.get(node.id);
    if (child === undefined) return null;
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const [code] = await exited;
    clearTimeout(timer);
    return code;
  }

  /** Stops every node (SIGTERM, then SIGKILL after `graceMs`); resolves with their exit codes by id. */
  async stopAll(graceMs = 5_000): Promise<Record<string, number | null>> {
    const codes: Record<string, number | null> = {};
    await Promise.all(
      this.nodes.map(async (node) => {
        codes[node.id] = await this.stop(node, 'SIGTERM', graceMs);
      }),
    );
    return codes;
  }

  /**
   * The leader as the running nodes report it on GET /healthz (open to probes, so it answers with auth enabled too),
   * or null when none is known (or none answers).
   */
  async leader(): Promise<LocalNode | null> {
    for (const node of this.nodes) {
      if (!this.running(node)) continue;
      try {
        const response = await fetch(`http://${node.http}/healthz`, { signal: AbortSignal.timeout(1_000) });
        const status = (await response.json()) as Pick<StatusJson, 'leader'>;
        const leader = this.nodes.find((each) => each.id === status.leader);
        if (leader !== undefined && this.running(leader)) return leader;
      } catch {
        // Not up yet or stopping: ask the next node.
      }
    }
    return null;
  }
}
