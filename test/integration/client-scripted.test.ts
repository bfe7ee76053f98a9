// The SDK against a scripted Forelock server on 127.0.0.1 (a test double speaking proto/forelock/v1/forelock.proto), for the
// frames a real cluster sends rarely or not yet: NotLeader hints, a stream dropped mid-request (re-sent with the
// same request_seq on resumption), pre-emption caps, warnings, revocations, SessionEnded and locks missing on resume.
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  connect,
  LockLostError,
  type PreemptionNotice,
  SessionExpiredError,
  type StalenessWarning,
  TimeoutError,
  UnavailableError,
} from '../../src/index.js';
import { MuxChannelCall } from '../../src/server/session-mux.js';
import { waitFor } from '../support/wait-for.js';
import { type ScriptedStream, useScriptedFixtures } from './scripted-server.js';

const { scripted, connectTo, defer } = useScriptedFixtures();

describe('leader discovery', () => {
  it('follows a NotLeader hint to the leader it names', async () => {
    const follower = await scripted();
    const leader = await scripted();
    const connecting = connect({ endpoints: [follower.address], name: 'x', backoff: { initialMs: 10, maxMs: 50 } });
    const refused = await follower.stream(0);
    await refused.next('open');
    refused.send({ notLeader: { leaderId: 'leader', leaderAddress: leader.address } });
    refused.call.end();
    const accepted = await leader.stream(0);
    await accepted.next('open');
    accepted.opened();
    const client = await connecting;
    defer(() => client.close());
    expect(client.session.connectedTo).toBe(leader.address);
    expect(client.session.id).toBe('s1');
  });
});

describe('connect', () => {
  it('rejects with AbortError when its signal aborts while no leader answers', async () => {
    const server = await scripted();
    const controller = new AbortController();
    const connecting = connect({ endpoints: [server.address], name: 'x', signal: controller.signal });
    await (await server.stream(0)).next('open'); // never answered
    controller.abort();
    const error = await connecting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
  });

  it('rejects with UnavailableError after connectTimeoutMs when every endpoint says no leader is known', async () => {
    const server = await scripted();
    const connecting = connect({
      endpoints: [server.address],
      name: 'x',
      connectTimeoutMs: 1_000,
      backoff: { initialMs: 10, maxMs: 20 },
    });
    let settled = false;
    const outcome = connecting
      .catch((e: unknown) => e)
      .finally(() => {
        settled = true;
      });
    // Refuse every attempt, as a cluster without a leader does, until connect() gives up.
    for (let n = 0; !settled; n++) {
      const stream = await waitFor<ScriptedStream | 'done'>(
        `attempt #${n} or the end`,
        () => server.streams[n] ?? (settled ? 'done' : undefined),
      );
      if (stream === 'done') break;
      await stream.next('open');
      stream.send({ notLeader: { leaderId: '', leaderAddress: '' } });
      stream.call.end();
    }
    const error = await outcome;
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain(`no leader answered on ${server.address} within 1000 ms`);
    expect(server.streams.length).toBeGreaterThan(1); // it retried after a backoff
  });
});

describe('keepalives', () => {
  it('sends keepalives at the interval the server gives, with increasing seqs, its clock and the measured RTT', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server, { keepaliveIntervalMs: 30 });
    const first = (await stream.next('keepalive')).keepalive as { seq: string; clientTimeMs: number; rttMs: number };
    expect(first.rttMs).toBe(0); // nothing measured yet
    expect(Math.abs(first.clientTimeMs - Date.now())).toBeLessThan(5_000);
    stream.send({
      keepalive: { seq: first.seq, serverReceiveMs: Date.now(), guaranteeMs: 10_000, keepaliveIntervalMs: 30 },
    });
    const safeAfterAnswer = client.session.safeUntil;
    const second = (await stream.next('keepalive')).keepalive as { seq: string; rttMs: number };
    expect(Number(second.seq)).toBeGreaterThan(Number(first.seq));
    expect(second.rttMs).toBeGreaterThan(0);
    // The answer's guarantee counts from the first keepalive's send time, minus 1% drift and the 100 ms margin.
    expect(safeAfterAnswer).toBeLessThanOrEqual(first.clientTimeMs + 10_000 * 0.99 - 100 + 50);
    expect(safeAfterAnswer).toBeGreaterThan(Date.now() + 5_000);
  });
});

describe('acquire frames', () => {
  it('send never_preempt (and the deprecated preemptible, for older servers) from the preemptible option', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    type Sent = { requestSeq: string; neverPreempt: boolean; preemptible: boolean };
    const byDefault = client.acquire('pre/default');
    const optedOut = client.acquire('pre/out', { preemptible: false });
    const first = (await stream.next('acquire')).acquire as Sent;
    const second = (await stream.next('acquire')).acquire as Sent;
    expect(first).toMatchObject({ neverPreempt: false, preemptible: true });
    expect(second).toMatchObject({ neverPreempt: true, preemptible: false });
    stream.grant(first.requestSeq, 'pre/default', '1');
    stream.grant(second.requestSeq, 'pre/out', '2');
    await Promise.all([byDefault, optedOut]);
  });

  it('a RequestError TIMEOUT (the leader cancelled a waiter whose wait_ms ran out) rejects with TimeoutError', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    const acquiring = client.acquire('jobs/slow', { waitMs: 60_000 });
    const sent = (await stream.next('acquire')).acquire as { requestSeq: string; waitMs: number };
    expect(sent.waitMs).toBe(60_000);
    stream.send({ acquire: { requestSeq: sent.requestSeq, name: 'jobs/slow', status: 'QUEUED', position: 0 } });
    stream.send({
      error: {
        requestSeq: sent.requestSeq,
        name: 'jobs/slow',
        code: 'TIMEOUT',
        message: 'wait ran out',
        retriable: false,
      },
    });
    const error = await acquiring.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'TIMEOUT', message: 'wait ran out' });
  });
});

describe('resumption', () => {
  it('re-sends a pending acquire with the same request_seq after the stream drops, resuming with id and secret', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    const acquiring = client.acquire('jobs/a', { waitMs: 30_000 });
    const sent = (await stream.next('acquire')).acquire as { requestSeq: string; name: string };
    stream.call.end(); // the leader vanished before answering
    const resumed = await server.stream(1);
    const open = (await resumed.next('open')).open as { sessionId: string; secret: string };
    expect(open).toMatchObject({ sessionId: 's1', secret: 'secret-1' });
    resumed.opened({ secret: '' });
    const resent = (await resumed.next('acquire')).acquire as { requestSeq: string; name: string };
    expect(resent.requestSeq).toBe(sent.requestSeq);
    expect(resent.name).toBe('jobs/a');
    resumed.grant(resent.requestSeq, 'jobs/a', '17');
    const lock = await acquiring;
    expect(lock.token).toBe(17n);
  });

  it('treats a lock the cluster no longer lists on resumption as lost', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    const acquiring = client.acquire('jobs/b');
    const sent = (await stream.next('acquire')).acquire as { requestSeq: string };
    stream.grant(sent.requestSeq, 'jobs/b', '5');
    const lock = await acquiring;
    stream.call.end();
    const resumed = await server.stream(1);
    await resumed.next('open');
    resumed.opened({ secret: '', held: [] });
    await waitFor('the lock to be lost', () => lock.signal.aborted);
    expect((lock.signal.reason as LockLostError).lossCause).toBe('not-resumed');
    expect(client.session.signal.aborted).toBe(false);
  });
});

describe('lock frames', () => {
  it('a Pre-emption Request caps a fenced lock at its grace, calls the handler, and the lock is lost when it passes', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    stream.answerKeepalives(10_000);
    const acquiring = client.acquire('jobs/c', { fenced: true });
    const sent = (await stream.next('acquire')).acquire as { requestSeq: string };
    stream.grant(sent.requestSeq, 'jobs/c', '9', true);
    const lock = await acquiring;
    expect(lock.safeUntil).toBeGreaterThan(Date.now() + 5_000);
    const notices: PreemptionNotice[] = [];
    lock.onPreemption((notice) => notices.push(notice));
    const beforeMs = Date.now();
    stream.preempt('jobs/c', '9', 400);
    await waitFor('the handler to run', () => notices.length === 1);
    expect(notices[0]).toMatchObject({ name: 'jobs/c', token: 9n, graceMs: 400, reason: 'waiters' });
    // Counted from the send time of a keepalive sent before the request: never later than the server's deadline.
    expect(lock.safeUntil).toBeLessThanOrEqual(beforeMs + 400);
    await waitFor('the lock to be lost at the end of its grace', () => lock.signal.aborted, 5_000);
    expect((lock.signal.reason as LockLostError).lossCause).toBe('safe-period-passed');
    // The SDK hands the lock back so the next holder need not wait.
    const release = (await stream.next('release')).release as { name: string; token: string };
    expect(release).toMatchObject({ name: 'jobs/c', token: '9' });
    expect(client.session.signal.aborted).toBe(false);
  });

  it('a Pre-emption Request sent again (after a resume) reaches the handlers once; a new one reaches them again', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    const acquiring = client.acquire('jobs/twice');
    const sent = (await stream.next('acquire')).acquire as { requestSeq: string };
    stream.grant(sent.requestSeq, 'jobs/twice', '11');
    const lock = await acquiring;
    const notices: PreemptionNotice[] = [];
    const events: string[] = [];
    lock.onPreemption((notice) => notices.push(notice));
    (async () => {
      for await (const event of lock.events()) events.push(event.type);
    })();
    stream.preempt('jobs/twice', '11', 5_000, 'disk swap', '');
    stream.preempt('jobs/twice', '11', 4_000, 'disk swap', '');
    stream.preempt('jobs/twice', '11', 3_000, 'waiters', 'w9');
    // Frames are handled in order: once the last request is heard, the repeated one has been handled too.
    await waitFor('the last request to reach the handler', () => notices.at(-1)?.reason === 'waiters');
    expect(notices.map((n) => n.reason)).toEqual(['disk swap', 'waiters']);
    await waitFor('the event stream to see the last request', () => events.length >= 2);
    expect(events).toEqual(['preemption', 'preemption']);
  });

  it('a Staleness Warning reaches the handler and its answer goes back on the stream', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    const acquiring = client.acquire('jobs/d');
    const sent = (await stream.next('acquire')).acquire as { requestSeq: string };
    stream.grant(sent.requestSeq, 'jobs/d', '3');
    const lock = await acquiring;
    const warnings: StalenessWarning[] = [];
    lock.onWarning((warning) => {
      warnings.push(warning);
      return { kind: 'checkpointing', checkpointMs: 1_500 };
    });
    stream.warn('jobs/d', '3', 'w7');
    const answer = (await stream.next('warningAnswer')).warningAnswer as Record<string, unknown>;
    expect(answer).toEqual({ warningId: 'w7', name: 'jobs/d', kind: 'CHECKPOINTING', checkpointMs: 1_500 });
    expect(warnings[0]).toMatchObject({ name: 'jobs/d', token: 3n, preemptionScore: 85, reasons: ['rtt rising'] });
    expect(lock.held).toBe(true);
  });

  it('a RevocationNotice aborts lock.signal with LockLostError', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    const acquiring = client.acquire('jobs/e');
    const sent = (await stream.next('acquire')).acquire as { requestSeq: string };
    stream.grant(sent.requestSeq, 'jobs/e', '4');
    const lock = await acquiring;
    stream.revoke('jobs/e', '4', 'operator', 'maintenance');
    await waitFor('the lock to be revoked', () => lock.signal.aborted);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect((lock.signal.reason as LockLostError).message).toContain('operator: maintenance');
    expect(client.locks()).toEqual([]);
  });

  it('SessionEnded aborts the session signal and fails pending requests', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    const pending = client.acquire('jobs/f', { waitMs: 30_000 });
    await stream.next('acquire');
    stream.send({ ended: { reason: 'expired' } });
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionExpiredError);
    expect((error as SessionExpiredError).reason).toBe('expired');
    expect(client.session.signal.aborted).toBe(true);
    // Later calls fail the same way, at once.
    const later = await client.acquire('jobs/g', { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(later).toBeInstanceOf(SessionExpiredError);
  });
});

describe('sessions sharing one stream', () => {
  it('two clients in one process ride one Sessions stream, each session on a channel of its own', async () => {
    const server = await scripted();
    const first = await connectTo(server, { sessionId: 's1' });
    const second = await connectTo(server, { sessionId: 's2' });
    expect([first.stream.call, second.stream.call].every((call) => call instanceof MuxChannelCall)).toBe(true);
    expect(new Set([first.stream.call, second.stream.call]).size).toBe(2);
    expect(server.sessionsCalls).toBe(1);
    expect([first.client.session.id, second.client.session.id]).toEqual(['s1', 's2']);
  });

  it('falls back to a Session stream of its own on a server that does not serve Sessions', async () => {
    const server = await scripted({ sessions: false });
    const { client, stream } = await connectTo(server);
    expect(stream.call).not.toBeInstanceOf(MuxChannelCall);
    expect(client.session.id).toBe('s1');
  });

  it('multiplex: false gives the session a Session stream of its own', async () => {
    const server = await scripted();
    const connecting = connect({ endpoints: [server.address], name: 'own', multiplex: false });
    const stream = await server.stream(0);
    await stream.next('open');
    stream.opened();
    const client = await connecting;
    defer(() => client.close());
    expect(stream.call).not.toBeInstanceOf(MuxChannelCall);
    expect(server.sessionsCalls).toBe(0);
  });
});
