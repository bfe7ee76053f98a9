// The Sessions stream's batch codec against proto-loader's ClientBatch and ServerBatch: the loader reads our bytes as
// the same batch, we read the loader's bytes as the same events, and malformed batches fail with a clear error.
import type * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forelockServices } from '../../src/util/proto.js';
import {
  type ClientChannelEvent,
  decodeClientBatch,
  decodeServerBatch,
  encodeClientBatch,
  encodeServerBatch,
  type ServerChannelEvent,
} from '../../src/util/session-mux-codec.js';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(
  `session-mux-codec seed ${seed}; replay: FC_SEED=${seed} npx vitest run test/unit/session-mux-codec.test.ts`,
);

type Codec = grpc.MethodDefinition<Record<string, unknown>, Record<string, unknown>>;
const loader = forelockServices().Forelock.service;
const sessions = loader.Sessions as unknown as Codec;
const session = loader.Session as unknown as Codec;

const channel = fc.integer({ min: 1, max: 2 ** 32 - 1 });
const clientFrameBytes = fc
  .record({ name: fc.string({ maxLength: 300 }), requestSeq: fc.nat().map(String) })
  .map(({ name, requestSeq }) => session.requestSerialize({ cancel: { requestSeq, name } } as Record<string, unknown>));
const serverFrameBytes = fc.oneof(
  fc
    .record({ name: fc.string({ maxLength: 300 }), requestSeq: fc.nat().map(String) })
    .map(({ name, requestSeq }) =>
      session.responseSerialize({ lastKeepaliveSeq: '3', serverTimeMs: 12, done: { requestSeq, name } }),
    ),
  // A Session Advisory (the begin or end of a session condition) rides a channel like any other frame.
  fc
    .record({
      advisoryId: fc.string({ maxLength: 20 }),
      condition: fc.constantFrom('clock-drift', 'link-degrading'),
      active: fc.boolean(),
      detail: fc.string({ maxLength: 300 }),
      guaranteeMs: fc.nat(),
      clockRateError: fc.double({ min: -0.1, max: 0.1, noNaN: true }),
      probability: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map((advisory) => session.responseSerialize({ lastKeepaliveSeq: '5', serverTimeMs: 13, advisory })),
);
const clientEvent: fc.Arbitrary<ClientChannelEvent> = fc.oneof(
  fc.record({ channel, kind: fc.constant('frame' as const), bytes: clientFrameBytes }),
  fc.record({ channel, kind: fc.constantFrom('half-close' as const, 'cancel' as const) }),
);
const metadata = fc.dictionary(
  fc.constantFrom('forelock-error-code', 'forelock-leader-id', 'forelock-leader-address'),
  fc.string({ maxLength: 40 }),
);
const serverEvent: fc.Arbitrary<ServerChannelEvent> = fc.oneof(
  fc.record({ channel, kind: fc.constant('frame' as const), bytes: serverFrameBytes }),
  fc.record({
    channel,
    kind: fc.constant('status' as const),
    status: fc.record({ code: fc.integer({ min: 0, max: 16 }), details: fc.string({ maxLength: 200 }), metadata }),
  }),
);

/** A client event as the loader decodes it (oneof name in `event`, bytes of the frame re-encoded to compare). */
function loaderClientView(event: ClientChannelEvent): Record<string, unknown> {
  if (event.kind === 'frame')
    return { channel: event.channel, event: 'frame', frame: session.requestDeserialize(Buffer.from(event.bytes)) };
  return { channel: event.channel, event: event.kind === 'half-close' ? 'halfClose' : 'cancel' };
}

describe('ClientBatch', () => {
  it('is read by proto-loader as the same channels and frames, and reads the loader bytes back', () => {
    fc.assert(
      fc.property(fc.array(clientEvent, { maxLength: 20 }), (events) => {
        const bytes = encodeClientBatch(events);
        const read = sessions.requestDeserialize(bytes) as { frames: Record<string, unknown>[] };
        expect(
          read.frames.map((f) => ({
            channel: f.channel,
            event: f.event,
            ...(f.event === 'frame' ? { frame: f.frame } : {}),
          })),
        ).toEqual(events.map(loaderClientView));
        const again = decodeClientBatch(sessions.requestSerialize(read));
        expect(again.map((e) => ({ ...e, ...(e.kind === 'frame' ? { bytes: Buffer.from(e.bytes) } : {}) }))).toEqual(
          events.map((e) => ({ ...e, ...(e.kind === 'frame' ? { bytes: Buffer.from(e.bytes) } : {}) })),
        );
      }),
      { seed, numRuns: 300 },
    );
  });
});

describe('ServerBatch', () => {
  it('round-trips frames and statuses (with trailing metadata) through the loader', () => {
    fc.assert(
      fc.property(fc.array(serverEvent, { maxLength: 20 }), (events) => {
        const read = sessions.responseDeserialize(encodeServerBatch(events)) as {
          frames: {
            channel: number;
            event: string;
            frame?: Record<string, unknown>;
            status?: { code: number; details: string; metadata: object };
          }[];
        };
        expect(read.frames.map((f) => [f.channel, f.event])).toEqual(events.map((e) => [e.channel, e.kind]));
        for (const [i, event] of events.entries()) {
          if (event.kind === 'status') expect(read.frames[i]!.status).toEqual(event.status);
          else expect(read.frames[i]!.frame).toEqual(session.responseDeserialize(Buffer.from(event.bytes)));
        }
        const again = decodeServerBatch(sessions.responseSerialize(read));
        expect(again.map((e) => (e.kind === 'frame' ? { ...e, bytes: Buffer.from(e.bytes) } : e))).toEqual(
          events.map((e) => (e.kind === 'frame' ? { ...e, bytes: Buffer.from(e.bytes) } : e)),
        );
      }),
      { seed, numRuns: 300 },
    );
  });
});

describe('malformed batches', () => {
  it.each([
    ['a truncated entry', Buffer.from([0x0a, 0x05, 0x08, 0x01])],
    ['an entry with no event', Buffer.from([0x0a, 0x02, 0x08, 0x07])],
    ['a truncated varint', Buffer.from([0x0a, 0x01, 0x08])],
  ])('%s is refused with a TypeError that says so', (_what, bytes) => {
    expect(() => decodeClientBatch(bytes)).toThrow(/^malformed ClientBatch: /);
    expect(() => decodeServerBatch(bytes)).toThrow(/^malformed ServerBatch: /);
  });

  it('an empty message is an empty batch', () => {
    expect(decodeClientBatch(Buffer.alloc(0))).toEqual([]);
    expect(decodeServerBatch(Buffer.alloc(0))).toEqual([]);
  });
});
