// Flow control on the Sessions stream, both ends, with fake calls whose buffer is always full: every batch written
// waits for a 'drain' (one drain is one step of virtual time). One session floods its channel while four others send
// a keepalive (answer) every step; each keepalive leaves in the first batch after it was written, the bytes queued
// stay under the channels' limits, a flooder that ignores write()'s false is ended alone, and one that waits for
// 'drain' (as the SDK's StreamWriter and the server's SessionStream, through pause(), do) has every frame delivered in
// order.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { SessionMuxClient } from '../../src/client/session-mux.js';
import { StreamWriter } from '../../src/client/stream-writer.js';
import { type ForelockStub, type SessionStream, sessionChannelCodec } from '../../src/client/wire.js';
import { channelFrameCodec, type MuxChannelCall, SessionMux, type SessionsCall } from '../../src/server/session-mux.js';
import { forelockServices } from '../../src/util/proto.js';
import { withFastSessionCodec } from '../../src/util/session-frame-codec.js';
import {
  type ClientChannelEvent,
  decodeClientBatch,
  decodeServerBatch,
  encodeClientBatch,
  type ServerChannelEvent,
} from '../../src/util/session-mux-codec.js';
import { FullCall } from './full-call.js';

type Frame = Record<string, unknown>;
const session = withFastSessionCodec(forelockServices().Forelock.service).Session as grpc.MethodDefinition<
  Frame,
  Frame
>;
const LIMITS = { maxBatchBytes: 2048, channelHighWaterBytes: 1024, channelLimitBytes: 8192 };
const CHANNELS = 5;
const FLOODER = 1;
const STEPS = 40;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const keepaliveAnswer = (seq: number): Frame => ({
  lastKeepaliveSeq: String(seq),
  serverTimeMs: 1,
  keepalive: { seq: String(seq), serverReceiveMs: 1, guaranteeMs: 3000, keepaliveIntervalMs: 1000 },
});
const done = (seq: number): Frame => ({
  lastKeepaliveSeq: '0',
  serverTimeMs: 1,
  done: { requestSeq: String(seq), name: 'flood' },
});
const keepalive = (seq: number): Frame => ({ keepalive: { seq: String(seq), clientTimeMs: 1, rttMs: 0 } });
const acquire = (seq: number): Frame => ({
  acquire: { requestSeq: String(seq), name: `flood/${seq}`, mode: 'EXCLUSIVE', waitMs: 1000 },
});

/** In which batch (index) each of `channel`'s frames left, with what it carried. */
function framesOf<Event extends { channel: number; kind: string }>(
  batches: Event[][],
  channel: number,
  decode: (event: Event) => Frame,
): { batch: number; frame: Frame }[] {
  return batches.flatMap((events, batch) =>
    events.filter((e) => e.channel === channel && e.kind === 'frame').map((e) => ({ batch, frame: decode(e) })),
  );
}

/** The server side: channels 1-5 opened by the client; the handler of channel 1 floods `flood(call)`. */
async function serverScenario(flood: (call: MuxChannelCall) => void) {
  const call = new FullCall<ServerChannelEvent>(decodeServerBatch);
  const handlers = new Map<number, { call: MuxChannelCall; events: string[] }>();
  const mux = new SessionMux(
    call as unknown as SessionsCall,
    channelFrameCodec(session),
    (channel) => {
      const seen = { call: channel, events: [] as string[] };
      handlers.set(channel.channel, seen);
      for (const event of ['cancelled', 'close']) channel.on(event, () => seen.events.push(event));
      channel.on('data', (frame: Frame) => {
        if (channel.channel === FLOODER) return;
        const seq = Number((frame.keepalive as Frame).seq);
        channel.write(keepaliveAnswer(seq));
      });
    },
    LIMITS,
  );
  const receive = (events: ClientChannelEvent[]) => call.emit('data', encodeClientBatch(events));
  const frame = (channel: number, value: Frame): ClientChannelEvent => ({
    channel,
    kind: 'frame',
    bytes: session.requestSerialize(value),
  });
  receive(Array.from({ length: CHANNELS }, (_, i) => frame(i + 1, keepalive(0))));
  flood(handlers.get(FLOODER)!.call);
  let highestQueuedBytes = 0;
  /** The index of the first batch written after each step's keepalives arrived: their answers must be in it. */
  const firstBatchOfStep: number[] = [];
  for (let step = 1; step <= STEPS; step++) {
    firstBatchOfStep[step] = call.batches.length;
    receive(Array.from({ length: CHANNELS - 1 }, (_, i) => frame(i + 2, keepalive(step))));
    await nextTurn();
    highestQueuedBytes = Math.max(highestQueuedBytes, mux.queuedBytes);
    call.emit('drain');
  }
  // Let everything still queued out.
  for (let i = 0; i < 2000 && mux.queuedBytes > 0; i++) call.emit('drain');
  const decode = (event: ServerChannelEvent) =>
    session.responseDeserialize(Buffer.from((event as { bytes: Uint8Array }).bytes));
  return { call, mux, handlers, highestQueuedBytes, firstBatchOfStep, decode };
}

describe('the server mux under a flooding session', () => {
  it('ends a flooder that ignores write() once past its limit; the others keep their keepalive answers on time', async () => {
    const refusedAt: number[] = [];
    const { call, handlers, highestQueuedBytes, firstBatchOfStep, decode } = await serverScenario((flooder) => {
      for (let seq = 1; seq <= 20_000; seq++)
        if (!flooder.write(done(seq)) && refusedAt.length === 0) refusedAt.push(seq);
    });
    for (let channel = 2; channel <= CHANNELS; channel++) {
      const answers = framesOf(call.batches, channel, decode);
      // The open's answer, then one per step, each in the batch the step's drain let out.
      expect(answers.slice(1).map((a) => a.batch)).toEqual(firstBatchOfStep.slice(1));
      expect(answers.slice(1).map((a) => (a.frame.keepalive as Frame).seq)).toEqual(
        Array.from({ length: STEPS }, (_, i) => String(i + 1)),
      );
      expect(handlers.get(channel)!.events).toEqual([]);
    }
    expect(highestQueuedBytes).toBeLessThanOrEqual(CHANNELS * LIMITS.channelLimitBytes);
    expect(refusedAt[0]).toBeLessThan(20_000);
    // The flooder's channel ended with UNAVAILABLE (its client resumes), and its handler heard it go.
    const statuses = call.batches.flat().filter((e) => e.channel === FLOODER && e.kind === 'status');
    expect(statuses).toMatchObject([{ status: { code: grpc.status.UNAVAILABLE } }]);
    expect(handlers.get(FLOODER)!.events).toEqual(['cancelled', 'close']);
  });

  it("delivers every frame of a flooder that waits for 'drain', in order, with its queue at its high-water mark", async () => {
    const TOTAL = 3_000;
    let highestFlooderQueue = 0;
    let muxOf: SessionMux | null = null;
    const { call, mux, handlers, firstBatchOfStep, decode } = await serverScenario((flooder) => {
      let seq = 0;
      const writeSome = () => {
        while (seq < TOTAL) {
          seq++;
          const more = flooder.write(done(seq));
          highestFlooderQueue = Math.max(highestFlooderQueue, muxOf?.queuedBytes ?? 0);
          if (!more) return;
        }
      };
      flooder.on('drain', writeSome);
      writeSome();
    });
    muxOf = mux;
    const flood = framesOf(call.batches, FLOODER, decode).map((f) => (f.frame.done as Frame).requestSeq);
    expect(flood).toEqual(Array.from({ length: TOTAL }, (_, i) => String(i + 1)));
    for (let channel = 2; channel <= CHANNELS; channel++) {
      expect(
        framesOf(call.batches, channel, decode)
          .slice(1)
          .map((a) => a.batch),
      ).toEqual(firstBatchOfStep.slice(1));
    }
    expect(handlers.get(FLOODER)!.events).toEqual([]);
    expect(highestFlooderQueue).toBeLessThanOrEqual(LIMITS.channelHighWaterBytes + 64 * CHANNELS);
  });
});

describe('the client mux under a flooding session', () => {
  function clientScenario() {
    const call = new FullCall<ClientChannelEvent>(decodeClientBatch);
    const stub = { Sessions: () => call } as unknown as ForelockStub;
    const mux = new SessionMuxClient(stub, sessionChannelCodec(), LIMITS);
    const streams: SessionStream[] = Array.from({ length: CHANNELS }, () => mux.open());
    const errors: Error[] = [];
    streams[0]!.on('error', (error) => errors.push(error));
    return { call, mux, streams, errors };
  }

  it('fails a flooder that ignores write() alone; the keepalives of the others leave in the next batch', async () => {
    const { call, mux, streams, errors } = clientScenario();
    for (let seq = 1; seq <= 20_000; seq++) streams[0]!.write(acquire(seq) as never);
    let highestQueuedBytes = mux.queuedBytes;
    const firstBatchOfStep: number[] = [];
    for (let step = 1; step <= STEPS; step++) {
      firstBatchOfStep[step] = call.batches.length;
      for (const stream of streams.slice(1)) stream.write(keepalive(step) as never);
      await nextTurn();
      highestQueuedBytes = Math.max(highestQueuedBytes, mux.queuedBytes);
      call.emit('drain');
    }
    const decode = (event: ClientChannelEvent) =>
      session.requestDeserialize(Buffer.from((event as { bytes: Uint8Array }).bytes));
    for (let channel = 2; channel <= CHANNELS; channel++) {
      expect(framesOf(call.batches, channel, decode).map((f) => f.batch)).toEqual(firstBatchOfStep.slice(1));
    }
    expect(highestQueuedBytes).toBeLessThanOrEqual(CHANNELS * LIMITS.channelLimitBytes);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(call.batches.flat().filter((e) => e.channel === FLOODER && e.kind === 'cancel')).toHaveLength(1);
  });

  it("sends every frame of a flooder that waits for 'drain', in order", async () => {
    const { call, streams, errors } = clientScenario();
    const TOTAL = 2_000;
    let seq = 0;
    const flooder = streams[0]!;
    const writeSome = () => {
      while (seq < TOTAL) if (!flooder.write(acquire(++seq) as never)) return;
    };
    flooder.on('drain', writeSome);
    writeSome();
    for (let i = 0; i < 2000 && seq < TOTAL; i++) {
      await nextTurn();
      call.emit('drain');
    }
    await nextTurn();
    call.emit('drain');
    const decode = (event: ClientChannelEvent) =>
      session.requestDeserialize(Buffer.from((event as { bytes: Uint8Array }).bytes));
    const sent = framesOf(call.batches, FLOODER, decode).map((f) => (f.frame.acquire as Frame).requestSeq);
    expect(sent).toEqual(Array.from({ length: TOTAL }, (_, i) => String(i + 1)));
    expect(errors).toEqual([]);
  });

  it("sends every frame of a session written through the SDK's StreamWriter, in order, its queue held at its mark", async () => {
    const { call, mux, streams, errors } = clientScenario();
    const TOTAL = 2_000;
    const flooder = new StreamWriter(streams[0]!, () => {});
    for (let seq = 1; seq <= TOTAL; seq++) flooder.write(acquire(seq) as never);
    // The connection owes these frames anyway (its pending requests): they wait in the writer, not in the mux.
    expect(flooder.waitingCount).toBeGreaterThan(TOTAL - 100);
    let highestQueuedBytes = mux.queuedBytes;
    const firstBatchOfStep: number[] = [];
    let step = 0;
    while (step < 1000 && (flooder.waitingCount > 0 || mux.queuedBytes > 0)) {
      step++;
      firstBatchOfStep[step] = call.batches.length;
      for (const stream of streams.slice(1)) stream.write(keepalive(step) as never);
      await nextTurn();
      highestQueuedBytes = Math.max(highestQueuedBytes, mux.queuedBytes);
      call.emit('drain');
    }
    const decode = (event: ClientChannelEvent) =>
      session.requestDeserialize(Buffer.from((event as { bytes: Uint8Array }).bytes));
    const sent = framesOf(call.batches, FLOODER, decode).map((f) => (f.frame.acquire as Frame).requestSeq);
    expect(sent).toEqual(Array.from({ length: TOTAL }, (_, i) => String(i + 1)));
    expect(errors).toEqual([]);
    for (let channel = 2; channel <= CHANNELS; channel++) {
      expect(framesOf(call.batches, channel, decode).map((f) => f.batch)).toEqual(firstBatchOfStep.slice(1));
    }
    // The flooder's high-water mark and a frame past it, plus the others' keepalives of one step.
    expect(highestQueuedBytes).toBeLessThanOrEqual(LIMITS.channelHighWaterBytes + 64 * CHANNELS);
  });
});
