// The session stream's fast frame codec against proto-loader's: the same decoded objects from the same bytes, bytes
// the loader decodes back to the same frame, and the loader's codec for every frame the fast path declines.
import type * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forelockServices } from '../../src/util/proto.js';
import { sessionFrameCodec, withFastSessionCodec } from '../../src/util/session-frame-codec.js';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(
  `client-frame-codec seed ${seed}; replay: FC_SEED=${seed} npx vitest run test/unit/session-frame-codec.test.ts`,
);

type Frame = Record<string, unknown>;
type Codec = grpc.MethodDefinition<Frame, Frame>;

const loader = forelockServices().Forelock.service.Session as unknown as Codec;
const fast = withFastSessionCodec(forelockServices().Forelock.service).Session as unknown as Codec;

const uint64 = fc.oneof(
  fc.constantFrom('0', '1', '127', '128', '9007199254740991', '9007199254740993', '18446744073709551615'),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(String),
  fc.nat().map(String),
);
// Up to 20,000 characters, so nested messages need 1-, 2- and 3-byte lengths.
const name = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 100, maxLength: 300 }),
  fc.integer({ min: 0, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('', 'orders/42', 'é✓𝄞'),
);
const double = fc.oneof(
  fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)),
  fc.nat(),
  fc.constant(0),
);
const uint32 = fc.oneof(fc.nat(), fc.constantFrom(0, 1, 2 ** 31, 2 ** 32 - 1));
const mode = fc.constantFrom('EXCLUSIVE', 'SHARED');

const clientFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ keepalive: fc.record({ seq: uint64, clientTimeMs: double, rttMs: double }) }),
  fc.record({
    acquire: fc.record({
      requestSeq: uint64,
      name,
      mode,
      fenced: fc.boolean(),
      preemptible: fc.boolean(),
      waitMs: uint32,
      metadata: name,
      neverPreempt: fc.boolean(),
    }),
  }),
  fc.record({ release: fc.record({ requestSeq: uint64, name, token: uint64 }) }),
);

const serverFrame: fc.Arbitrary<Frame> = fc
  .tuple(
    uint64,
    double,
    fc.oneof(
      fc.record({
        keepalive: fc.record({
          seq: uint64,
          serverReceiveMs: double,
          guaranteeMs: uint32,
          keepaliveIntervalMs: uint32,
        }),
      }),
      fc.record({
        acquire: fc.record({
          requestSeq: uint64,
          name,
          status: fc.constantFrom('GRANTED', 'QUEUED'),
          token: uint64,
          grantedAtMs: double,
          position: uint32,
          fenced: fc.boolean(),
          mode,
        }),
      }),
      fc.record({ done: fc.record({ requestSeq: uint64, name }) }),
    ),
  )
  .map(([lastKeepaliveSeq, serverTimeMs, payload]) => ({ lastKeepaliveSeq, serverTimeMs, ...payload }));

describe('fast session frame codec', () => {
  it('encodes hot client frames that the loader decodes to the same frame, and decodes them as the loader does', () => {
    fc.assert(
      fc.property(clientFrame, (frame) => {
        const bytes = sessionFrameCodec.encodeClientFrame(frame);
        expect(loader.requestDeserialize(bytes)).toEqual(loader.requestDeserialize(loader.requestSerialize(frame)));
        const loaderBytes = loader.requestSerialize(frame);
        expect(sessionFrameCodec.decodeClientFrame(loaderBytes)).toEqual(loader.requestDeserialize(loaderBytes));
        expect(sessionFrameCodec.decodeClientFrame(bytes)).toEqual(loader.requestDeserialize(loaderBytes));
      }),
      { seed, numRuns: 500 },
    );
  });

  it('encodes hot server frames that the loader decodes to the same frame, and decodes them as the loader does', () => {
    fc.assert(
      fc.property(serverFrame, (frame) => {
        const bytes = sessionFrameCodec.encodeServerFrame(frame);
        expect(loader.responseDeserialize(bytes)).toEqual(loader.responseDeserialize(loader.responseSerialize(frame)));
        const loaderBytes = loader.responseSerialize(frame);
        expect(sessionFrameCodec.decodeServerFrame(loaderBytes)).toEqual(loader.responseDeserialize(loaderBytes));
        expect(sessionFrameCodec.decodeServerFrame(bytes)).toEqual(loader.responseDeserialize(loaderBytes));
      }),
      { seed, numRuns: 500 },
    );
  });

  it.each<[string, Frame]>([
    ['an open frame', { open: { clientName: 'w', ttlMs: 10_000, sessionId: '', secret: '' } }],
    ['a cancel frame', { cancel: { requestSeq: '4', name: 'x' } }],
    ['a close frame', { close: {} }],
    ['a lock mode given as a number', { acquire: { requestSeq: '1', name: 'x', mode: 1 } }],
    ['a sequence given as a number', { release: { requestSeq: 3, name: 'x', token: '9' } }],
    ['two oneof members', { release: { requestSeq: '3', name: 'x', token: '9' }, cancel: { requestSeq: '4' } }],
  ])('leaves %s (client side) to the loader: identical bytes and decoding', (_label, frame) => {
    const bytes = fast.requestSerialize(frame);
    expect(Buffer.from(bytes).equals(loader.requestSerialize(frame))).toBe(true);
    expect(fast.requestDeserialize(bytes)).toEqual(loader.requestDeserialize(bytes));
  });

  it.each<[string, Frame]>([
    ['an opened frame', { lastKeepaliveSeq: '2', serverTimeMs: 5, opened: { sessionId: 's', held: [] } }],
    ['an error frame', { lastKeepaliveSeq: '0', serverTimeMs: 5, error: { requestSeq: '1', code: 'NOT_HELD' } }],
    ['an ended frame', { lastKeepaliveSeq: '0', serverTimeMs: 5, ended: { reason: 'expired' } }],
    ['a status given as a number', { lastKeepaliveSeq: '0', serverTimeMs: 1, acquire: { requestSeq: '1', status: 1 } }],
  ])('leaves %s (server side) to the loader: identical bytes and decoding', (_label, frame) => {
    const bytes = fast.responseSerialize(frame);
    expect(Buffer.from(bytes).equals(loader.responseSerialize(frame))).toBe(true);
    expect(fast.responseDeserialize(bytes)).toEqual(loader.responseDeserialize(bytes));
  });

  it('decodes what it does not know (unknown fields, truncation) exactly as the loader does, or fails alike', () => {
    const release = loader.requestSerialize({ release: { requestSeq: '7', name: 'x', token: '9' } });
    // An unknown field 9 (varint 1) inside the release message, with the nested length fixed up.
    const withUnknown = Buffer.concat([
      Buffer.from([0x22, release[1]! + 2]),
      release.subarray(2),
      Buffer.from([0x48, 1]),
    ]);
    expect(fast.requestDeserialize(withUnknown)).toEqual(loader.requestDeserialize(withUnknown));
    const truncated = release.subarray(0, release.length - 2);
    expect(() => loader.requestDeserialize(truncated)).toThrow();
    expect(() => fast.requestDeserialize(truncated)).toThrow();
  });
});

const advisory = fc.record({
  advisoryId: name,
  condition: fc.oneof(fc.constantFrom('clock-drift', 'link-degrading'), fc.string({ maxLength: 40 })),
  active: fc.boolean(),
  detail: name,
  guaranteeMs: uint32,
  clockRateError: fc.oneof(
    double,
    fc.double({ min: -0.5, max: 0.5, noNaN: true }).filter((d) => !Object.is(d, -0)),
  ),
  probability: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(0)),
});

describe('SessionAdvisory frames (rare: the loader codes them behind the fast codec)', () => {
  it('are coded as the loader codes them, and decode to the frame that was sent', () => {
    fc.assert(
      fc.property(uint64, double, advisory, (lastKeepaliveSeq, serverTimeMs, body) => {
        const frame = { lastKeepaliveSeq, serverTimeMs, advisory: body };
        const bytes = fast.responseSerialize(frame);
        expect(Buffer.from(bytes).equals(loader.responseSerialize(frame))).toBe(true);
        const decoded = fast.responseDeserialize(bytes);
        expect(decoded).toEqual(loader.responseDeserialize(bytes));
        expect(decoded).toEqual({ ...frame, frame: 'advisory' });
      }),
      { seed, numRuns: 300 },
    );
  });

  it('decode with proto3 defaults when the server leaves fields out (an episode end with nothing measured)', () => {
    const bytes = loader.responseSerialize({
      lastKeepaliveSeq: '4',
      serverTimeMs: 9,
      advisory: { advisoryId: 'a1', condition: 'link-degrading', active: false },
    });
    expect(fast.responseDeserialize(bytes)).toEqual({
      lastKeepaliveSeq: '4',
      serverTimeMs: 9,
      frame: 'advisory',
      advisory: {
        advisoryId: 'a1',
        condition: 'link-degrading',
        active: false,
        detail: '',
        guaranteeMs: 0,
        clockRateError: 0,
        probability: 0,
      },
    });
  });
});
