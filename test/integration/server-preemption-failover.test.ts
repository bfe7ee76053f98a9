// The leader dies in the middle of a pre-emption ladder: the new leader starts its ladder afresh (it knows no warning
// its predecessor sent and needs fresh keepalives before it may pre-empt), so the silent holder is lost exactly once
// (by expiry, after the new leader's grace) and the waiter is granted exactly once, with a higher token.
import { afterEach, describe, expect, it } from 'vitest';
import type { LockEvent } from '../../src/lock/commands.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, openSession, RawSession, startCluster, type TestCluster } from './server-harness.js';

let cluster: TestCluster | undefined;
const stops: (() => void)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await cluster?.close();
  cluster = undefined;
});

/** Keepalives every `intervalMs` on whatever stream `current()` returns; the client's pacing, not synchronization. */
function keepAlive(current: () => RawSession, intervalMs: number): { stop(): void; sent(): number } {
  let seq = 0;
  const timer = setInterval(() => {
    seq += 1;
    current().send({ keepalive: { seq: String(seq), clientTimeMs: Date.now(), rttMs: 0 } });
  }, intervalMs);
  const stop = (): void => clearInterval(timer);
  stops.push(stop);
  return { stop, sent: () => seq };
}

describe('leader killed in the middle of a ladder', () => {
  it('revokes nobody twice and loses no grant', async () => {
    cluster = await startCluster(3);
    const first = await cluster.leader();
    const holder = await openSession(addressOf(first), { ttlMs: 6_000 });
    const waiter = await openSession(addressOf(first), { ttlMs: 10_000 });
    let waiterStream = waiter.stream;
    const holderBeat = keepAlive(() => holder.stream, holder.opened.keepaliveIntervalMs);
    keepAlive(() => waiterStream, 1_000);
    holder.stream.send({
      acquire: { requestSeq: '1', name: 'ladder/lock', waitMs: 0, fenced: false, preemptible: true },
    });
    const token = ((await holder.stream.next('acquire')).acquire as { token: string }).token;
    waiter.stream.send({ acquire: { requestSeq: '1', name: 'ladder/lock', waitMs: 60_000 } });
    await waiter.stream.next('acquire', (f) => (f.acquire as { status: string }).status === 'QUEUED');
    await waitFor('four holder keepalives sent', () => holderBeat.sent() >= 4, 20_000);
    holderBeat.stop();
    await holder.stream.next('warning', () => true, 15_000);

    // The leader dies with the ladder under way; every node records what it applies from now on.
    const survivors = cluster.nodes.filter((node) => node !== first);
    const applied = new Map(survivors.map((node) => [node, [] as LockEvent[]]));
    for (const node of survivors) node.machine.onEvent((event) => applied.get(node)!.push(event));
    await cluster.stop(first);
    const second = await cluster.leader();
    waiterStream = new RawSession(addressOf(second));
    waiterStream.send({ open: { sessionId: waiter.opened.sessionId, secret: waiter.opened.secret } });
    await waiterStream.next('opened');
    const grant = (await waiterStream.next('acquire', () => true, 30_000)).acquire as { status: string; token: string };
    expect(grant.status).toBe('GRANTED');
    expect(BigInt(grant.token)).toBeGreaterThan(BigInt(token));

    const events = applied.get(second)!;
    const lost = events.filter(
      (event) => (event.type === 'revoked' || event.type === 'released') && event.sessionId === holder.opened.sessionId,
    );
    expect(lost).toHaveLength(1);
    const grants = events.filter((event) => event.type === 'granted' && event.name === 'ladder/lock');
    expect(grants.map((event) => event.sessionId)).toEqual([waiter.opened.sessionId]);
    expect(second.machine.lock('ladder/lock')?.holders.map((h) => h.token)).toEqual([BigInt(grant.token)]);
  });
});
