// The SDK side of the Sessions stream with a fake gRPC call: each channel behaves as a Session call (frames, then 'end'
// or an 'error' the SDK maps like a call's), a turn's writes leave as one message, and a failed stream fails them all.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { errorFromGrpc, NotLeaderError } from '../../src/client/errors.js';
import { SessionMuxClient } from '../../src/client/session-mux.js';
import { type ForelockStub, type ServerFrame, sessionChannelCodec } from '../../src/client/wire.js';
import { forelockServices } from '../../src/util/proto.js';
import { withFastSessionCodec } from '../../src/util/session-frame-codec.js';
import {
  type ClientChannelEvent,
  decodeClientBatch,
  encodeServerBatch,
  type ServerChannelEvent,
} from '../../src/util/session-mux-codec.js';

const codec = sessionChannelCodec();
/** The node's side of the same frame codec. */
const serverSession = withFastSessionCodec(forelockServices().Forelock.service).Session as grpc.MethodDefinition<
  unknown,
  unknown
>;

/** A grpc-js client Sessions call reduced to what the mux uses. */
class FakeCall extends EventEmitter {
  readonly written: ClientChannelEvent[][] = [];
  cancelled = false;

  write(bytes: Buffer): boolean {
    this.written.push(decodeClientBatch(bytes));
    return true;
  }

  cancel(): void {
    this.cancelled = true;
  }

  answer(events: ServerChannelEvent[]): void {
    this.emit('data', encodeServerBatch(events));
  }
}

function setup() {
  const calls: FakeCall[] = [];
  const stub = {
    Sessions: () => {
      const call = new FakeCall();
      calls.push(call);
      return call;
    },
  } as unknown as ForelockStub;
  const mux = new SessionMuxClient(stub, codec);
  const observe = (stream: ReturnType<SessionMuxClient['open']>) => {
    const seen = { frames: [] as ServerFrame[], events: [] as string[], errors: [] as Error[] };
    stream.on('data', (frame) => seen.frames.push(frame));
    stream.on('error', (error) => {
      seen.events.push('error');
      seen.errors.push(error);
    });
    stream.on('end', () => seen.events.push('end'));
    stream.on('close', () => seen.events.push('close'));
    return seen;
  };
  return { calls, mux, observe };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const keepalive = (seq: string) => ({ keepalive: { seq, clientTimeMs: 1, rttMs: 0 } });
/** A node's done frame for `requestSeq`, as a Sessions channel event (its channel set by the caller). */
const doneFrame = (requestSeq: string) => ({
  channel: 0,
  kind: 'frame' as const,
  bytes: serverSession.responseSerialize({ lastKeepaliveSeq: '1', serverTimeMs: 5, done: { requestSeq, name: 'x' } }),
});

describe('SessionMuxClient', () => {
  it('opens one stream for many channels and sends the writes of one turn as one message', async () => {
    const { calls, mux } = setup();
    const a = mux.open();
    const b = mux.open();
    a.write(keepalive('1'));
    b.write(keepalive('1'));
    a.end();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.written).toHaveLength(0);
    await nextTurn();
    expect(calls[0]!.written).toHaveLength(1);
    expect(calls[0]!.written[0]!.map((event) => [event.channel, event.kind])).toEqual([
      [1, 'frame'],
      [2, 'frame'],
      [1, 'half-close'],
    ]);
  });

  it("routes each channel's frames to it, then its end ('end' for OK, else an error mapped like a call's)", () => {
    const { calls, mux, observe } = setup();
    const a = observe(mux.open());
    const b = observe(mux.open());
    calls[0]!.answer([
      { ...doneFrame('4'), channel: 2 },
      { ...doneFrame('5'), channel: 1 },
      { channel: 1, kind: 'status', status: { code: 0, details: '', metadata: {} } },
      {
        channel: 2,
        kind: 'status',
        status: {
          code: grpc.status.UNAVAILABLE,
          details: 'node2 is not the leader',
          metadata: { 'forelock-error-code': 'NOT_LEADER', 'forelock-leader-address': '127.0.0.1:7401' },
        },
      },
    ]);
    expect(a.frames).toMatchObject([{ frame: 'done', done: { requestSeq: '5' } }]);
    expect(b.frames).toMatchObject([{ frame: 'done', done: { requestSeq: '4' } }]);
    expect(a.events).toEqual(['end', 'close']);
    expect(b.events).toEqual(['error', 'close']);
    const mapped = errorFromGrpc(b.errors[0] as grpc.ServiceError);
    expect(mapped).toBeInstanceOf(NotLeaderError);
    expect((mapped as NotLeaderError).leaderAddress).toBe('127.0.0.1:7401');
  });

  it('a cancelled channel tells the server and hears nothing more', async () => {
    const { calls, mux, observe } = setup();
    const stream = mux.open();
    const seen = observe(stream);
    stream.cancel();
    calls[0]!.answer([{ ...doneFrame('1'), channel: 1 }]);
    await nextTurn();
    expect(seen.frames).toEqual([]);
    expect(seen.events).toEqual(['close']);
    expect(calls[0]!.written.flat()).toEqual([{ channel: 1, kind: 'cancel' }]);
  });

  it('a failed stream fails every channel with its error, and the next channel opens a new stream', () => {
    const { calls, mux, observe } = setup();
    const a = observe(mux.open());
    const b = observe(mux.open());
    const failure = Object.assign(new Error('14 UNAVAILABLE: connection reset'), {
      code: grpc.status.UNAVAILABLE,
      details: 'connection reset',
      metadata: new grpc.Metadata(),
    });
    calls[0]!.emit('error', failure);
    expect(a.errors).toEqual([failure]);
    expect(b.errors).toEqual([failure]);
    mux.open();
    expect(calls).toHaveLength(2);
  });

  it('a server without Sessions (UNIMPLEMENTED) is retried on streams of their own: retriable, and no longer supported', () => {
    const { calls, mux, observe } = setup();
    const seen = observe(mux.open());
    calls[0]!.emit(
      'error',
      Object.assign(new Error('12 UNIMPLEMENTED'), {
        code: grpc.status.UNIMPLEMENTED,
        details: 'Sessions',
        metadata: new grpc.Metadata(),
      }),
    );
    expect(mux.supported).toBe(false);
    expect(errorFromGrpc(seen.errors[0] as grpc.ServiceError).retriable).toBe(true);
  });

  it('a batch that does not decode ends the stream with INTERNAL for every channel', () => {
    const { calls, mux, observe } = setup();
    const seen = observe(mux.open());
    calls[0]!.emit('data', Buffer.from([0x0a, 0x05, 0x08]));
    expect(seen.errors[0]).toMatchObject({ code: grpc.status.INTERNAL });
    expect(calls[0]!.cancelled).toBe(true);
  });
});
