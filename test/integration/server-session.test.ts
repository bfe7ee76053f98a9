// The session stream against a real single-node server (RaftNode + LockStateMachine) on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeServer } from '../../src/server/node-server.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, openSession, RawSession, startTestNode, tempDir } from './server-harness.js';

let node: NodeServer;
let address: string;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir('forelock-server-session-');
  removeDir = dir.remove;
  node = await startTestNode(dir.path);
  address = addressOf(node);
  await waitFor('a leader', () => node.services.duties.active);
});

afterAll(async () => {
  await node?.close();
  await removeDir?.();
});

describe('opening a session', () => {
  it('answers with a random id, a secret, the guarantee (the TTL) and keepalives every g/3', async () => {
    const { stream, opened } = await openSession(address, { clientName: 'worker-1', ttlMs: 9_000 });
    expect(opened.sessionId).toMatch(/^[0-9a-f]{32}$/);
    expect(opened.secret.length).toBeGreaterThanOrEqual(43);
    expect(opened).toMatchObject({ ttlMs: 9_000, guaranteeMs: 9_000, keepaliveIntervalMs: 3_000, leaderId: 'node1' });
    // (A session just opened has given the SPM no reason to shorten its guarantee: it is the TTL.)
    expect(node.machine.session(opened.sessionId)?.clientName).toBe('worker-1');
    stream.cancel();
  });
});

describe('keepalives', () => {
  it('are answered with the receive time, the guarantee and the interval, and every frame names the last seq', async () => {
    const { stream } = await openSession(address);
    stream.send({ keepalive: { seq: '1', clientTimeMs: Date.now(), rttMs: 0 } });
    const first = await stream.next('keepalive');
    expect(first.lastKeepaliveSeq).toBe('1');
    // The TTL unless the SPM shortens it (never below the 3 s floor); keepalives every g/3 either way.
    const { guaranteeMs, keepaliveIntervalMs } = first.keepalive as {
      guaranteeMs: number;
      keepaliveIntervalMs: number;
    };
    expect(first.keepalive).toMatchObject({ seq: '1' });
    expect(guaranteeMs).toBeGreaterThanOrEqual(3_000);
    expect(guaranteeMs).toBeLessThanOrEqual(10_000);
    expect(keepaliveIntervalMs).toBe(Math.floor(guaranteeMs / 3));
    const answer = first.keepalive as { serverReceiveMs: number };
    expect(answer.serverReceiveMs).toBeLessThanOrEqual(first.serverTimeMs);
    stream.send({ keepalive: { seq: '2', clientTimeMs: Date.now(), rttMs: 1 } });
    stream.send({ acquire: { requestSeq: '1', name: 'keepalive/lock', waitMs: 0 } });
    const grant = await stream.next('acquire');
    expect(grant.lastKeepaliveSeq).toBe('2');
    stream.cancel();
  });
});

describe('acquire and release on the stream', () => {
  it('grants a free lock, queues a second session FIFO and grants it with a higher token on release', async () => {
    const a = await openSession(address);
    const b = await openSession(address);
    a.stream.send({ acquire: { requestSeq: '1', name: 'orders/42', mode: 'EXCLUSIVE', waitMs: 30_000 } });
    const granted = (await a.stream.next('acquire')).acquire as { status: string; token: string };
    expect(granted.status).toBe('GRANTED');
    b.stream.send({ acquire: { requestSeq: '7', name: 'orders/42', waitMs: 30_000, fenced: true } });
    const queued = (await b.stream.next('acquire')).acquire as { status: string; position: number };
    // position counts the waiters ahead in the queue: 0 is next in line.
    expect(queued).toMatchObject({ status: 'QUEUED', position: 0 });
    a.stream.send({ release: { requestSeq: '2', name: 'orders/42', token: granted.token } });
    expect((await a.stream.next('done')).done).toMatchObject({ requestSeq: '2', name: 'orders/42' });
    const later = (await b.stream.next('acquire')).acquire as { status: string; token: string; requestSeq: string };
    expect(later).toMatchObject({ status: 'GRANTED', requestSeq: '7', fenced: true });
    expect(BigInt(later.token)).toBeGreaterThan(BigInt(granted.token));
    a.stream.cancel();
    b.stream.cancel();
  });

  it('fails a try-lock on a held lock with LOCK_BUSY and changes nothing', async () => {
    const a = await openSession(address);
    const b = await openSession(address);
    a.stream.send({ acquire: { requestSeq: '1', name: 'busy', waitMs: 0 } });
    await a.stream.next('acquire');
    b.stream.send({ acquire: { requestSeq: '1', name: 'busy', waitMs: 0 } });
    const error = (await b.stream.next('error')).error;
    expect(error).toMatchObject({ requestSeq: '1', name: 'busy', code: 'LOCK_BUSY', retriable: false });
    expect(node.machine.lock('busy')?.waiters).toHaveLength(0);
    expect(node.machine.lock('busy')?.holders.map((h) => h.sessionId)).toEqual([a.opened.sessionId]);
    a.stream.cancel();
    b.stream.cancel();
  });

  it('answers a retried request_seq with the current state instead of applying it twice', async () => {
    const { stream } = await openSession(address);
    stream.send({ acquire: { requestSeq: '5', name: 'retry', waitMs: 0 } });
    const first = (await stream.next('acquire')).acquire as { token: string };
    stream.send({ acquire: { requestSeq: '5', name: 'retry', waitMs: 0 } });
    const again = (await stream.next('acquire')).acquire as { token: string; status: string };
    expect(again).toMatchObject({ status: 'GRANTED', token: first.token });
    expect(node.machine.lock('retry')?.holders).toHaveLength(1);
    stream.cancel();
  });

  it('cancels a queued acquire', async () => {
    const a = await openSession(address);
    const b = await openSession(address);
    a.stream.send({ acquire: { requestSeq: '1', name: 'cancel-me', waitMs: 0 } });
    await a.stream.next('acquire');
    b.stream.send({ acquire: { requestSeq: '1', name: 'cancel-me', waitMs: 10_000 } });
    await b.stream.next('acquire', (f) => (f.acquire as { status: string }).status === 'QUEUED');
    b.stream.send({ cancel: { requestSeq: '2', name: 'cancel-me' } });
    expect((await b.stream.next('done')).done).toMatchObject({ requestSeq: '2', name: 'cancel-me' });
    expect(node.machine.lock('cancel-me')?.waiters).toHaveLength(0);
    a.stream.cancel();
    b.stream.cancel();
  });
});

describe('resuming a session', () => {
  it('on a new stream with id and secret lists the held locks and keeps routing pushes to the new stream', async () => {
    const a = await openSession(address);
    a.stream.send({ acquire: { requestSeq: '1', name: 'resume/held', mode: 'SHARED', waitMs: 0, fenced: true } });
    const token = ((await a.stream.next('acquire')).acquire as { token: string }).token;
    a.stream.cancel();
    await a.stream.ended;
    const resumed = new RawSession(address);
    resumed.send({ open: { sessionId: a.opened.sessionId, secret: a.opened.secret } });
    const opened = (await resumed.next('opened')).opened as { sessionId: string; secret: string; held: unknown[] };
    expect(opened.sessionId).toBe(a.opened.sessionId);
    expect(opened.secret).toBe('');
    expect(opened.held).toEqual([{ name: 'resume/held', mode: 'SHARED', token, fenced: true }]);
    resumed.send({ release: { requestSeq: '2', name: 'resume/held', token } });
    expect((await resumed.next('done')).done).toMatchObject({ requestSeq: '2' });
    resumed.cancel();
  });

  it("is sent again the Pre-emption Request of an operator's revoke scheduled while it was away", async () => {
    const a = await openSession(address);
    a.stream.send({ acquire: { requestSeq: '1', name: 'resume/revoked', waitMs: 0 } });
    const token = ((await a.stream.next('acquire')).acquire as { token: string }).token;
    a.stream.cancel();
    await a.stream.ended;
    // An ordinary lock: revoked when the promise already given ends, so the hold outlives the disconnection.
    const [scheduled] = await node.services.duties.revoke('resume/revoked', '', false, 'disk swap');
    expect(scheduled?.immediate).toBe(false);
    const resumed = new RawSession(address);
    resumed.send({ open: { sessionId: a.opened.sessionId, secret: a.opened.secret } });
    await resumed.next('opened');
    const request = (await resumed.next('preemption')).preemption as {
      resourceId: string;
      token: string;
      graceMs: number;
      revokeAtMs: number;
      reason: string;
    };
    expect(request).toMatchObject({
      resourceId: 'resume/revoked',
      token,
      revokeAtMs: scheduled?.revokeAtMs,
      reason: 'disk swap',
    });
    expect(request.graceMs).toBeGreaterThanOrEqual(0);
    expect(request.graceMs).toBeLessThanOrEqual(scheduled?.graceMs ?? 0);
    resumed.send({ release: { requestSeq: '2', name: 'resume/revoked', token } });
    expect((await resumed.next('done')).done).toMatchObject({ requestSeq: '2' });
    resumed.cancel();
  });

  it('supersedes an older stream of the same session with ABORTED', async () => {
    const a = await openSession(address);
    const second = new RawSession(address);
    second.send({ open: { sessionId: a.opened.sessionId, secret: a.opened.secret } });
    await second.next('opened');
    const end = await a.stream.ended;
    expect(end.code).toBe(10); // ABORTED
    expect(end.details).toContain('newer stream');
    second.cancel();
  });
});

describe('ending a session', () => {
  it('close releases its locks and answers SessionEnded{closed}', async () => {
    const { stream, opened } = await openSession(address);
    stream.send({ acquire: { requestSeq: '1', name: 'closing', waitMs: 0 } });
    await stream.next('acquire');
    stream.send({ close: {} });
    expect((await stream.next('ended')).ended).toEqual({ reason: 'closed' });
    expect((await stream.ended).code).toBe(0);
    expect(node.machine.session(opened.sessionId)).toBeUndefined();
    expect(node.machine.lock('closing')).toBeUndefined();
  });

  it('CloseSession followed at once by a half-close is committed and answered with SessionEnded{closed}', async () => {
    const { stream, opened } = await openSession(address);
    stream.send({ acquire: { requestSeq: '1', name: 'closing-fast', waitMs: 0 } });
    await stream.next('acquire');
    stream.send({ close: {} });
    stream.end();
    expect((await stream.next('ended')).ended).toEqual({ reason: 'closed' });
    expect((await stream.ended).code).toBe(0);
    expect(node.machine.session(opened.sessionId)).toBeUndefined();
    expect(node.machine.lock('closing-fast')).toBeUndefined();
  });

  it('a session whose keepalives stop expires one TTL after its last promise, and its waiter is granted', async () => {
    const sentOpenAtMs = Date.now();
    const silent = await openSession(address, { ttlMs: 1_000 });
    silent.stream.send({ acquire: { requestSeq: '1', name: 'expiring', waitMs: 0 } });
    const first = (await silent.stream.next('acquire')).acquire as { token: string };
    const waiter = await openSession(address);
    waiter.stream.send({ acquire: { requestSeq: '1', name: 'expiring', waitMs: 30_000 } });
    await waiter.stream.next('acquire', (f) => (f.acquire as { status: string }).status === 'QUEUED');
    expect((await silent.stream.next('ended', () => true, 5_000)).ended).toEqual({ reason: 'expired' });
    // Never before the promise: the open's receipt + TTL, and the open was received after it was sent.
    expect(Date.now() - sentOpenAtMs).toBeGreaterThanOrEqual(1_000);
    const granted = (await waiter.stream.next('acquire')).acquire as { status: string; token: string };
    expect(granted.status).toBe('GRANTED');
    expect(BigInt(granted.token)).toBeGreaterThan(BigInt(first.token));
    waiter.stream.cancel();
  });

  it('keepalives keep a short-TTL session alive past its TTL', async () => {
    const { stream, opened } = await openSession(address, { ttlMs: 2_000 });
    const startedMs = Date.now();
    let seq = 0;
    while (Date.now() - startedMs < 3_000) {
      seq += 1;
      stream.send({ keepalive: { seq: String(seq), clientTimeMs: Date.now(), rttMs: 0 } });
      await stream.next('keepalive', (f) => f.lastKeepaliveSeq === String(seq));
      await new Promise((resolve) => setTimeout(resolve, 250)); // the client's keepalive pacing, not synchronization
    }
    expect(node.machine.session(opened.sessionId)).toBeDefined();
    stream.cancel();
  });
});
