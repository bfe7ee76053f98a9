// The batch codec falls back to the loader's codec for what its tables do not cover, as the frame codec does: a
// field the .proto gained (here a variant of forelock.proto with one more field in an entry and in a status) reaches
// the decoded event and is written back, instead of being dropped by the fast path.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { FORELOCK_PROTO, PROTO_LOADER_OPTIONS, protoDir } from '../../src/util/proto.js';
import {
  encodeClientBatch,
  genericBatchCodecs,
  type ServerChannelEvent,
  sessionBatchCodec,
} from '../../src/util/session-mux-codec.js';

/** forelock.proto with ClientChannelFrame.priority (5), ServerChannelFrame.priority (4), ChannelStatus.retry_hint (4). */
function variantService(): grpc.ServiceDefinition {
  const original = readFileSync(join(protoDir(), FORELOCK_PROTO), 'utf8');
  const withField = (text: string, message: string, field: string): string => {
    const at = text.indexOf(`message ${message} {`);
    if (at < 0) throw new Error(`no message ${message} in ${FORELOCK_PROTO}`);
    const open = text.indexOf('{', at);
    return `${text.slice(0, open + 1)}\n  ${field}\n${text.slice(open + 1)}`;
  };
  let variant = withField(original, 'ClientChannelFrame', 'uint32 priority = 5;');
  variant = withField(variant, 'ServerChannelFrame', 'uint32 priority = 4;');
  variant = withField(variant, 'ChannelStatus', 'string retry_hint = 4;');
  const dir = mkdtempSync(join(tmpdir(), 'forelock-proto-variant-'));
  const file = join(dir, 'forelock.proto');
  writeFileSync(file, variant);
  const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(file, PROTO_LOADER_OPTIONS)) as unknown as {
    forelock: { v1: { Forelock: grpc.ServiceClientConstructor } };
  };
  return loaded.forelock.v1.Forelock.service;
}

const generic = genericBatchCodecs(variantService());
const codec = sessionBatchCodec(generic);
const keepalive = generic.clientFrame.serialize({ keepalive: { seq: '9', clientTimeMs: 5, rttMs: 2 } });
const done = generic.serverFrame.serialize({
  lastKeepaliveSeq: '9',
  serverTimeMs: 7,
  done: { requestSeq: '4', name: 'a' },
});

describe('a ClientBatch entry with a field the fast tables lack', () => {
  const bytes = generic.clientBatch.serialize({
    frames: [
      { channel: 3, frame: generic.clientFrame.deserialize(keepalive), priority: 7 },
      { channel: 4, halfClose: {} },
    ],
  });

  it('is decoded by the generic codec with that field kept', () => {
    expect(codec.decodeClientBatch(bytes)).toEqual([
      { channel: 3, kind: 'frame', bytes: keepalive, fields: { priority: 7 } },
      { channel: 4, kind: 'half-close' },
    ]);
  });

  it('is encoded with that field, which the loader reads back', () => {
    const events = codec.decodeClientBatch(bytes);
    const read = generic.clientBatch.deserialize(codec.encodeClientBatch(events)) as { frames: { priority: number }[] };
    expect(read.frames.map((entry) => entry.priority)).toEqual([7, 0]);
  });

  it('decodes as before when the field is absent: the fast path and the generic agree', () => {
    const plain = encodeClientBatch([{ channel: 3, kind: 'frame', bytes: keepalive }]);
    expect(codec.decodeClientBatch(plain)).toEqual([{ channel: 3, kind: 'frame', bytes: keepalive }]);
  });
});

describe('a ServerBatch status with a field the fast tables lack', () => {
  const events: ServerChannelEvent[] = [
    { channel: 2, kind: 'frame', bytes: done, fields: { priority: 1 } },
    {
      channel: 5,
      kind: 'status',
      status: { code: 14, details: 'gone', metadata: { 'forelock-leader-id': 'n2' }, fields: { retryHint: 'n2' } },
    },
  ];

  it('round-trips through the loader with every field', () => {
    const bytes = codec.encodeServerBatch(events);
    const read = generic.serverBatch.deserialize(bytes) as {
      frames: { priority: number; status: { retryHint: string } | null }[];
    };
    expect(read.frames.map((entry) => [entry.priority, entry.status?.retryHint])).toEqual([
      [1, undefined],
      [0, 'n2'],
    ]);
    expect(codec.decodeServerBatch(bytes)).toEqual(events);
  });
});
