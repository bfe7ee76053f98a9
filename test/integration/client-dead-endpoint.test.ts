// The SDK when an endpoint is a crashed host (it accepts nothing and refuses nothing: the handshake just hangs):
// connect() moves on to the next endpoint after the dial timeout, and a session with a short TTL survives the crash
// of its leader whose address then hangs the same way.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/index.js';
import type { NodeServer } from '../../src/server/node-server.js';
import { waitFor } from '../support/wait-for.js';
import { freePort, startTestNode, tempDir } from './server-harness.js';

/**
 * A TCP front for one address on 127.0.0.1: forwards to `target` until `crash()`, then drops every open connection
 * and holds new ones silently, as a host that vanished does (connections to it neither open nor fail).
 */
class CrashableProxy {
  private readonly sockets = new Set<Socket>();
  private crashed = false;
  private readonly server: Server;
  /** Connections accepted after the crash (held silently). */
  heldAfterCrash = 0;

  private constructor(
    readonly address: string,
    private readonly target: string | null,
  ) {
    this.server = createServer((socket) => this.accept(socket));
    if (target === null) this.crashed = true;
  }

  /** A proxy for `target` (null: a dead host from the start) listening on a free port. */
  static async start(target: string | null): Promise<CrashableProxy> {
    const proxy = new CrashableProxy(`127.0.0.1:${await freePort()}`, target);
    const port = Number(proxy.address.split(':')[1]);
    await new Promise<void>((resolve) => proxy.server.listen(port, '127.0.0.1', resolve));
    return proxy;
  }

  crash(): void {
    this.crashed = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.crash();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {});
    if (this.crashed || this.target === null) {
      this.heldAfterCrash++;
      this.sockets.add(socket); // never answered, never closed until close()
      return;
    }
    const [host, port] = this.target.split(':') as [string, string];
    const upstream = tcpConnect(Number(port), host);
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    this.sockets.add(socket);
    this.sockets.add(upstream);
    socket.pipe(upstream).pipe(socket);
  }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Three in-process nodes, each reached (by peers and clients alike) through its own CrashableProxy. */
async function proxiedCluster(): Promise<{
  nodes: NodeServer[];
  proxies: Map<string, CrashableProxy>;
  /** The node's host vanishes: its streams break and its address hangs from now on. */
  crash(node: NodeServer): Promise<void>;
}> {
  const dir = await tempDir('forelock-dead-endpoint-');
  cleanups.push(() => dir.remove());
  const listens: Record<string, string> = {};
  const proxies = new Map<string, CrashableProxy>();
  for (const id of ['node1', 'node2', 'node3']) {
    listens[id] = `127.0.0.1:${await freePort()}`;
    const proxy = await CrashableProxy.start(listens[id] as string);
    cleanups.push(() => proxy.close());
    proxies.set(id, proxy);
  }
  const peers = Object.fromEntries([...proxies].map(([id, proxy]) => [id, proxy.address]));
  const nodes = await Promise.all(
    Object.keys(listens).map((id) => startTestNode(join(dir.path, id), { id, listen: listens[id], peers })),
  );
  const running = new Set(nodes);
  cleanups.push(() => Promise.all([...running].map((node) => node.close())));
  return {
    nodes,
    proxies,
    async crash(node) {
      proxies.get(node.config.id)?.crash();
      running.delete(node);
      await node.close();
    },
  };
}

function leaderOf(nodes: readonly NodeServer[]): Promise<NodeServer> {
  return waitFor('a leader in office', () =>
    nodes.find((node) => node.raft.status().role === 'leader' && node.services.duties.active),
  );
}

describe('a crashed endpoint', () => {
  it('costs connect() one dial timeout, and a leader crash does not cost a 3 s session its lock', async () => {
    const { nodes, proxies, crash } = await proxiedCluster();
    const leader = await leaderOf(nodes);
    const dead = await CrashableProxy.start(null);
    cleanups.push(() => dead.close());
    const endpoints = [dead.address, ...[...proxies.values()].map((p) => p.address)];

    // TTL 3 s: the dial timeout is 300 ms; before the fix every attempt on a dead host took 5 s.
    const startedMs = Date.now();
    const client: Client = await connect({ endpoints, name: 'survivor', ttlMs: 3_000, connectTimeoutMs: 20_000 });
    const connectMs = Date.now() - startedMs;
    cleanups.push(() => client.close());
    expect(dead.heldAfterCrash).toBe(1);
    expect(client.session.connectedTo).toBe(proxies.get(leader.config.id)?.address);
    expect(connectMs).toBeLessThan(5_000);

    const lock = await client.acquire('jobs/survive');
    // The leader's host vanishes: its address hangs from now on, also when stale hints name it.
    await crash(leader);
    const survivors = nodes.filter((node) => node !== leader);
    const newLeader = await leaderOf(survivors);
    const newAddress = proxies.get(newLeader.config.id)?.address;
    await waitFor('the client to resume on the new leader', () => client.session.connectedTo === newAddress, 20_000);
    // Two keepalive rounds on the new leader: the session's promise is renewed, so the client kept it throughout.
    const renewedAfterMs = Date.now();
    await waitFor('a renewed promise', () => client.session.safeUntil > renewedAfterMs + 1_000, 10_000);
    expect(client.session.signal.aborted).toBe(false);
    expect(lock.held).toBe(true);
    expect(newLeader.machine.session(client.session.id)).toBeDefined();
    await lock.release();
  });
});
