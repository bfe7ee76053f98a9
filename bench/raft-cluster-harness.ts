// Spawns and drives Raft node processes on 127.0.0.1 (bench/raft-node-process.ts) for the real-process test and the benchmark.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadRequest, LoadResult, NodeProcessStatus, StartRequest } from './raft-node-process.js';

/** The node program beside this file: the compiled .js under dist/, or the .ts source run through tsx. */
function nodeProgram(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  return {
    file: join(here, '..', fromSource ? 'raft-node-process.ts' : 'raft-node-process.js'),
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

/** One node process and its JSON-lines control channel. */
export class NodeProcess {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextRequestId = 1;
  private exited = false;
  /** Resolves with the bound port once the process listens. */
  readonly listening: Promise<number>;
  /** Resolves when the process has exited. */
  readonly exit: Promise<void>;
  stderr = '';

  constructor(
    readonly nodeId: string,
    port: number,
  ) {
    const program = nodeProgram();
    // Run from the program's folder so `--import tsx` resolves from the package, whatever the caller's cwd.
    this.child = spawn(process.execPath, [...program.execArgv, program.file, String(port)], {
      cwd: dirname(program.file),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.exit = new Promise((resolve) => {
      this.child.on('exit', () => {
        this.exited = true;
        for (const waiter of this.waiting.values()) waiter.reject(new Error(`${nodeId} exited: ${this.stderr}`));
        this.waiting.clear();
        resolve();
      });
    });
    this.listening = new Promise((resolve, reject) => {
      const lines = createInterface({ input: this.child.stdout! });
      lines.on('line', (line) => {
        const message = JSON.parse(line) as {
          event?: string;
          port?: number;
          id?: number;
          result?: unknown;
          error?: string;
        };
        if (message.event === 'listening') return resolve(message.port!);
        const waiter = this.waiting.get(message.id!);
        if (waiter === undefined) return;
        this.waiting.delete(message.id!);
        if (message.error !== undefined) waiter.reject(new Error(`${nodeId}: ${message.error}`));
        else waiter.resolve(message.result);
      });
      void this.exit.then(() => reject(new Error(`${nodeId} exited before listening: ${this.stderr}`)));
    });
  }

  private request<T>(cmd: string, args?: unknown): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.nodeId} is not running`));
    const id = this.nextRequestId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  }

  get running(): boolean {
    return !this.exited;
  }

  start(request: StartRequest): Promise<void> {
    return this.request('start', request);
  }

  status(): Promise<NodeProcessStatus> {
    return this.request('status');
  }

  load(request: LoadRequest): Promise<LoadResult> {
    return this.request('load', request);
  }

  /** Asks the node to close cleanly and waits for the process to exit. */
  async stop(): Promise<void> {
    if (this.exited) return;
    await this.request('stop').catch(() => {});
    await this.exit;
  }

  /** kill -9: no chance to flush or close anything. */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    await this.exit;
  }
}

/** Options of a local cluster. */
export interface LocalClusterOptions {
  readonly size: number;
  readonly snapshotEveryEntries?: number;
  readonly tickMs?: number;
}

/** A cluster of node processes on 127.0.0.1 with data dirs in a temp dir; destroy() kills and removes everything. */
export class LocalCluster {
  readonly nodes = new Map<string, NodeProcess>();
  readonly members: Record<string, string> = {};
  private constructor(
    readonly baseDir: string,
    private readonly options: LocalClusterOptions,
  ) {}

  /** Spawns `size` processes, reads their bound ports, and starts every node as a founding voter. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const cluster = new LocalCluster(await mkdtemp(join(tmpdir(), 'forelock-raft-')), options);
    try {
      const ids = Array.from({ length: options.size }, (_, i) => `n${i + 1}`);
      for (const id of ids) cluster.nodes.set(id, new NodeProcess(id, 0));
      for (const id of ids) cluster.members[id] = `127.0.0.1:${await cluster.nodes.get(id)!.listening}`;
      await Promise.all(ids.map((id) => cluster.startNode(id)));
      return cluster;
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
  }

  private startNode(id: string): Promise<void> {
    return this.nodes.get(id)!.start({
      nodeId: id,
      dataDir: join(this.baseDir, id),
      members: this.members,
      snapshotEveryEntries: this.options.snapshotEveryEntries,
      tickMs: this.options.tickMs,
    });
  }

  node(id: string): NodeProcess {
    const node = this.nodes.get(id);
    if (node === undefined) throw new RangeError(`no node ${id}`);
    return node;
  }

  /** Restarts a stopped or killed node on its old port and data dir. */
  async restart(id: string): Promise<NodeProcess> {
    const port = Number(this.members[id]!.split(':')[1]);
    const node = new NodeProcess(id, port);
    this.nodes.set(id, node);
    await node.listening;
    await this.startNode(id);
    return node;
  }

  /** Statuses of every running node. */
  async statuses(): Promise<Map<string, NodeProcessStatus>> {
    const result = new Map<string, NodeProcessStatus>();
    for (const [id, node] of this.nodes) if (node.running) result.set(id, await node.status());
    return result;
  }

  /**
   * Polls statuses (every 20 ms) until `predicate` holds, or throws after `timeoutMs` with the last statuses.
   * Returns the statuses that satisfied it.
   */
  async waitFor(
    what: string,
    predicate: (statuses: Map<string, NodeProcessStatus>) => boolean,
    timeoutMs: number,
  ): Promise<Map<string, NodeProcessStatus>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await this.statuses();
      if (predicate(statuses)) return statuses;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify([...statuses])}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Waits until every running node agrees on one leader among them, and returns its id. */
  async waitForLeader(timeoutMs: number): Promise<string> {
    const statuses = await this.waitFor(
      'one leader that every running node follows',
      (all) => {
        const leaders = [...all].filter(([, s]) => s.role === 'leader');
        if (leaders.length !== 1) return false;
        const [leaderId, leader] = leaders[0]!;
        return [...all.values()].every((s) => s.leaderId === leaderId && s.term === leader.term);
      },
      timeoutMs,
    );
    return [...statuses].find(([, s]) => s.role === 'leader')![0];
  }

  /** Stops every process (cleanly when it answers within 5 s, else kill -9) and removes the data dirs. */
  async destroy(): Promise<void> {
    await Promise.all(
      [...this.nodes.values()].map(async (node) => {
        const timer = setTimeout(() => void node.kill(), 5_000);
        await node.stop();
        clearTimeout(timer);
      }),
    );
    await rm(this.baseDir, { recursive: true, force: true });
  }
}
