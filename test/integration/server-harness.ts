// Test harness for the server: in-process nodes on 127.0.0.1 ephemeral ports, raw gRPC session streams and admin
// calls, and waits with deadlines (never sleeps as synchronization).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { configFileLayer, resolveServerConfig, type ServerConfigInput } from '../../src/server/config.js';
import { type NodeServer, startNodeServer } from '../../src/server/node-server.js';
import { freePort } from '../../src/util/free-port.js';
import { forelockServices } from '../../src/util/proto.js';
import { waitFor } from '../support/wait-for.js';

/** Raft tick used by the tests: elections in 100-200 ms instead of 1-2 s. */
export const TEST_TICK_MS = 10;

/** Free loopback ports are picked as the demo's embedded cluster picks them. */
export { freePort };

/** A temp folder removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Starts a node in this process; config keys as in --config, with ephemeral ports and quiet logs by default. */
export async function startTestNode(dataDir: string, input: ServerConfigInput = {}): Promise<NodeServer> {
  const config = resolveServerConfig(
    configFileLayer(
      { listen: '127.0.0.1:0', http: '127.0.0.1:0', logLevel: 'silent', ...input, data: dataDir },
      'test node',
    ),
  );
  return startNodeServer(config, { log: pino({ level: config.logLevel }), tickMs: TEST_TICK_MS });
}

/** A server frame as the loader decodes it (oneof name in `frame`). */
export type Frame = { lastKeepaliveSeq: string; serverTimeMs: number; frame: string } & Record<string, unknown>;

/** How a stream ended. */
export interface StreamEnd {
  readonly code: grpc.status;
  readonly details: string;
  readonly metadata: grpc.Metadata;
}

/** A raw Forelock.Session stream with a queue of received frames. */
export class RawSession {
  private readonly frames: Frame[] = [];
  private readonly waiters = new Set<() => void>();
  readonly ended: Promise<StreamEnd>;
  private readonly call: grpc.ClientDuplexStream<unknown, Frame>;

  /** A stream to `address`, plaintext unless given `credentials`, with `metadata` (e.g. `authorization`) if given. */
  constructor(
    address: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    metadata: grpc.Metadata = new grpc.Metadata(),
  ) {
    const { Forelock } = forelockServices();
    const client = new Forelock(address, credentials);
    this.call = (
      client as unknown as { Session(metadata: grpc.Metadata): grpc.ClientDuplexStream<unknown, Frame> }
    ).Session(metadata);
    this.call.on('data', (frame: Frame) => {
      this.frames.push(frame);
      for (const wake of this.waiters) wake();
    });
    this.ended = new Promise((resolve) => {
      this.call.on('status', (status: grpc.StatusObject) => {
        client.close();
        resolve({ code: status.code, details: status.details, metadata: status.metadata });
      });
      this.call.on('error', () => {});
    });
  }

  /** Sends one ClientFrame (object form, e.g. `{ open: { ttlMs: 10000 } }`). */
  send(frame: Record<string, unknown>): void {
    this.call.write(frame);
  }

  /** Removes and returns the first received frame of kind `frame` matching `match`, waiting up to `timeoutMs`. */
  async next(kind: string, match: (frame: Frame) => boolean = () => true, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((frame) => frame.frame === kind && match(frame));
      if (index >= 0) return this.frames.splice(index, 1)[0] as Frame;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const seen = this.frames.map((frame) => frame.frame).join(', ') || 'none';
        throw new Error(`no "${kind}" frame within ${timeoutMs} ms (unread frames: ${seen})`);
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, remaining);
        this.waiters.add(done);
      });
    }
  }

  /** Frames received and not yet taken by next(). */
  unread(): Frame[] {
    return [...this.frames];
  }

  /** Half-closes the client side. */
  end(): void {
    this.call.end();
  }

  /** Cancels the call (like a client that vanished). */
  cancel(): void {
    this.call.cancel();
  }
}

/** SessionOpened as the loader decodes it. */
export type OpenedFrame = Record<string, unknown> & {
  sessionId: string;
  secret: string;
  guaranteeMs: number;
  keepaliveIntervalMs: number;
};

let sessionsOpened = 0;

/** A session opened on `address` (a fresh client name unless given): the stream and the SessionOpened frame. */
export async function openSession(
  address: string,
  open: Record<string, unknown> = {},
): Promise<{ stream: RawSession; opened: OpenedFrame }> {
  const stream = new RawSession(address);
  sessionsOpened += 1;
  stream.send({ open: { clientName: `test-${sessionsOpened}`, ttlMs: 10_000, ...open } });
  const frame = await stream.next('opened');
  return { stream, opened: frame.opened as OpenedFrame };
}

/** A promisified Admin client: plaintext unless given `credentials`; a call may carry `metadata` and `options`. */
export function adminClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): {
  call<T = Record<string, unknown>>(
    method: string,
    request: Record<string, unknown>,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): Promise<T>;
  close(): void;
} {
  const { Admin } = forelockServices();
  type Callback = (error: grpc.ServiceError | null, reply: unknown) => void;
  const client = new Admin(address, credentials) as unknown as Record<
    string,
    (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => void
  > &
    grpc.Client;
  return {
    call: <T>(
      method: string,
      request: Record<string, unknown>,
      metadata = new grpc.Metadata(),
      options: grpc.CallOptions = {},
    ) =>
      new Promise<T>((resolve, reject) => {
        (client[method] as (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: Callback) => void).call(
          client,
          request,
          metadata,
          options,
          (error, reply) => (error ? reject(error) : resolve(reply as T)),
        );
      }),
    close: () => client.close(),
  };
}

/** The gRPC address of a node as clients dial it. */
export function addressOf(node: NodeServer): string {
  return `127.0.0.1:${node.grpcAddress.port}`;
}

/** A cluster of in-process nodes on 127.0.0.1, each with its own data folder. */
export interface TestCluster {
  readonly nodes: NodeServer[];
  readonly peers: Record<string, string>;
  /** The running node that leads and has taken office (sessions extended), waiting up to 10 s. */
  leader(): Promise<NodeServer>;
  /** Closes one node (as a crash would end its streams) and forgets it. */
  stop(node: NodeServer): Promise<void>;
  close(): Promise<void>;
}

/** Starts `size` nodes named node1.. that form one cluster. */
export async function startCluster(size: number, input: ServerConfigInput = {}): Promise<TestCluster> {
  const dir = await tempDir('forelock-server-cluster-');
  const peers: Record<string, string> = {};
  for (let i = 1; i <= size; i++) peers[`node${i}`] = `127.0.0.1:${await freePort()}`;
  const nodes = await Promise.all(
    Object.entries(peers).map(([id, address]) =>
      startTestNode(join(dir.path, id), { ...input, id, listen: address, peers }),
    ),
  );
  const running = new Set(nodes);
  return {
    nodes,
    peers,
    leader: () =>
      waitFor('a leader in office', () =>
        [...running].find((node) => node.raft.status().role === 'leader' && node.services.duties.active),
      ),
    stop: async (node) => {
      running.delete(node);
      await node.close();
    },
    close: async () => {
      await Promise.all([...running].map((node) => node.close()));
      running.clear();
      await dir.remove();
    },
  };
}
