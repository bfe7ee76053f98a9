import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Packr } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootstrapConf, joiningConf } from '../../src/raft/bootstrap.js';
import { RaftNode } from '../../src/raft/node.js';
import { registerPeerService } from '../../src/raft/transport.js';
import type { ConfState, Entry, StateMachine } from '../../src/raft/types.js';
import { waitFor } from '../support/wait-for.js';

const packr = new Packr({ useRecords: false });

/** Appends every entry's first byte; apply returns the list length. */
class ListMachine implements StateMachine {
  items: number[] = [];
  apply(entry: Entry): number {
    this.items.push(entry.data[0]!);
    return this.items.length;
  }
  snapshot(): Uint8Array {
    return packr.pack(this.items);
  }
  restore(data: Uint8Array): void {
    this.items = packr.unpack(data) as number[];
  }
}

interface Member {
  node: RaftNode;
  server: grpc.Server;
  machine: ListMachine;
}

async function listen(server: grpc.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
}

describe('RaftNode on three in-process nodes over gRPC', () => {
  let dir: string;
  const members = new Map<string, Member>();
  const addresses: Record<string, string> = {};

  async function startMember(
    id: string,
    initialConf: ConfState,
    snapshotEveryEntries = 10_000,
    machine = new ListMachine(),
    faultInjection = false,
  ): Promise<Member> {
    const node = await RaftNode.start({
      faultInjection,
      id,
      dataDir: join(dir, id),
      stateMachine: machine,
      initialConf,
      tickMs: 10,
      snapshotEveryEntries,
      applyChunkEntries: 100,
      knownPeers: addresses,
    });
    const server = new grpc.Server();
    registerPeerService(server, node.transport);
    await listen(server, Number(addresses[id]!.split(':')[1]));
    const member = { node, server, machine };
    members.set(id, member);
    return member;
  }

  async function stopMember(id: string): Promise<void> {
    const member = members.get(id)!;
    members.delete(id);
    await member.node.close();
    member.server.forceShutdown();
  }

  async function reservePort(): Promise<number> {
    const server = new grpc.Server();
    const port = await listen(server, 0);
    server.forceShutdown();
    return port;
  }

  async function startCluster(snapshotEveryEntries?: number, faultInjection = false): Promise<void> {
    for (const id of ['a', 'b', 'c']) addresses[id] = `127.0.0.1:${await reservePort()}`;
    for (const id of ['a', 'b', 'c']) {
      await startMember(id, bootstrapConf(addresses), snapshotEveryEntries, new ListMachine(), faultInjection);
    }
  }

  function leader(): Member | undefined {
    return [...members.values()].find((m) => m.node.status().role === 'leader');
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'forelock-node-'));
  });

  afterEach(async () => {
    for (const id of [...members.keys()]) await stopMember(id);
    for (const id of Object.keys(addresses)) delete addresses[id];
    await rm(dir, { recursive: true, force: true });
  });

  it('elects a leader, commits proposals everywhere and returns the apply result', async () => {
    await startCluster();
    await waitFor('a leader', () => leader() !== undefined);
    const { node } = leader()!;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => node.propose(new Uint8Array([i % 256]))));
    expect(results.map((r) => r.result).sort((x, y) => (x as number) - (y as number))).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    const leaderItems = leader()!.machine.items;
    await waitFor('every node applied 200 entries', () =>
      [...members.values()].every((m) => m.machine.items.length === 200),
    );
    for (const member of members.values()) expect(member.machine.items).toEqual(leaderItems);
  });

  it('answers RaftNotLeaderError with the leader address on a follower, and serves read barriers on the leader', async () => {
    await startCluster();
    await waitFor('a leader', () => leader() !== undefined);
    const leaderMember = leader()!;
    await waitFor('followers know the leader', () =>
      [...members.values()].every((m) => m.node.status().leaderId === leaderMember.node.id),
    );
    const follower = [...members.values()].find((m) => m !== leaderMember)!;
    await expect(follower.node.propose(new Uint8Array([1]))).rejects.toMatchObject({
      code: 'NOT_LEADER',
      retriable: true,
      leaderId: leaderMember.node.id,
      leaderAddress: addresses[leaderMember.node.id],
    });
    await expect(follower.node.readBarrier()).rejects.toMatchObject({ code: 'NOT_LEADER' });
    await leaderMember.node.propose(new Uint8Array([7]));
    await leaderMember.node.readBarrier();
    expect(leaderMember.machine.items).toEqual([7]);
  });

  it('catches up a restarted follower through a snapshot after the log was compacted', async () => {
    await startCluster(50);
    await waitFor('a leader', () => leader() !== undefined);
    const lagging = [...members.keys()].find((id) => id !== leader()!.node.id)!;
    await stopMember(lagging);
    const { node } = leader()!;
    for (let i = 0; i < 300; i++) await node.propose(new Uint8Array([i % 256]));
    const expected = leader()!.machine.items.slice();
    const restarted = await startMember(lagging, bootstrapConf(addresses), 50);
    await waitFor('the restarted node caught up', () => restarted.machine.items.length === expected.length);
    expect(restarted.machine.items).toEqual(expected);
    expect(restarted.node.status().appliedIndex).toBe(leader()!.node.status().appliedIndex);
  });

  it('restarts the whole cluster from disk: snapshot plus log replay rebuild the same state everywhere', async () => {
    await startCluster(50);
    await waitFor('a leader', () => leader() !== undefined);
    for (let i = 0; i < 120; i++) await leader()!.node.propose(new Uint8Array([i]));
    const before = leader()!.machine.items.slice();
    for (const id of ['a', 'b', 'c']) await stopMember(id);
    for (const id of ['a', 'b', 'c']) await startMember(id, bootstrapConf(addresses), 50);
    await waitFor('a leader after the restart', () => leader() !== undefined);
    await leader()!.node.propose(new Uint8Array([200]));
    await waitFor('every node applied the new entry', () =>
      [...members.values()].every((m) => m.machine.items.length === before.length + 1),
    );
    for (const member of members.values()) expect(member.machine.items).toEqual([...before, 200]);
  });

  it('keeps every node identical over lossy, delayed and reordering links', async () => {
    await startCluster(100, true);
    for (const member of members.values()) {
      for (const peer of ['a', 'b', 'c']) {
        if (peer !== member.node.id) {
          member.node.transport.setFault(peer, { delayMs: 2, jitterMs: 8, dropProbability: 0.1 });
        }
      }
    }
    let committed = 0;
    const deadline = Date.now() + 30_000;
    while (committed < 300 && Date.now() < deadline) {
      const current = leader();
      if (current === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const batch = Array.from({ length: 20 }, (_, i) =>
        current.node.propose(new Uint8Array([i]), { signal: AbortSignal.timeout(2_000) }),
      );
      committed += (await Promise.allSettled(batch)).filter((r) => r.status === 'fulfilled').length;
    }
    expect(committed).toBeGreaterThanOrEqual(300);
    for (const member of members.values()) {
      for (const peer of ['a', 'b', 'c']) if (peer !== member.node.id) member.node.transport.setFault(peer, null);
    }
    const applied = (): number[] => [...members.values()].map((m) => m.node.status().appliedIndex);
    await waitFor('every node applied the same prefix', () => new Set(applied()).size === 1, 20_000);
    const [first, ...rest] = [...members.values()].map((m) => m.machine.items);
    expect(first!.length).toBeGreaterThanOrEqual(300);
    for (const items of rest) expect(items).toEqual(first);
  });

  it('applies a large batch in bounded chunks, letting other callbacks run in between', async () => {
    addresses.solo = `127.0.0.1:${await reservePort()}`;
    const appliedWhenOthersRan: number[] = [];
    const machine = new ListMachine();
    const solo = await startMember('solo', bootstrapConf({ solo: addresses.solo }), 10_000, machine);
    await waitFor('the single voter leads', () => solo.node.status().role === 'leader');
    let watching = true;
    const watch = (): void => {
      appliedWhenOthersRan.push(machine.items.length);
      if (watching) setImmediate(watch);
    };
    const proposals = Array.from({ length: 1000 }, (_, i) => solo.node.propose(new Uint8Array([i % 256])));
    setImmediate(watch);
    await Promise.all(proposals);
    watching = false;
    expect(machine.items).toHaveLength(1000);
    // Other callbacks ran while the entries were being applied, and never more than a chunk (100) apart.
    const midway = appliedWhenOthersRan.filter((count) => count > 0 && count < 1000);
    expect(midway.length).toBeGreaterThanOrEqual(5);
    const steps = appliedWhenOthersRan.slice(1).map((count, i) => count - appliedWhenOthersRan[i]!);
    expect(Math.max(...steps)).toBeLessThanOrEqual(100);
  });

  it('stops waiting for a proposal when its signal aborts', async () => {
    addresses.solo = `127.0.0.1:${await reservePort()}`;
    const solo = await startMember('solo', bootstrapConf({ solo: addresses.solo }));
    await waitFor('the single voter leads', () => solo.node.status().role === 'leader');
    const reason = new Error('caller gave up');
    await expect(solo.node.propose(new Uint8Array([1]), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const controller = new AbortController();
    const waiting = solo.node.propose(new Uint8Array([2]), { signal: controller.signal });
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    // The entry itself was already in the log: it is still applied, exactly once.
    const { result } = await solo.node.propose(new Uint8Array([3]));
    expect(result).toBe(2);
    expect(solo.machine.items).toEqual([2, 3]);
  });

  it('fails proposals on a closed node', async () => {
    addresses.solo = `127.0.0.1:${await reservePort()}`;
    const solo = await startMember('solo', bootstrapConf({ solo: addresses.solo }));
    await stopMember('solo');
    await expect(solo.node.propose(new Uint8Array([1]))).rejects.toMatchObject({ code: 'NODE_CLOSED' });
  });

  it('adds a learner, promotes it and transfers leadership to it', async () => {
    await startCluster();
    await waitFor('a leader', () => leader() !== undefined);
    const first = leader()!;
    await first.node.propose(new Uint8Array([5]));
    addresses.d = `127.0.0.1:${await reservePort()}`;
    const joiner = await startMember('d', joiningConf());
    await first.node.addLearner('d', addresses.d);
    await expect(first.node.addLearner('d', addresses.d)).rejects.toMatchObject({ code: 'INVALID_CONF_CHANGE' });
    await waitFor('the learner has the log', () => joiner.machine.items.length === 1);
    // The learner may apply the entry before its acknowledgement reaches the leader, which promotes only then.
    await waitFor('the leader knows the learner caught up', () =>
      first.node.status().replication?.some((member) => member.id === 'd' && member.lagEntries === 0),
    );
    await first.node.promote('d');
    expect(first.node.status().conf.voters).toContain('d');
    await first.node.transferLeadership('d');
    await waitFor('d leads', () => joiner.node.status().role === 'leader');
    const { result } = await joiner.node.propose(new Uint8Array([6]));
    expect(result).toBe(2);
  });
});
