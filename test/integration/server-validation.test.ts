// Bad input against a real single-node server: each case gets a clear gRPC status or RequestError and changes nothing.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeServer } from '../../src/server/node-server.js';
import { waitFor } from '../support/wait-for.js';
import {
  addressOf,
  adminClient,
  type Frame,
  openSession,
  RawSession,
  startTestNode,
  tempDir,
} from './server-harness.js';

let node: NodeServer;
let address: string;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir('forelock-server-validation-');
  removeDir = dir.remove;
  node = await startTestNode(dir.path, { maxWaitersPerLock: 1, maxSessionsPerClient: 2 });
  address = addressOf(node);
  await waitFor('a leader', () => node.services.duties.active);
});

afterAll(async () => {
  await node?.close();
  await removeDir?.();
});

/** What the replicated state looks like, to show that a refused request changed nothing. */
function stateSnapshot(): unknown {
  return { sessions: node.machine.sessions(), locks: node.machine.locks() };
}

/** Sessions of this file live a minute, so none expires (and changes the state) while a case runs. */
const LONG_TTL = { ttlMs: 60_000 };

async function refusedAcquire(name: string): Promise<Frame> {
  const { stream } = await openSession(address, LONG_TTL);
  const before = stateSnapshot();
  stream.send({ acquire: { requestSeq: '1', name, waitMs: 0 } });
  const frame = await stream.next('error');
  expect(stateSnapshot()).toEqual(before);
  stream.cancel();
  return frame;
}

describe('lock names', () => {
  it('refuses an empty name with INVALID_ARGUMENT', async () => {
    const { error } = await refusedAcquire('');
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', retriable: false });
    expect((error as { message: string }).message).toContain('lock name must be 1-512 bytes of printable UTF-8, got 0');
  });

  it('refuses a name over 512 bytes with INVALID_ARGUMENT', async () => {
    const { error } = await refusedAcquire('é'.repeat(257));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((error as { message: string }).message).toContain('got 514');
  });

  it('refuses a non-printable name with INVALID_ARGUMENT', async () => {
    const { error } = await refusedAcquire('bad\u0007name');
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((error as { message: string }).message).toContain('control character U+0007');
  });
});

describe('sessions', () => {
  it('answers the resumption of an unknown session with SessionEnded{not-found} and NOT_FOUND', async () => {
    const before = stateSnapshot();
    const stream = new RawSession(address);
    stream.send({ open: { sessionId: '0123456789abcdef0123456789abcdef', secret: 'x' } });
    expect((await stream.next('ended')).ended).toEqual({ reason: 'not-found' });
    const end = await stream.ended;
    expect(end.code).toBe(grpc.status.NOT_FOUND);
    expect(end.details).toContain('does not exist');
    expect(stateSnapshot()).toEqual(before);
  });

  it('refuses a wrong session secret with PERMISSION_DENIED', async () => {
    const { stream: owner, opened } = await openSession(address, LONG_TTL);
    const before = stateSnapshot();
    const thief = new RawSession(address);
    thief.send({ open: { sessionId: opened.sessionId, secret: 'not-the-secret' } });
    const end = await thief.ended;
    expect(end.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(end.details).toContain('wrong secret');
    expect(thief.unread()).toEqual([]);
    expect(stateSnapshot()).toEqual(before);
    owner.cancel();
  });

  it('refuses a TTL under 1 s with INVALID_ARGUMENT', async () => {
    const before = stateSnapshot();
    const stream = new RawSession(address);
    stream.send({ open: { clientName: 'short', ttlMs: 999 } });
    const end = await stream.ended;
    expect(end.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(end.details).toContain('session TTL must be an integer from 1000 ms (1 s) to 3600000 ms (1 h), got 999');
    expect(stateSnapshot()).toEqual(before);
  });

  it('refuses a TTL over 1 h with INVALID_ARGUMENT', async () => {
    const before = stateSnapshot();
    const stream = new RawSession(address);
    stream.send({ open: { clientName: 'long', ttlMs: 3_600_001 } });
    const end = await stream.ended;
    expect(end.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(end.details).toContain('got 3600001');
    expect(stateSnapshot()).toEqual(before);
  });

  it('refuses more sessions per client than configured with RESOURCE_EXHAUSTED', async () => {
    const first = await openSession(address, { ...LONG_TTL, clientName: 'greedy' });
    const second = await openSession(address, { ...LONG_TTL, clientName: 'greedy' });
    const before = stateSnapshot();
    const third = new RawSession(address);
    third.send({ open: { clientName: 'greedy', ttlMs: 10_000 } });
    const end = await third.ended;
    expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.details).toContain('limit is 2');
    expect(node.machine.sessions()).toEqual((before as { sessions: unknown }).sessions);
    first.stream.cancel();
    second.stream.cancel();
  });

  it('refuses a first frame that is not open with INVALID_ARGUMENT', async () => {
    const before = stateSnapshot();
    const stream = new RawSession(address);
    stream.send({ acquire: { requestSeq: '1', name: 'no-session', waitMs: 0 } });
    const end = await stream.ended;
    expect(end.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(end.details).toContain('first frame of a session stream must be "open"');
    expect(stateSnapshot()).toEqual(before);
  });
});

describe('release', () => {
  it('refuses a wrong token with STALE_TOKEN and keeps the holder', async () => {
    const { stream } = await openSession(address, LONG_TTL);
    stream.send({ acquire: { requestSeq: '1', name: 'wrong-token', waitMs: 0 } });
    const token = BigInt(((await stream.next('acquire')).acquire as { token: string }).token);
    const before = node.machine.lock('wrong-token');
    stream.send({ release: { requestSeq: '2', name: 'wrong-token', token: String(token + 1000n) } });
    expect((await stream.next('error')).error).toMatchObject({ requestSeq: '2', code: 'STALE_TOKEN' });
    expect(node.machine.lock('wrong-token')).toEqual(before);
    stream.cancel();
  });

  it('refuses the stale token of an earlier grant with STALE_TOKEN', async () => {
    const { stream } = await openSession(address, LONG_TTL);
    stream.send({ acquire: { requestSeq: '1', name: 'stale', waitMs: 0 } });
    const old = ((await stream.next('acquire')).acquire as { token: string }).token;
    stream.send({ release: { requestSeq: '2', name: 'stale', token: old } });
    await stream.next('done');
    stream.send({ acquire: { requestSeq: '3', name: 'stale', waitMs: 0 } });
    await stream.next('acquire');
    const before = node.machine.lock('stale');
    stream.send({ release: { requestSeq: '4', name: 'stale', token: old } });
    expect((await stream.next('error')).error).toMatchObject({ requestSeq: '4', code: 'STALE_TOKEN' });
    expect(node.machine.lock('stale')).toEqual(before);
    stream.cancel();
  });

  it('refuses a double release with NOT_HELD', async () => {
    const { stream } = await openSession(address, LONG_TTL);
    stream.send({ acquire: { requestSeq: '1', name: 'twice', waitMs: 0 } });
    const token = ((await stream.next('acquire')).acquire as { token: string }).token;
    stream.send({ release: { requestSeq: '2', name: 'twice', token } });
    await stream.next('done');
    const before = stateSnapshot();
    stream.send({ release: { requestSeq: '3', name: 'twice', token } });
    expect((await stream.next('error')).error).toMatchObject({ requestSeq: '3', code: 'NOT_HELD' });
    expect(stateSnapshot()).toEqual(before);
    stream.cancel();
  });
});

describe('limits', () => {
  it('refuses more waiters per lock than configured with TOO_MANY_WAITERS (retriable)', async () => {
    const holder = await openSession(address, LONG_TTL);
    const waiter = await openSession(address, LONG_TTL);
    const extra = await openSession(address, LONG_TTL);
    holder.stream.send({ acquire: { requestSeq: '1', name: 'crowded', waitMs: 0 } });
    await holder.stream.next('acquire');
    waiter.stream.send({ acquire: { requestSeq: '1', name: 'crowded', waitMs: 10_000 } });
    await waiter.stream.next('acquire');
    const before = node.machine.lock('crowded');
    extra.stream.send({ acquire: { requestSeq: '1', name: 'crowded', waitMs: 10_000 } });
    expect((await extra.stream.next('error')).error).toMatchObject({ code: 'TOO_MANY_WAITERS', retriable: true });
    expect(node.machine.lock('crowded')).toEqual(before);
    for (const each of [holder, waiter, extra]) each.stream.cancel();
  });

  it('refuses an acquire in a frame over 64 KiB alone, as INVALID_ARGUMENT naming the limit; the session goes on', async () => {
    const { stream } = await openSession(address, LONG_TTL);
    const before = stateSnapshot();
    stream.send({ acquire: { requestSeq: '1', name: 'huge', waitMs: 0, metadata: 'x'.repeat(100 * 1024) } });
    const refused = (await stream.next('error')).error;
    expect(refused).toMatchObject({
      requestSeq: '1',
      name: 'huge',
      code: 'INVALID_ARGUMENT',
      retriable: false,
      message: expect.stringMatching(/exceeds the limit of 65536 bytes/),
    });
    expect(stateSnapshot()).toEqual(before);
    // The same stream and session take the next request.
    stream.send({ acquire: { requestSeq: '2', name: 'after-huge', waitMs: 0 } });
    expect((await stream.next('acquire')).acquire).toMatchObject({ requestSeq: '2', status: 'GRANTED' });
    stream.cancel();
  });

  it('ends the stream with RESOURCE_EXHAUSTED on a frame too large to read (over 16 x the limit), changing nothing', async () => {
    const { stream } = await openSession(address, LONG_TTL);
    const before = stateSnapshot();
    stream.send({ acquire: { requestSeq: '1', name: 'huger', waitMs: 0, metadata: 'x'.repeat(17 * 65_536) } });
    const end = await stream.ended;
    expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.details).toMatch(/exceeds the limit of 65536 bytes/);
    expect(stateSnapshot()).toEqual(before);
  });

  it('refuses an admin request over 64 KiB with RESOURCE_EXHAUSTED', async () => {
    const admin = adminClient(address);
    await expect(admin.call('ListLocks', { prefix: 'p'.repeat(70_000) })).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
    admin.close();
  });
});
