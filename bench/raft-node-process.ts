// One Raft node in its own process, driven over JSON lines on stdin/stdout (the real-process test and the benchmark).
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { Packr } from 'msgpackr';
import { percentile } from '../src/eval/stats.js';
import { bootstrapConf } from '../src/raft/bootstrap.js';
import { RaftNode } from '../src/raft/node.js';
import { PEER_MAX_MESSAGE_BYTES, registerPeerService } from '../src/raft/transport.js';
import type { Entry, NodeId, StateMachine } from '../src/raft/types.js';

/** The first request, which starts the node; the process has already bound its port. */
export interface StartRequest {
  readonly nodeId: NodeId;
  readonly dataDir: string;
  readonly members: Readonly<Record<NodeId, string>>;
  readonly snapshotEveryEntries?: number;
  readonly tickMs?: number;
}

/** Proposers run inside this process: `concurrency` closed loops until `maxCommits` or `durationMs`. */
export interface LoadRequest {
  readonly concurrency: number;
  readonly entryBytes: number;
  readonly maxCommits?: number;
  readonly durationMs?: number;
}

/** What a load run measured. */
export interface LoadResult {
  readonly commits: number;
  readonly failures: number;
  readonly elapsedMs: number;
  readonly commitsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly firstError: string | null;
}

/** What `status` answers: the node's Raft status plus the state machine's count and digest. */
export interface NodeProcessStatus {
  readonly role: string;
  readonly term: number;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** Normal entries applied, and a hash chained over each one's index, term and data. */
  readonly count: number;
  readonly digest: string;
  /** The entry count of the last snapshot restored (0 when none): shows a catch-up went through a snapshot. */
  readonly lastRestoredCount: number;
  readonly eventLoopDelayMs: number;
  /** CPU time (user + system) this process has used, in ms. */
  readonly cpuMs: number;
}

const packr = new Packr({ useRecords: false });

/** One FNV-1a 32-bit step over a byte. */
function fnv(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, 0x01000193) >>> 0;
}

/**
 * Counts entries and chains two FNV-1a lanes over each one's index, term and data, so two nodes that applied the
 * same entries have the same digest. Cheap on purpose: the benchmark measures replication, not the state machine.
 */
class ChainStateMachine implements StateMachine {
  count = 0;
  private laneA = 0x811c9dc5;
  private laneB = 0x01234567;
  lastRestoredCount = 0;

  get digest(): string {
    return `${this.laneA.toString(16).padStart(8, '0')}${this.laneB.toString(16).padStart(8, '0')}`;
  }

  apply(entry: Entry): number {
    let a = this.laneA;
    let b = this.laneB;
    for (const value of [entry.index, entry.term]) {
      for (let shift = 0; shift < 32; shift += 8) {
        a = fnv(a, (value >>> shift) & 255);
        b = fnv(b, (value >>> (24 - shift)) & 255);
      }
    }
    for (const byte of entry.data) {
      a = fnv(a, byte);
      b = fnv(b, byte ^ 0x5a);
    }
    this.laneA = a;
    this.laneB = b;
    return ++this.count;
  }

  snapshot(): Uint8Array {
    return packr.pack({ count: this.count, laneA: this.laneA, laneB: this.laneB });
  }

  restore(data: Uint8Array): void {
    const state = packr.unpack(data) as { count: number; laneA: number; laneB: number };
    this.count = state.count;
    this.laneA = state.laneA;
    this.laneB = state.laneB;
    this.lastRestoredCount = state.count;
  }
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function runLoad(node: RaftNode, request: LoadRequest): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  let firstError: string | null = null;
  let started = 0;
  const startMs = performance.now();
  const deadlineMs = request.durationMs === undefined ? Number.POSITIVE_INFINITY : startMs + request.durationMs;
  const maxCommits = request.maxCommits ?? Number.POSITIVE_INFINITY;
  const worker = async (): Promise<void> => {
    while (started < maxCommits && performance.now() < deadlineMs) {
      started++;
      // Distinct entries without paying for randomness on the hot path: a sequence number over a filler byte.
      const data = new Uint8Array(request.entryBytes).fill(started & 255);
      if (data.byteLength >= 4) new DataView(data.buffer).setUint32(0, started);
      const t0 = performance.now();
      try {
        await node.propose(data);
        latencies.push(performance.now() - t0);
      } catch (error) {
        failures++;
        firstError ??= String(error);
        if (failures > 100) return;
      }
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, worker));
  const elapsedMs = performance.now() - startMs;
  return {
    commits: latencies.length,
    failures,
    elapsedMs,
    commitsPerSecond: (latencies.length * 1000) / elapsedMs,
    p50Ms: percentile(latencies, 0.5) ?? 0,
    p99Ms: percentile(latencies, 0.99) ?? 0,
    firstError,
  };
}

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? '0');
  const server = new grpc.Server({ 'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES });
  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const reply = (message: unknown): void => {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  };
  reply({ event: 'listening', port: boundPort });

  const machine = new ChainStateMachine();
  let node = null as RaftNode | null;
  const handlers: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
    start: async (args) => {
      const start = args as unknown as StartRequest;
      node = await RaftNode.start({
        id: start.nodeId,
        dataDir: start.dataDir,
        stateMachine: machine,
        initialConf: bootstrapConf(start.members),
        snapshotEveryEntries: start.snapshotEveryEntries,
        tickMs: start.tickMs,
        onFatal: (error) => {
          process.stderr.write(`fatal: ${String(error)}\n`);
          process.exit(70);
        },
      });
      registerPeerService(server, node.transport);
      return null;
    },
    status: async () => {
      const status = node!.status();
      const result: NodeProcessStatus = {
        role: status.role,
        term: status.term,
        leaderId: status.leaderId,
        commitIndex: status.commitIndex,
        appliedIndex: status.appliedIndex,
        count: machine.count,
        digest: machine.digest,
        lastRestoredCount: machine.lastRestoredCount,
        eventLoopDelayMs: node!.eventLoopDelayMs(),
        cpuMs: cpuMs(),
      };
      return result;
    },
    load: async (args) => runLoad(node!, args as unknown as LoadRequest),
    stop: async () => {
      await node?.close();
      server.forceShutdown();
      setImmediate(() => process.exit(0));
      return null;
    },
  };

  for await (const line of createInterface({ input: process.stdin })) {
    const request = JSON.parse(line) as { id: number; cmd: string; args?: Record<string, unknown> };
    const handler = handlers[request.cmd];
    if (handler === undefined) {
      reply({ id: request.id, error: `unknown command ${request.cmd}` });
      continue;
    }
    handler(request.args ?? {}).then(
      (result) => reply({ id: request.id, result }),
      (error: unknown) => reply({ id: request.id, error: String(error) }),
    );
  }
  // stdin closed: the parent is gone.
  await node?.close();
  server.forceShutdown();
  process.exit(0);
}

await main();
