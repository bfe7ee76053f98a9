import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerTransport, registerPeerService } from '../../src/raft/transport.js';
import type { Message, NodeId } from '../../src/raft/types.js';
import { waitFor } from '../support/wait-for.js';

interface Endpoint {
  readonly transport: PeerTransport;
  readonly server: grpc.Server;
  readonly address: string;
  readonly received: Message[];
  readonly unreachable: NodeId[];
}

const started: Endpoint[] = [];

async function bind(server: grpc.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
}

async function endpoint(
  selfId: NodeId,
  options: { faultInjection?: boolean; port?: number; maxQueuedMessages?: number } = {},
): Promise<Endpoint> {
  const received: Message[] = [];
  const unreachable: NodeId[] = [];
  const transport = new PeerTransport({
    selfId,
    onMessage: (message) => received.push(message),
    onUnreachable: (peer) => unreachable.push(peer),
    faultInjection: options.faultInjection,
    maxQueuedMessages: options.maxQueuedMessages,
  });
  const server = new grpc.Server();
  registerPeerService(server, transport);
  const port = await bind(server, options.port);
  const result = { transport, server, address: `127.0.0.1:${port}`, received, unreachable };
  started.push(result);
  return result;
}

async function stop(e: Endpoint): Promise<void> {
  e.transport.close();
  e.server.forceShutdown();
}

const heartbeat = (from: NodeId, to: NodeId, commit: number): Message => ({
  type: 'append',
  from,
  to,
  term: 1,
  prevLogIndex: 0,
  prevLogTerm: 0,
  entries: [{ index: commit, term: 1, type: 'normal', data: new Uint8Array(100).fill(commit & 255) }],
  commit,
});

afterEach(async () => {
  await Promise.all(started.splice(0).map(stop));
});

describe('gRPC peer transport', () => {
  it('delivers batched messages in order over one stream per peer', async () => {
    const a = await endpoint('a');
    const b = await endpoint('b');
    a.transport.setPeers({ a: a.address, b: b.address });
    for (let i = 1; i <= 1000; i++) a.transport.send([heartbeat('a', 'b', i)]);
    a.transport.flush();
    await waitFor('b received all 1000', () => b.received.length === 1000, 5_000);
    expect(b.received.map((m) => (m as Extract<Message, { type: 'append' }>).commit)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    expect(b.received[0]).toEqual(heartbeat('a', 'b', 1));
  });

  it('ignores messages addressed to another node and drops messages to unknown peers', async () => {
    const a = await endpoint('a');
    const b = await endpoint('b');
    a.transport.setPeers({ b: b.address });
    a.transport.send([heartbeat('a', 'c', 1), heartbeat('a', 'b', 2)]);
    a.transport.flush();
    await waitFor('b received one', () => b.received.length === 1, 5_000);
    expect(a.transport.droppedMessages).toBe(1);
  });

  it('drops rather than queues without bound, and reports a dropped snapshot chunk as unreachable', async () => {
    const a = await endpoint('a', { maxQueuedMessages: 10 });
    const b = await endpoint('b');
    a.transport.setPeers({ b: b.address });
    for (let i = 1; i <= 100; i++) a.transport.send([heartbeat('a', 'b', i)]);
    a.transport.send([
      {
        type: 'snapshot',
        from: 'a',
        to: 'b',
        term: 1,
        meta: { index: 5, term: 1, conf: { voters: ['a', 'b'], learners: [], addresses: {} } },
        offset: 0,
        chunk: new Uint8Array(10),
        done: true,
      },
    ]);
    expect(a.transport.droppedMessages).toBe(91);
    expect(a.unreachable).toEqual(['b']);
    a.transport.flush();
    await waitFor('b received 10', () => b.received.length === 10, 5_000);
    expect(b.received.map((m) => (m as Extract<Message, { type: 'append' }>).commit)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });

  it('refuses fault injection unless constructed for it', async () => {
    const a = await endpoint('a');
    const b = await endpoint('b');
    a.transport.setPeers({ b: b.address });
    expect(() => a.transport.setFault('b', { delayMs: 0, jitterMs: 0, dropProbability: 1 })).toThrow(
      expect.objectContaining({ code: 'FAULT_INJECTION_DISABLED' }),
    );
  });

  it('drops and delays messages when faults are injected', async () => {
    const a = await endpoint('a', { faultInjection: true });
    const b = await endpoint('b');
    a.transport.setPeers({ b: b.address });
    a.transport.setFault('b', { delayMs: 0, jitterMs: 0, dropProbability: 1 });
    for (let i = 1; i <= 50; i++) a.transport.send([heartbeat('a', 'b', i)]);
    a.transport.flush();
    expect(a.transport.droppedMessages).toBe(50);
    a.transport.setFault('b', { delayMs: 30, jitterMs: 10, dropProbability: 0 });
    a.transport.send([heartbeat('a', 'b', 99)]);
    a.transport.flush();
    await waitFor('b received one', () => b.received.length === 1, 5_000);
    expect(b.received[0]).toMatchObject({ commit: 99 });
    a.transport.setFault('b', null);
  });

  it('reports an unreachable peer and reconnects when it comes back on the same port', async () => {
    const a = await endpoint('a');
    let b = await endpoint('b');
    const port = Number(b.address.split(':')[1]);
    a.transport.setPeers({ b: b.address });
    a.transport.send([heartbeat('a', 'b', 1)]);
    a.transport.flush();
    await waitFor('b received one', () => b.received.length === 1, 5_000);
    await stop(b);
    started.splice(started.indexOf(b), 1);
    await waitFor('a finds b unreachable', () => a.unreachable.includes('b'), 5_000);
    b = await endpoint('b', { port });
    await waitFor(
      'the restarted b receives a heartbeat',
      () => {
        a.transport.send([heartbeat('a', 'b', 2)]);
        a.transport.flush();
        return b.received.length > 0;
      },
      5_000,
    );
    expect(b.received[0]).toMatchObject({ commit: 2 });
  });
});
