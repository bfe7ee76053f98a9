// Session stream rules on virtual time with a fake gRPC call: first frame, NotLeader, keepalive answers naming the
// last seq, a grant applied while its acquire was in flight, leadership loss, no answer after a broken promise, and
// flow control (a session whose answers cannot leave stops being read, the others go on).
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import * as protobuf from 'protobufjs';
import { describe, expect, it, vi } from 'vitest';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { Authenticator, type CredentialCarrier } from '../../src/server/authenticator.js';
import { ttlGuarantee } from '../../src/server/guarantee.js';
import { LeaderDuties } from '../../src/server/leader-duties.js';
import { LockService } from '../../src/server/lock-service.js';
import { DEFAULT_LEADER_HINT_WAIT_MS, SessionHub } from '../../src/server/session-hub.js';
import { channelFrameCodec, type MuxChannelCall, SessionMux, type SessionsCall } from '../../src/server/session-mux.js';
import { MAX_REQUESTS_IN_FLIGHT, type SessionCall, SessionStream } from '../../src/server/session-stream.js';
import { StalenessAdvisor } from '../../src/server/staleness.js';
import type { ClientFrame } from '../../src/server/wire.js';
import { SessionTracker } from '../../src/session/tracker.js';
import { ManualClock } from '../../src/util/clock.js';
import { FORELOCK_PROTO, forelockServices, protoDir } from '../../src/util/proto.js';
import { sessionFrameCodec, withFastSessionCodec } from '../../src/util/session-frame-codec.js';
import {
  type ClientChannelEvent,
  decodeServerBatch,
  encodeClientBatch,
  encodedSizeOf,
  type ServerChannelEvent,
} from '../../src/util/session-mux-codec.js';
import { FullCall } from './full-call.js';
import { FakeRaftNode } from './server-fake-raft.js';
import { testServerMetrics } from './test-server-metrics.js';

type Written = Record<string, unknown> & { lastKeepaliveSeq: string; serverTimeMs: number };

/** A grpc-js server duplex call reduced to what SessionStream uses: frames in, frames and a status out. */
class FakeCall extends EventEmitter {
  readonly written: Written[] = [];
  status: { code?: number; details?: string } | 'ok' | null = null;
  /** As grpc-js sets it: the client cancelled the call or its connection went away. */
  cancelled = false;

  constructor() {
    super();
    this.on('error', (error: { code?: number; details?: string }) => {
      this.status = error;
    });
  }

  write(frame: Written): boolean {
    this.written.push(frame);
    return true;
  }

  /** How many frames had been written when the stream ended (null: not ended with OK). */
  framesAtEnd: number | null = null;

  end(): void {
    this.status = 'ok';
    this.framesAtEnd ??= this.written.length;
  }

  /** Delivers a client frame and lets the handler's promises settle. */
  async receive(frame: ClientFrame): Promise<void> {
    this.emit('data', frame);
    await settle();
  }

  /** The client cancels the call, as grpc-js tells a server call. */
  goAway(): void {
    this.cancelled = true;
    this.emit('cancelled');
    this.emit('close');
  }

  /**
   * The client's process dies (kill -9): its kernel closes the connection, which grpc-js tells a server call as a
   * half-close at once followed by a cancel (seen on a real node: test/integration/server-crash-disconnect.test.ts).
   */
  crash(): void {
    this.emit('end');
    this.goAway();
  }

  kinds(): string[] {
    return this.written.map(
      (frame) => Object.keys(frame).find((key) => key !== 'lastKeepaliveSeq' && key !== 'serverTimeMs')!,
    );
  }
}

const T0 = 5_000_000;

/** The credentials of a plaintext gRPC call with no token (auth is off in these tests). */
const PLAINTEXT_CALLER = { metadata: new grpc.Metadata(), getAuthContext: () => ({}), getPeer: () => 'test-client' };

/** proto/forelock/v1/forelock.proto as another language's stubs see it (protobufjs, no SDK code). */
const protoRoot = new protobuf.Root().loadSync(join(protoDir(), FORELOCK_PROTO));

/** Lets handlers run: their promises, the end of the turn (when LockService proposes what it queued), then theirs. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function setup() {
  const clock = new ManualClock(T0);
  const machine = new LockStateMachine();
  const raft = new FakeRaftNode(machine);
  const tracker = new SessionTracker();
  const service = new LockService({ raft, machine, tracker, clock, guarantees: ttlGuarantee });
  const hub = new SessionHub(machine, raft);
  const metrics = testServerMetrics({ machine, raft, hub });
  const advisor = new StalenessAdvisor({ machine, tracker, hub, clock, metrics, mode: 'off' });
  const log = pino({ level: 'silent' });
  const authenticator = new Authenticator({ auth: machine.auth, clock, log });
  const deps = { service, hub, advisor, raft, clock, log, authenticator };
  const connect = (credentials: CredentialCarrier = PLAINTEXT_CALLER): FakeCall => {
    const call = new FakeCall();
    new SessionStream(call as unknown as SessionCall, deps, credentials);
    return call;
  };
  const open = async (ttlMs = 10_000): Promise<{ call: FakeCall; sessionId: string }> => {
    const call = connect();
    await call.receive({ frame: 'open', open: { clientName: 'c', ttlMs, sessionId: '', secret: '' } });
    return { call, sessionId: (call.written[0]!.opened as { sessionId: string }).sessionId };
  };
  return { clock, machine, raft, service, hub, tracker, deps, connect, open, authenticator };
}

/** A call carrying `token` as `authorization: Bearer TOKEN`. */
function bearer(token: string): CredentialCarrier {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return { ...PLAINTEXT_CALLER, metadata };
}

const acquire = (requestSeq: string, name: string, waitMs = 10_000): ClientFrame => ({
  frame: 'acquire',
  acquire: {
    requestSeq,
    name,
    mode: 'EXCLUSIVE',
    fenced: false,
    preemptible: true,
    waitMs,
    metadata: '',
    neverPreempt: false,
  },
});

describe('the first frame', () => {
  it('must be open: anything else ends the stream with INVALID_ARGUMENT', async () => {
    const { connect } = setup();
    const call = connect();
    await call.receive(acquire('1', 'x'));
    expect(call.status).toMatchObject({ code: 3 });
    expect(call.written).toEqual([]);
  });

  it('on a follower is answered with NotLeader naming the leader, and the stream ends OK', async () => {
    const { connect, raft, clock } = setup();
    raft.become('follower', 2, 'node2');
    const call = connect();
    await call.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId: '', secret: '' } });
    expect(call.written).toEqual([
      {
        lastKeepaliveSeq: '0',
        serverTimeMs: clock.now(),
        notLeader: { leaderId: 'node2', leaderAddress: 'node2:7400' },
      },
    ]);
    expect(call.status).toBe('ok');
  });

  it('on a node that knows no leader yet waits, and names the leader once elected, itself included', async () => {
    const { connect, raft } = setup();
    raft.become('candidate', 3, null);
    const resume = connect();
    await resume.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId: 's1', secret: 'x' } });
    expect(resume.written).toEqual([]);
    expect(resume.status).toBeNull();
    // A restarted node that wins its election sends the client straight back to itself, with no backoff.
    raft.become('leader', 4, 'node1');
    expect(resume.kinds()).toEqual(['notLeader']);
    expect(resume.written.at(-1)!.notLeader).toEqual({ leaderId: 'node1', leaderAddress: 'node1:7400' });
    expect(resume.status).toBe('ok');
  });

  it('frames that arrive while the open is in flight are handled after it, in the order they came', async () => {
    const { connect, machine } = setup();
    const call = connect();
    call.emit('data', { frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId: '', secret: '' } });
    call.emit('data', acquire('1', 'first'));
    call.emit('data', acquire('2', 'second'));
    await settle();
    await settle();
    expect(call.kinds()).toEqual(['opened', 'acquire', 'acquire']);
    const answered = call.written.slice(1).map((frame) => frame.acquire as { requestSeq: string; token: string });
    expect(answered.map((answer) => answer.requestSeq)).toEqual(['1', '2']);
    // Proposed in arrival order: the first acquire got the lower token.
    expect(BigInt(answered[0]!.token)).toBeLessThan(BigInt(answered[1]!.token));
    expect(machine.locks().map((lock) => lock.name)).toEqual(['first', 'second']);
  });

  it('a second open is refused with INVALID_ARGUMENT', async () => {
    const { open } = setup();
    const { call } = await open();
    await call.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId: '', secret: '' } });
    expect(call.status).toMatchObject({ code: 3 });
  });
});

describe('keepalives', () => {
  it('are answered with the receive time on the leader clock, g and g/3, and later frames name the last seq', async () => {
    const { open, clock } = setup();
    const { call } = await open(9_000);
    clock.advance(1_234);
    await call.receive({ frame: 'keepalive', keepalive: { seq: '41', clientTimeMs: 1, rttMs: 0 } });
    expect(call.written.at(-1)).toEqual({
      lastKeepaliveSeq: '41',
      serverTimeMs: T0 + 1_234,
      keepalive: { seq: '41', serverReceiveMs: T0 + 1_234, guaranteeMs: 9_000, keepaliveIntervalMs: 3_000 },
    });
    clock.advance(10);
    await call.receive(acquire('1', 'lock'));
    expect(call.written.at(-1)).toMatchObject({ lastKeepaliveSeq: '41', serverTimeMs: T0 + 1_244 });
  });

  it('are not answered once the promise has passed (the session is expiring, not renewed)', async () => {
    const { open, clock } = setup();
    const { call } = await open(2_000);
    clock.advance(2_000);
    await call.receive({ frame: 'keepalive', keepalive: { seq: '1', clientTimeMs: 1, rttMs: 0 } });
    expect(call.kinds()).toEqual(['opened']);
  });
});

describe('grants', () => {
  it('a grant applied while its acquire was in flight follows the QUEUED answer at once', async () => {
    const { open, raft } = setup();
    const holder = await open();
    await holder.call.receive(acquire('1', 'contended', 0));
    const token = (holder.call.written.at(-1)!.acquire as { token: string }).token;
    const waiter = await open();
    raft.batched = true;
    // One batch applies the waiter's acquire (queued) and then the holder's release (which grants the waiter)
    // before either proposer hears back.
    waiter.call.emit('data', acquire('9', 'contended'));
    holder.call.emit('data', { frame: 'release', release: { requestSeq: '2', name: 'contended', token } });
    await settle();
    raft.flush();
    await holder.call.receive({ frame: 'keepalive', keepalive: { seq: '1', clientTimeMs: 0, rttMs: 0 } });
    const answers = waiter.call.written
      .slice(1)
      .map((frame) => frame.acquire as { status: string; requestSeq: string });
    expect(answers.map((answer) => [answer.requestSeq, answer.status])).toEqual([
      ['9', 'QUEUED'],
      ['9', 'GRANTED'],
    ]);
  });

  it('a later grant of a queued request is pushed with its request_seq and a higher token', async () => {
    const { open } = setup();
    const holder = await open();
    const waiter = await open();
    await holder.call.receive(acquire('1', 'fifo'));
    await waiter.call.receive(acquire('3', 'fifo'));
    const token = (holder.call.written.at(-1)!.acquire as { token: string }).token;
    await holder.call.receive({ frame: 'release', release: { requestSeq: '2', name: 'fifo', token } });
    expect(holder.call.written.at(-1)).toMatchObject({ done: { requestSeq: '2', name: 'fifo' } });
    expect(waiter.call.written.at(-1)!.acquire).toMatchObject({ requestSeq: '3', status: 'GRANTED', token: '2' });
  });
});

describe('closing', () => {
  it('CloseSession followed at once by a half-close: the close is committed and SessionEnded{closed} comes first', async () => {
    const { open, machine, clock } = setup();
    const { call, sessionId } = await open();
    call.emit('data', { frame: 'close', close: {} });
    call.emit('end');
    await settle();
    expect(machine.session(sessionId)).toBeUndefined();
    expect(call.written.at(-1)).toEqual({
      lastKeepaliveSeq: '0',
      serverTimeMs: clock.now(),
      ended: { reason: 'closed' },
    });
    expect(call.status).toBe('ok');
    expect(call.framesAtEnd).toBe(call.written.length);
  });

  it('a half-close right after open and requests: each is answered before the stream ends', async () => {
    const { connect, machine } = setup();
    const call = connect();
    call.emit('data', { frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId: '', secret: '' } });
    call.emit('data', acquire('1', 'quick'));
    call.emit('data', { frame: 'close', close: {} });
    call.emit('end');
    for (let i = 0; i < 3; i++) await settle();
    expect(call.kinds()).toEqual(['opened', 'acquire', 'ended']);
    expect(call.written.at(-1)!.ended).toEqual({ reason: 'closed' });
    expect(call.framesAtEnd).toBe(3);
    expect(machine.sessions()).toEqual([]);
    expect(machine.lock('quick')).toBeUndefined();
  });

  it('a half-close with nothing in flight ends the stream at once; the session lives on', async () => {
    const { open, machine } = setup();
    const { call, sessionId } = await open();
    call.emit('end');
    expect(call.status).toBe('ok');
    expect(machine.session(sessionId)).toBeDefined();
  });
});

describe('request_seq reuse', () => {
  it('another request under a used request_seq gets a RequestError INVALID_ARGUMENT naming the seq; the session lives on', async () => {
    const { open, machine, clock } = setup();
    const { call, sessionId } = await open();
    await call.receive(acquire('1', 'probe/wait'));
    const granted = call.written.at(-1)!.acquire as { token: string };
    await call.receive(acquire('1', 'probe/other'));
    expect(call.written.at(-1)).toEqual({
      lastKeepaliveSeq: '0',
      serverTimeMs: clock.now(),
      error: {
        requestSeq: '1',
        name: 'probe/other',
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/^request_seq 1 of session [0-9a-f]+ was already used by another request/),
        retriable: false,
      },
    });
    expect(machine.session(sessionId)?.held).toEqual(['probe/wait']);
    expect(machine.lock('probe/other')).toBeUndefined();
    // The stream goes on: a true retry gets the remembered grant, a keepalive its answer.
    await call.receive(acquire('1', 'probe/wait'));
    expect(call.written.at(-1)!.acquire).toMatchObject({ requestSeq: '1', status: 'GRANTED', token: granted.token });
    await call.receive({ frame: 'keepalive', keepalive: { seq: '1', clientTimeMs: 0, rttMs: 0 } });
    expect(call.kinds().at(-1)).toBe('keepalive');
    expect(call.status).toBeNull();
  });

  it('a queued request granted while a refused reuse of its seq is in flight is still pushed', async () => {
    const { open, raft } = setup();
    const holder = await open();
    await holder.call.receive(acquire('1', 'contended', 0));
    const token = (holder.call.written.at(-1)!.acquire as { token: string }).token;
    const waiter = await open();
    await waiter.call.receive(acquire('5', 'contended'));
    expect(waiter.call.written.at(-1)!.acquire).toMatchObject({ requestSeq: '5', status: 'QUEUED' });
    raft.batched = true;
    // One batch: the holder's release grants the waiter's seq 5, then the waiter reuses seq 5 for another lock.
    holder.call.emit('data', { frame: 'release', release: { requestSeq: '2', name: 'contended', token } });
    waiter.call.emit('data', acquire('5', 'elsewhere'));
    await settle();
    raft.flush();
    await settle();
    const frames = waiter.call.written
      .slice(2)
      .map((frame) => (frame.error ?? frame.acquire) as Record<string, unknown>);
    expect(frames).toEqual([
      expect.objectContaining({ requestSeq: '5', name: 'elsewhere', code: 'INVALID_ARGUMENT' }),
      expect.objectContaining({ requestSeq: '5', name: 'contended', status: 'GRANTED' }),
    ]);
  });
});

describe('wait_ms', () => {
  it('a queued acquire whose wait runs out gets a RequestError TIMEOUT from the leader, and the session goes on', async () => {
    const { open, machine, clock, raft, service, tracker } = setup();
    const duties = new LeaderDuties(raft, service, tracker, clock, (error) => {
      throw error;
    });
    await duties.statusChanged(raft.status());
    const holder = await open();
    const waiter = await open();
    await holder.call.receive(acquire('1', 'x'));
    await waiter.call.receive(acquire('3', 'x', 1_000));
    expect(waiter.call.written.at(-1)!.acquire).toMatchObject({ requestSeq: '3', status: 'QUEUED' });
    clock.advance(1_000);
    await duties.runDue();
    await settle();
    expect(waiter.call.written.at(-1)).toEqual({
      lastKeepaliveSeq: '0',
      serverTimeMs: clock.now(),
      error: {
        requestSeq: '3',
        name: 'x',
        code: 'TIMEOUT',
        message: 'the acquire of "x" (request_seq 3) was not granted within its wait_ms; the leader cancelled it',
        retriable: false,
      },
    });
    expect(machine.lock('x')!.waiters).toEqual([]);
    expect(waiter.call.status).toBeNull();
    // The same request again is answered with the remembered TIMEOUT; the holder was not disturbed.
    await waiter.call.receive(acquire('3', 'x', 1_000));
    expect(waiter.call.written.at(-1)!.error).toMatchObject({ requestSeq: '3', code: 'TIMEOUT' });
    expect(machine.lock('x')!.holders).toHaveLength(1);
  });

  it('a wait of 4294967295 ms never runs out', async () => {
    const { open, machine } = setup();
    const holder = await open();
    const waiter = await open();
    await holder.call.receive(acquire('1', 'x'));
    await waiter.call.receive(acquire('3', 'x', 0xffff_ffff));
    expect(machine.lock('x')!.waiters[0]!.waitUntilMs).toBeUndefined();
    expect(machine.dueWaits(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });
});

describe('pre-emption on the wire', () => {
  /** An AcquireRequest as another language's generated stubs encode it: only the fields it sets. */
  function wireAcquire(requestSeq: number, name: string, extra: Record<string, unknown> = {}): ClientFrame {
    const ClientFrameType = protoRoot.lookupType('forelock.v1.ClientFrame');
    const bytes = ClientFrameType.encode(
      ClientFrameType.fromObject({ acquire: { requestSeq, name, waitMs: 1_000, ...extra } }),
    ).finish();
    return sessionFrameCodec.decodeClientFrame(Buffer.from(bytes)) as unknown as ClientFrame;
  }

  it('an acquire that sets neither never_preempt nor preemptible is pre-emptible', async () => {
    const { open, machine } = setup();
    const { call } = await open();
    await call.receive(wireAcquire(1, 'unset'));
    expect(call.kinds().at(-1)).toBe('acquire');
    expect(machine.lock('unset')?.holders[0]?.preemptible).toBe(true);
  });

  it('never_preempt opts out; the deprecated preemptible is ignored', async () => {
    const { open, machine } = setup();
    const { call } = await open();
    await call.receive(wireAcquire(1, 'opted-out', { neverPreempt: true }));
    await call.receive(wireAcquire(2, 'old-field-false', { preemptible: false }));
    await call.receive(wireAcquire(3, 'both', { neverPreempt: true, preemptible: true }));
    expect(machine.lock('opted-out')?.holders[0]?.preemptible).toBe(false);
    expect(machine.lock('old-field-false')?.holders[0]?.preemptible).toBe(true);
    expect(machine.lock('both')?.holders[0]?.preemptible).toBe(false);
  });
});

describe('leadership loss', () => {
  it('ends every stream with NotLeader naming the new leader', async () => {
    const { open, raft } = setup();
    const a = await open();
    const b = await open();
    raft.become('follower', 3, 'node3');
    for (const { call } of [a, b]) {
      expect(call.written.at(-1)).toMatchObject({ notLeader: { leaderId: 'node3', leaderAddress: 'node3:7400' } });
      expect(call.status).toBe('ok');
    }
  });

  it('a keepalive reaching a node that no longer leads gets NotLeader, never a promise', async () => {
    const { open, raft } = setup();
    const { call } = await open();
    raft.role = 'follower';
    raft.leaderId = 'node2';
    await call.receive({ frame: 'keepalive', keepalive: { seq: '1', clientTimeMs: 0, rttMs: 0 } });
    expect(call.kinds()).toEqual(['opened', 'notLeader']);
    expect(call.status).toBe('ok');
  });

  it('a request that meets a lost leadership is answered with NotLeader, not an error', async () => {
    const { open, raft } = setup();
    const { call } = await open();
    raft.role = 'follower';
    raft.leaderId = 'node2';
    await call.receive(acquire('1', 'x'));
    expect(call.kinds()).toEqual(['opened', 'notLeader']);
    expect(call.status).toBe('ok');
  });

  it('a leader that steps down before it knows its successor names the new leader as soon as it learns it', async () => {
    const { open, raft } = setup();
    const a = await open();
    const b = await open();
    raft.become('follower', 3, null);
    // Nothing yet: no hint to give, and no promise made while waiting for one.
    await a.call.receive({ frame: 'keepalive', keepalive: { seq: '1', clientTimeMs: 0, rttMs: 0 } });
    await b.call.receive(acquire('1', 'meanwhile'));
    expect(a.call.kinds()).toEqual(['opened']);
    expect(b.call.kinds()).toEqual(['opened']);
    expect(a.call.status).toBeNull();
    raft.become('follower', 3, 'node3');
    for (const { call } of [a, b]) {
      expect(call.kinds()).toEqual(['opened', 'notLeader']);
      expect(call.written.at(-1)!.notLeader).toEqual({ leaderId: 'node3', leaderAddress: 'node3:7400' });
      expect(call.status).toBe('ok');
    }
  });

  it('a request failing with NotLeader while no leader is known waits for the hint too', async () => {
    const { open, raft } = setup();
    const { call } = await open();
    raft.role = 'follower';
    raft.leaderId = null;
    await call.receive(acquire('1', 'x'));
    expect(call.kinds()).toEqual(['opened']);
    raft.become('follower', 2, 'node2');
    expect(call.written.at(-1)!.notLeader).toEqual({ leaderId: 'node2', leaderAddress: 'node2:7400' });
    expect(call.status).toBe('ok');
  });

  it('without a hint within leaderHintWaitMs, NotLeader is sent empty (retry another endpoint)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { open, raft } = setup();
      const { call } = await open();
      raft.become('candidate', 3, null);
      vi.advanceTimersByTime(DEFAULT_LEADER_HINT_WAIT_MS - 1);
      expect(call.kinds()).toEqual(['opened']);
      vi.advanceTimersByTime(1);
      expect(call.written.at(-1)!.notLeader).toEqual({ leaderId: '', leaderAddress: '' });
      expect(call.status).toBe('ok');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('an acquire with a mode the server does not know', () => {
  it('gets a RequestError INVALID_ARGUMENT naming the mode, takes nothing, and the session lives on', async () => {
    const { open, machine } = setup();
    const { call, sessionId } = await open();
    const frame = acquire('1', 'moded');
    // Another language's stubs may send an enum value this server's proto does not name.
    await call.receive({ frame: 'acquire', acquire: { ...frame.acquire!, mode: 7 as unknown as 'EXCLUSIVE' } });
    expect(call.written.at(-1)!.error).toMatchObject({
      requestSeq: '1',
      code: 'INVALID_ARGUMENT',
      message: 'mode must be EXCLUSIVE or SHARED, got 7',
    });
    expect(machine.lock('moded')).toBeUndefined();
    expect(machine.session(sessionId)?.held).toEqual([]);
    await call.receive(acquire('2', 'moded'));
    expect(call.written.at(-1)!.acquire).toMatchObject({ requestSeq: '2', status: 'GRANTED' });
  });
});

describe('a client that goes away without closing its session', () => {
  /** The setup, with every disconnect the staleness advisor is told of. */
  function watched() {
    const context = setup();
    const told = vi.spyOn(context.deps.advisor, 'sessionDisconnected');
    return { ...context, told };
  }

  it("is reported to the staleness advisor once, with its session and the node clock's now", async () => {
    const { open, clock, told } = watched();
    const { call, sessionId } = await open();
    clock.advance(1_234);
    call.crash();
    expect(told.mock.calls).toEqual([[sessionId, T0 + 1_234]]);
  });

  it('is reported once when it crashes with a request in flight (the half-close, then the cancel)', async () => {
    const { open, raft, told } = watched();
    const { call, sessionId } = await open();
    raft.batched = true;
    call.emit('data', acquire('1', 'x'));
    call.crash();
    raft.batched = false;
    raft.flush();
    await settle();
    expect(told.mock.calls.map(([id]) => id)).toEqual([sessionId]);
  });

  it('is reported when it cancels the call, and when it half-closes without closing its session', async () => {
    const { open, told } = watched();
    const cancelled = await open();
    cancelled.call.goAway();
    const halfClosed = await open();
    halfClosed.call.emit('end');
    // The session lives on until its TTL runs out (proto: a half-close without CloseSession).
    expect(halfClosed.call.status).toBe('ok');
    expect(told.mock.calls.map(([id]) => id)).toEqual([cancelled.sessionId, halfClosed.sessionId]);
  });

  it('is not reported before its session is open, nor when the call only closes without being cancelled', async () => {
    const { connect, open, told } = watched();
    connect().goAway();
    const { call } = await open();
    call.emit('close');
    call.goAway();
    expect(told).not.toHaveBeenCalled();
  });

  it('is not reported when this node ended the stream first: NotLeader, a refusal, shutdown', async () => {
    const { open, raft, hub, told } = watched();
    const refused = await open();
    await refused.call.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId: '', secret: '' } });
    expect(refused.call.status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    refused.call.crash();
    const deposed = await open();
    const shutDown = await open();
    raft.become('follower', 3, 'node3');
    expect(deposed.call.kinds().at(-1)).toBe('notLeader');
    deposed.call.crash();
    hub.close();
    shutDown.call.crash();
    expect(told).not.toHaveBeenCalled();
  });

  it('is not reported while the node waits to name the new leader (it stopped serving the stream)', async () => {
    const { open, raft, told } = watched();
    const { call } = await open();
    raft.become('follower', 3, null);
    call.crash();
    expect(told).not.toHaveBeenCalled();
  });

  it('is not reported for a stream a resume superseded; the stream that took over is', async () => {
    const { open, connect, told } = watched();
    const { call: first, sessionId } = await open();
    const { secret } = first.written[0]!.opened as { secret: string };
    const second = connect();
    await second.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId, secret } });
    expect(first.status).toMatchObject({ code: grpc.status.ABORTED });
    first.crash();
    expect(told).not.toHaveBeenCalled();
    second.crash();
    expect(told.mock.calls.map(([id]) => id)).toEqual([sessionId]);
  });

  it('is not reported while its CloseSession is in flight, nor once its session ended', async () => {
    const { open, raft, told } = watched();
    const closing = await open();
    raft.batched = true;
    // A clean close: CloseSession, then the half-close; the client may go before the answer.
    closing.call.emit('data', { frame: 'close', close: {} });
    closing.call.crash();
    raft.batched = false;
    raft.flush();
    await settle();
    const closed = await open();
    await closed.call.receive({ frame: 'close', close: {} });
    expect(closed.call.kinds().at(-1)).toBe('ended');
    closed.call.crash();
    expect(told).not.toHaveBeenCalled();
  });

  it('is not reported once its session ended, while SessionEnded waits for the answer of a request', async () => {
    const { open, raft, machine, told } = watched();
    const { call, sessionId } = await open();
    raft.batched = true;
    call.emit('data', acquire('1', 'x'));
    // The leader's expiry duty ends the session while the acquire is in flight.
    machine.applyEntry({ atMs: T0, command: { type: 'sessions-expire', sessionIds: [sessionId] } });
    expect(call.status).toBeNull();
    call.crash();
    raft.batched = false;
    raft.flush();
    await settle();
    expect(told).not.toHaveBeenCalled();
  });
});

type Frame = Record<string, unknown>;
/** The Session method a channel of a Sessions stream is read and written with. */
const session = withFastSessionCodec(forelockServices().Forelock.service).Session as grpc.MethodDefinition<
  Frame,
  Frame
>;

/** A Sessions stream on `call` whose every channel is served by a SessionStream; the channels by number. */
function sessionsStream(deps: ReturnType<typeof setup>['deps'], call: FullCall<ServerChannelEvent>, limits = {}) {
  const channels = new Map<number, MuxChannelCall>();
  const mux = new SessionMux(
    call as unknown as SessionsCall,
    channelFrameCodec(session),
    (channel) => {
      channels.set(channel.channel, channel);
      new SessionStream(channel, deps, PLAINTEXT_CALLER);
    },
    limits,
  );
  return { mux, channels };
}

const channelFrame = (channel: number, value: Frame): ClientChannelEvent => ({
  channel,
  kind: 'frame',
  bytes: session.requestSerialize(value),
});

/** The session ids each channel's open was answered with. */
function openedOn(call: FullCall<ServerChannelEvent>): Map<number, string> {
  const opened = new Map<number, string>();
  for (const event of call.batches.flat()) {
    if (event.kind !== 'frame') continue;
    const frame = session.responseDeserialize(Buffer.from(event.bytes)) as { opened?: { sessionId: string } };
    if (frame.opened !== undefined) opened.set(event.channel, frame.opened.sessionId);
  }
  return opened;
}

describe('a client that goes away, on a channel of a Sessions stream', () => {
  async function openThree() {
    const { deps, clock } = setup();
    const told = vi.spyOn(deps.advisor, 'sessionDisconnected');
    const call = new FullCall<ServerChannelEvent>(decodeServerBatch);
    const { mux } = sessionsStream(deps, call);
    call.emit(
      'data',
      encodeClientBatch(
        [1, 2, 3].map((channel) =>
          channelFrame(channel, { open: { clientName: `c${channel}`, ttlMs: 10_000, sessionId: '', secret: '' } }),
        ),
      ),
    );
    await settle();
    for (let i = 0; i < 10 && mux.queuedBytes > 0; i++) call.emit('drain');
    const opened = openedOn(call);
    expect([...opened.keys()].sort()).toEqual([1, 2, 3]);
    return { call, clock, told, opened };
  }

  it('is reported for the channel its client cancelled, then for every channel when the whole call goes away', async () => {
    const { call, clock, told, opened } = await openThree();
    call.emit('data', encodeClientBatch([{ channel: 2, kind: 'cancel' }]));
    expect(told.mock.calls).toEqual([[opened.get(2), clock.now()]]);
    clock.advance(500);
    // The client process died: its kernel closed the connection, which grpc-js tells the Sessions call as a
    // half-close and then a cancel; each channel hears them.
    call.emit('end');
    call.emit('cancelled');
    call.emit('close');
    expect(told.mock.calls.slice(1).sort()).toEqual(
      [
        [opened.get(1), clock.now()],
        [opened.get(3), clock.now()],
      ].sort(),
    );
  });

  it('is not reported when the node refused the whole call (a batch that does not decode)', async () => {
    const { call, told } = await openThree();
    call.emit('data', Buffer.from([0x0a, 0x05, 0x08]));
    call.emit('close');
    expect(told).not.toHaveBeenCalled();
  });
});

describe('flow control on a channel of a Sessions stream', () => {
  const LIMITS = { maxBatchBytes: 8192, channelHighWaterBytes: 1024, channelLimitBytes: 256 * 1024 };
  const CHANNELS = 5;
  const FLOODER = 1;
  const PER_STEP = 400;

  /**
   * Five sessions on one Sessions stream whose buffer is full after every batch (one 'drain' per step). Session 1
   * sends PER_STEP acquires a step for `floodSteps` steps, which is more than one batch a step can answer; the four
   * others send a keepalive every step.
   */
  async function flood(floodSteps: number) {
    const { deps } = setup();
    const told = vi.spyOn(deps.advisor, 'sessionDisconnected');
    const call = new FullCall<ServerChannelEvent>(decodeServerBatch);
    const { mux, channels } = sessionsStream(deps, call, LIMITS);
    const frame = channelFrame;
    const receive = async (events: ClientChannelEvent[]) => {
      call.emit('data', encodeClientBatch(events));
      await settle();
    };
    const everyChannel = Array.from({ length: CHANNELS }, (_, i) => i + 1);
    await receive(
      everyChannel.map((channel) =>
        frame(channel, { open: { clientName: `c${channel}`, ttlMs: 60_000, sessionId: '', secret: '' } }),
      ),
    );
    for (let i = 0; i < 10 && mux.queuedBytes > 0; i++) call.emit('drain');
    let seq = 0;
    let highestQueuedBytes = 0;
    let highestWaitingBytes = 0;
    const firstBatchOfStep: number[] = [];
    const flooder = channels.get(FLOODER)!;
    for (let step = 1; step <= 200; step++) {
      const flooding = step <= floodSteps;
      if (!flooding && mux.queuedBytes === 0 && flooder.waitingBytes === 0) break;
      firstBatchOfStep[step] = call.batches.length;
      const events = everyChannel
        .slice(1)
        .map((channel) => frame(channel, { keepalive: { seq: String(step), clientTimeMs: 1, rttMs: 0 } }));
      if (flooding)
        for (let i = 0; i < PER_STEP; i++) {
          seq++;
          events.push(frame(FLOODER, acquireFrame(seq)));
        }
      await receive(events);
      highestQueuedBytes = Math.max(highestQueuedBytes, mux.queuedBytes);
      highestWaitingBytes = Math.max(highestWaitingBytes, flooder.waitingBytes);
      call.emit('drain');
      await settle();
    }
    const framesOf = (channel: number) =>
      call.batches.flatMap((events, batch) =>
        events
          .filter((event) => event.channel === channel && event.kind === 'frame')
          .map((event) => ({
            batch,
            frame: session.responseDeserialize(Buffer.from((event as { bytes: Uint8Array }).bytes)),
          })),
      );
    const statusesOf = (channel: number) =>
      call.batches.flat().filter((event) => event.channel === channel && event.kind === 'status');
    const largestFlooderEvent = Math.max(
      ...call.batches
        .flat()
        .filter((event) => event.channel === FLOODER)
        .map(encodedSizeOf),
    );
    return {
      told,
      sent: seq,
      framesOf,
      statusesOf,
      firstBatchOfStep,
      highestQueuedBytes,
      highestWaitingBytes,
      largestFlooderEvent,
    };
  }

  const acquireFrame = (seq: number): Frame => ({
    acquire: { requestSeq: String(seq), name: `flood/${seq}`, mode: 'EXCLUSIVE', waitMs: 0 },
  });

  /** Each of the other sessions: a keepalive answer in the first batch after every step, and the stream open. */
  function expectOthersServedOnTime(result: Awaited<ReturnType<typeof flood>>): void {
    for (let channel = 2; channel <= CHANNELS; channel++) {
      const answers = result.framesOf(channel).filter((f) => f.frame.keepalive !== undefined);
      expect(answers.map((a) => a.batch)).toEqual(result.firstBatchOfStep.slice(1));
      expect(result.statusesOf(channel)).toEqual([]);
    }
  }

  it('stops reading a session whose answers wait and answers every request in order once they leave', async () => {
    const result = await flood(8);
    const answered = result.framesOf(FLOODER).filter((f) => f.frame.acquire !== undefined);
    expect(answered.map((a) => (a.frame.acquire as Frame).requestSeq)).toEqual(
      Array.from({ length: result.sent }, (_, i) => String(i + 1)),
    );
    expect(answered.every((a) => (a.frame.acquire as Frame).status === 'GRANTED')).toBe(true);
    expect(result.statusesOf(FLOODER)).toEqual([]);
    // Its requests waited unread (paused) rather than its answers piling up: what the node queued for it stays within
    // its high-water mark and the answers of the requests it may have in flight, however long the flood (unpaused,
    // this flood queues about twice as much).
    expect(result.highestWaitingBytes).toBeGreaterThan(0);
    expect(result.highestQueuedBytes).toBeLessThanOrEqual(
      LIMITS.channelHighWaterBytes + (MAX_REQUESTS_IN_FLIGHT + CHANNELS) * result.largestFlooderEvent,
    );
    expectOthersServedOnTime(result);
  });

  it('ends a session that goes on sending while it is not read, past its limit, and only that one', async () => {
    const result = await flood(40);
    expect(result.highestWaitingBytes).toBeLessThanOrEqual(LIMITS.channelLimitBytes);
    expect(result.statusesOf(FLOODER)).toMatchObject([{ status: { code: grpc.status.UNAVAILABLE } }]);
    // The node ended that channel, not its client: no disconnect is reported.
    expect(result.told).not.toHaveBeenCalled();
    expectOthersServedOnTime(result);
  });
});

describe('auth on a session stream', () => {
  const HASH = 'scrypt$16384$8$1$c2FsdA$aGFzaA';

  /** Auth enabled with a root user, and alice who may lock jobs/ only; returns her token. */
  async function withAuth(context: ReturnType<typeof setup>): Promise<{ alice: string; bob: string }> {
    const { machine, authenticator } = context;
    for (const change of [
      { op: 'user-add', user: 'admin', passwordHash: HASH },
      { op: 'user-grant', user: 'admin', role: 'root' },
      { op: 'user-add', user: 'alice', passwordHash: HASH },
      { op: 'user-add', user: 'bob', passwordHash: HASH },
      { op: 'role-add', role: 'jobs' },
      { op: 'role-grant', role: 'jobs', permission: 'lock', prefix: 'jobs/' },
      { op: 'user-grant', user: 'alice', role: 'jobs' },
      { op: 'user-grant', user: 'bob', role: 'jobs' },
      { op: 'enable', tokenKey: 'ab'.repeat(32) },
    ] as const) {
      expect(machine.applyEntry({ atMs: T0, command: { type: 'auth', change } })).toEqual({ status: 'ok' });
    }
    return { alice: authenticator.tokenFor('alice').token, bob: authenticator.tokenFor('bob').token };
  }

  it("refuses a stream without credentials, and a request outside the caller's prefixes alone", async () => {
    const context = setup();
    const { alice } = await withAuth(context);
    const anonymous = context.connect();
    await anonymous.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId: '', secret: '' } });
    expect(anonymous.status).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(context.machine.sessionCount()).toBe(0);

    const call = context.connect(bearer(alice));
    await call.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId: '', secret: '' } });
    const sessionId = (call.written[0]!.opened as { sessionId: string }).sessionId;
    expect(context.machine.session(sessionId)!.user).toBe('alice');
    await call.receive(acquire('1', 'other/a'));
    expect(call.written.at(-1)!.error).toMatchObject({ code: 'PERMISSION_DENIED', name: 'other/a' });
    expect(context.machine.lock('other/a')).toBeUndefined();
    await call.receive(acquire('2', 'jobs/a'));
    expect(context.machine.lock('jobs/a')!.holders).toMatchObject([{ sessionId, user: 'alice' }]);
    expect(call.status).toBeNull();
  });

  it("locks a removed user out at its next frame, and lets only the session's own user resume it", async () => {
    const context = setup();
    const { alice, bob } = await withAuth(context);
    const call = context.connect(bearer(alice));
    await call.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId: '', secret: '' } });
    const { sessionId, secret } = call.written[0]!.opened as { sessionId: string; secret: string };

    const stolen = context.connect(bearer(bob));
    await stolen.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId, secret } });
    expect(stolen.status).toMatchObject({ code: grpc.status.PERMISSION_DENIED });

    expect(
      context.machine.applyEntry({ atMs: T0, command: { type: 'auth', change: { op: 'user-remove', user: 'alice' } } }),
    ).toEqual({ status: 'ok' });
    await call.receive({ frame: 'keepalive', keepalive: { seq: '1', clientTimeMs: T0, rttMs: 0 } });
    expect(call.status).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(call.kinds()).not.toContain('keepalive');
  });

  it('lets an authenticated caller resume a session opened before auth was enabled', async () => {
    const context = setup();
    const { call: before, sessionId } = await context.open();
    const { secret } = before.written[0]!.opened as { secret: string };
    const { bob } = await withAuth(context);
    const resumed = context.connect(bearer(bob));
    await resumed.receive({ frame: 'open', open: { clientName: 'c', ttlMs: 10_000, sessionId, secret } });
    expect(resumed.written[0]!.opened).toMatchObject({ sessionId });
    expect(resumed.status).toBeNull();
  });
});
