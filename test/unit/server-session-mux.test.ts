// The server side of the Sessions stream with a fake gRPC call: each channel behaves as a Session call of its own
// (frames, half-close, cancel, statuses with metadata), a turn's frames leave as one message, and faults stay local.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { limitRequestSize } from '../../src/server/frame-limit.js';
import { channelFrameCodec, type MuxChannelCall, SessionMux, type SessionsCall } from '../../src/server/session-mux.js';
import { forelockServices } from '../../src/util/proto.js';
import { withFastSessionCodec } from '../../src/util/session-frame-codec.js';
import {
  type ClientChannelEvent,
  decodeServerBatch,
  encodeClientBatch,
  type ServerChannelEvent,
} from '../../src/util/session-mux-codec.js';

type Frame = Record<string, unknown>;
const session = limitRequestSize(withFastSessionCodec(forelockServices().Forelock.service), 200)
  .Session as grpc.MethodDefinition<Frame, Frame>;

/** A grpc-js Sessions call reduced to what the mux uses: batches in, batches and a status out. */
class FakeSessionsCall extends EventEmitter {
  readonly written: ServerChannelEvent[][] = [];
  ended = false;
  status: Partial<grpc.ServiceError> | null = null;

  constructor() {
    super();
    this.on('error', (status: Partial<grpc.ServiceError>) => {
      this.status = status;
    });
  }

  write(bytes: Buffer): boolean {
    this.written.push(decodeServerBatch(bytes));
    return true;
  }

  end(): void {
    this.ended = true;
  }

  send(events: ClientChannelEvent[]): void {
    this.emit('data', encodeClientBatch(events));
  }
}

const frame = (channel: number, value: Frame): ClientChannelEvent => ({
  channel,
  kind: 'frame',
  bytes: session.requestSerialize(value),
});
const cancelFrame = (requestSeq: string): Frame => ({ cancel: { requestSeq, name: 'x' } });
const done = (requestSeq: string): Frame => ({
  lastKeepaliveSeq: '0',
  serverTimeMs: 1,
  done: { requestSeq, name: 'x' },
});

/** The next turn, when the mux sends what its channels wrote. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup() {
  const call = new FakeSessionsCall();
  const channels: { call: MuxChannelCall; received: unknown[]; events: string[] }[] = [];
  const mux = new SessionMux(call as unknown as SessionsCall, channelFrameCodec(session), (channel) => {
    const seen = { call: channel, received: [] as unknown[], events: [] as string[] };
    channel.on('data', (value: unknown) => seen.received.push(value));
    for (const event of ['end', 'cancelled', 'close', 'error']) channel.on(event, () => seen.events.push(event));
    channels.push(seen);
  });
  const frames = () =>
    call.written
      .flat()
      .map((event) =>
        event.kind === 'frame'
          ? { channel: event.channel, frame: session.responseDeserialize(Buffer.from(event.bytes)) }
          : { channel: event.channel, status: event.status },
      );
  return { call, mux, channels, frames };
}

describe('channels', () => {
  it('open on a new number with their first frame, each handled on its own, in order', () => {
    const { call, channels } = setup();
    call.send([frame(1, cancelFrame('1')), frame(2, cancelFrame('7')), frame(1, cancelFrame('2'))]);
    expect(channels.map((c) => c.call.channel)).toEqual([1, 2]);
    expect(channels[0]!.received).toMatchObject([{ cancel: { requestSeq: '1' } }, { cancel: { requestSeq: '2' } }]);
    expect(channels[1]!.received).toMatchObject([{ cancel: { requestSeq: '7' } }]);
  });

  it('send what they write in one turn as one message', async () => {
    const { call, channels, frames } = setup();
    call.send([frame(1, cancelFrame('1')), frame(2, cancelFrame('1'))]);
    channels[0]!.call.write(done('1'));
    channels[1]!.call.write(done('1'));
    channels[0]!.call.write(done('2'));
    expect(call.written).toHaveLength(0);
    await nextTurn();
    expect(call.written).toHaveLength(1);
    expect(frames()).toMatchObject([
      { channel: 1, frame: { done: { requestSeq: '1' } } },
      { channel: 2, frame: { done: { requestSeq: '1' } } },
      { channel: 1, frame: { done: { requestSeq: '2' } } },
    ]);
  });

  it('end with OK, or with the status (and trailing metadata) their handler ends them with', async () => {
    const { call, channels, frames } = setup();
    call.send([frame(1, cancelFrame('1')), frame(2, cancelFrame('1'))]);
    channels[0]!.call.end();
    const metadata = new grpc.Metadata();
    metadata.set('forelock-error-code', 'NOT_LEADER');
    metadata.set('forelock-leader-address', '127.0.0.1:7401');
    channels[1]!.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'not the leader', metadata });
    channels[1]!.call.write(done('9'));
    await nextTurn();
    expect(frames()).toEqual([
      { channel: 1, status: { code: 0, details: '', metadata: {} } },
      {
        channel: 2,
        status: {
          code: grpc.status.UNAVAILABLE,
          details: 'not the leader',
          metadata: { 'forelock-error-code': 'NOT_LEADER', 'forelock-leader-address': '127.0.0.1:7401' },
        },
      },
    ]);
    expect(channels[1]!.events).toEqual(['error']);
  });

  it('hear the half-close as end and the cancel as cancelled; a late frame of an ended channel opens nothing', async () => {
    const { call, channels, frames } = setup();
    call.send([frame(1, cancelFrame('1')), frame(2, cancelFrame('1'))]);
    call.send([
      { channel: 1, kind: 'half-close' },
      { channel: 2, kind: 'cancel' },
    ]);
    expect(channels[0]!.events).toEqual(['end']);
    expect(channels[1]!.events).toEqual(['cancelled', 'close']);
    channels[1]!.call.write(done('1'));
    call.send([frame(2, cancelFrame('2'))]);
    expect(channels).toHaveLength(2);
    expect(channels[1]!.received).toHaveLength(1);
    await nextTurn();
    expect(frames()).toEqual([]);
  });

  it('a frame that does not decode ends its channel with INTERNAL and leaves the others alone', async () => {
    const { call, channels, frames } = setup();
    call.send([
      frame(1, cancelFrame('1')),
      { channel: 2, kind: 'frame', bytes: Buffer.from([0x0a, 0xff]) },
      frame(1, cancelFrame('2')),
    ]);
    expect(channels[0]!.received).toHaveLength(2);
    await nextTurn();
    expect(frames()).toEqual([
      { channel: 2, status: { code: grpc.status.INTERNAL, details: 'Error deserializing request', metadata: {} } },
    ]);
  });

  it('a frame over the size limit reaches its handler as an oversized request (refused for that session only)', () => {
    const { call, channels } = setup();
    call.send([frame(1, { cancel: { requestSeq: '1', name: 'x'.repeat(300) } }), frame(2, cancelFrame('1'))]);
    expect(channels[0]!.received[0]).toMatchObject({ error: { code: 'MESSAGE_TOO_LARGE' } });
    expect(channels[1]!.received).toMatchObject([{ cancel: { requestSeq: '1' } }]);
  });
});

describe('the stream', () => {
  it('refuses a batch that does not decode with INVALID_ARGUMENT and cancels every channel', () => {
    const { call, channels } = setup();
    call.send([frame(1, cancelFrame('1'))]);
    call.emit('data', Buffer.from([0x0a, 0x05, 0x08]));
    expect(call.status).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^malformed ClientBatch/),
    });
    expect(channels[0]!.events).toEqual(['cancelled', 'close']);
  });

  it('going away cancels every channel, and nothing more is written', async () => {
    const { call, channels } = setup();
    call.send([frame(1, cancelFrame('1')), frame(2, cancelFrame('1'))]);
    channels[0]!.call.write(done('1'));
    call.emit('cancelled');
    await nextTurn();
    expect(channels.map((c) => c.events)).toEqual([
      ['cancelled', 'close'],
      ['cancelled', 'close'],
    ]);
    expect(call.written).toEqual([]);
  });

  it('half-closed by the client: every channel hears end, and the stream ends once they have all ended', async () => {
    const { call, channels } = setup();
    call.send([frame(1, cancelFrame('1')), frame(2, cancelFrame('1'))]);
    call.emit('end');
    expect(channels.map((c) => c.events)).toEqual([['end'], ['end']]);
    channels[0]!.call.end();
    expect(call.ended).toBe(false);
    channels[1]!.call.end();
    expect(call.ended).toBe(true);
    // Both statuses were sent before the end.
    expect(call.written.flat().map((event) => [event.channel, event.kind])).toEqual([
      [1, 'status'],
      [2, 'status'],
    ]);
  });

  it('close() sends what is queued, then ends the stream', () => {
    const { call, channels, mux } = setup();
    call.send([frame(1, cancelFrame('1'))]);
    channels[0]!.call.write(done('1'));
    mux.close();
    expect(call.written.flat().map((event) => event.kind)).toEqual(['frame']);
    expect(call.ended).toBe(true);
  });
});
