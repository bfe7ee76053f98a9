// Fast protobuf codec for the session stream's hot frames (keepalive, acquire, release, done), both directions,
// with proto-loader's generic codec as the fallback: same wire format (proto/forelock.proto), same decoded objects.
import type * as grpc from '@grpc/grpc-js';
import {
  fieldOf,
  NotFastPath,
  ProtoReader,
  ProtoWriter,
  WIRE_FIXED64,
  WIRE_LENGTH,
  WIRE_VARINT,
  wireTypeOf,
} from './proto-wire.js';

/** A frame as grpc-js hands it to (or takes it from) the application: the loader's plain-object form. */
type FrameObject = Record<string, unknown>;

const LOCK_MODES = ['EXCLUSIVE', 'SHARED'] as const;
const ACQUIRE_STATUSES = ['GRANTED', 'QUEUED'] as const;

/** The oneof members of each frame. */
const CLIENT_MEMBERS: ReadonlySet<string> = new Set([
  'open',
  'keepalive',
  'acquire',
  'release',
  'cancel',
  'warningAnswer',
  'close',
]);
const SERVER_MEMBERS: ReadonlySet<string> = new Set([
  'opened',
  'keepalive',
  'acquire',
  'done',
  'error',
  'warning',
  'preemption',
  'revoked',
  'notLeader',
  'ended',
]);

// ---- typed field access for encoding: anything unexpected is NotFastPath (the loader then encodes it) ----

function str(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new NotFastPath('not a string');
  return value;
}

function num(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number') throw new NotFastPath('not a number');
  return value;
}

function flag(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new NotFastPath('not a boolean');
  return value;
}

function uint64Text(value: unknown): string {
  if (value === undefined) return '0';
  if (typeof value !== 'string') throw new NotFastPath('not a uint64 decimal string');
  return value;
}

function enumCode(names: readonly string[], value: unknown): number {
  if (value === undefined) return 0;
  const code = names.indexOf(value as string);
  if (code < 0) throw new NotFastPath('not an enum name');
  return code;
}

function enumName<T extends string>(names: readonly T[], code: number): T {
  const name = names[code];
  if (name === undefined) throw new NotFastPath('unknown enum value');
  return name;
}

/**
 * Which single oneof member `frame` sets, or NotFastPath when it sets none or several. It walks the frame's own keys
 * (one to three) rather than every member name.
 */
function memberOf<T extends string>(frame: FrameObject, members: ReadonlySet<T>): T {
  let found: T | undefined;
  for (const key in frame) {
    if (!members.has(key as T)) continue;
    const value = frame[key];
    if (value === undefined || value === null) continue;
    if (found !== undefined) throw new NotFastPath('several oneof members');
    found = key as T;
  }
  if (found === undefined) throw new NotFastPath('no oneof member');
  return found;
}

/** Reads the fields of one message with `read(field, wireType)`; it returns false for a field it does not know. */
function readFields(reader: ProtoReader, read: (field: number, wireType: number) => boolean): void {
  while (!reader.done()) {
    const tag = reader.tag();
    if (!read(fieldOf(tag), wireTypeOf(tag))) throw new NotFastPath('unknown field or wire type');
  }
}

// ---- client -> server ----

function encodeClientFrameFast(frame: FrameObject): Buffer {
  const writer = new ProtoWriter();
  const member = memberOf(frame, CLIENT_MEMBERS);
  const body = frame[member] as FrameObject;
  switch (member) {
    case 'keepalive':
      writer.message(2, (w) => {
        w.uint64(1, uint64Text(body.seq));
        w.double(2, num(body.clientTimeMs));
        w.double(3, num(body.rttMs));
      });
      break;
    case 'acquire':
      writer.message(3, (w) => {
        w.uint64(1, uint64Text(body.requestSeq));
        w.string(2, str(body.name));
        w.uint32(3, enumCode(LOCK_MODES, body.mode));
        w.bool(4, flag(body.fenced));
        w.bool(5, flag(body.preemptible));
        w.uint32(6, num(body.waitMs));
        w.string(7, str(body.metadata));
      });
      break;
    case 'release':
      writer.message(4, (w) => {
        w.uint64(1, uint64Text(body.requestSeq));
        w.string(2, str(body.name));
        w.uint64(3, uint64Text(body.token));
      });
      break;
    default:
      throw new NotFastPath('not a hot client frame');
  }
  return writer.finish();
}

function decodeKeepalive(reader: ProtoReader): FrameObject {
  const out = { seq: '0', clientTimeMs: 0, rttMs: 0 };
  readFields(reader, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) out.seq = reader.uint64();
    else if (field === 2 && wire === WIRE_FIXED64) out.clientTimeMs = reader.double();
    else if (field === 3 && wire === WIRE_FIXED64) out.rttMs = reader.double();
    else return false;
    return true;
  });
  return out;
}

function decodeAcquireRequest(reader: ProtoReader): FrameObject {
  const out = {
    requestSeq: '0',
    name: '',
    mode: 'EXCLUSIVE' as string,
    fenced: false,
    preemptible: false,
    waitMs: 0,
    metadata: '',
  };
  readFields(reader, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) out.requestSeq = reader.uint64();
    else if (field === 2 && wire === WIRE_LENGTH) out.name = reader.string();
    else if (field === 3 && wire === WIRE_VARINT) out.mode = enumName(LOCK_MODES, reader.uint32());
    else if (field === 4 && wire === WIRE_VARINT) out.fenced = reader.bool();
    else if (field === 5 && wire === WIRE_VARINT) out.preemptible = reader.bool();
    else if (field === 6 && wire === WIRE_VARINT) out.waitMs = reader.uint32();
    else if (field === 7 && wire === WIRE_LENGTH) out.metadata = reader.string();
    else return false;
    return true;
  });
  return out;
}

function decodeReleaseRequest(reader: ProtoReader): FrameObject {
  const out = { requestSeq: '0', name: '', token: '0' };
  readFields(reader, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) out.requestSeq = reader.uint64();
    else if (field === 2 && wire === WIRE_LENGTH) out.name = reader.string();
    else if (field === 3 && wire === WIRE_VARINT) out.token = reader.uint64();
    else return false;
    return true;
  });
  return out;
}

function decodeClientFrameFast(bytes: Buffer): FrameObject {
  const reader = new ProtoReader(bytes);
  if (reader.done()) throw new NotFastPath('empty frame');
  const tag = reader.tag();
  if (wireTypeOf(tag) !== WIRE_LENGTH) throw new NotFastPath('oneof member is not a message');
  const field = fieldOf(tag);
  const body = reader.message();
  if (!reader.done()) throw new NotFastPath('more than one field');
  if (field === 2) return { keepalive: decodeKeepalive(body), frame: 'keepalive' };
  if (field === 3) return { acquire: decodeAcquireRequest(body), frame: 'acquire' };
  if (field === 4) return { release: decodeReleaseRequest(body), frame: 'release' };
  throw new NotFastPath('not a hot client frame');
}

// ---- server -> client ----

function encodeServerFrameFast(frame: FrameObject): Buffer {
  const writer = new ProtoWriter();
  const member = memberOf(frame, SERVER_MEMBERS);
  const body = frame[member] as FrameObject;
  writer.uint64(1, uint64Text(frame.lastKeepaliveSeq));
  writer.double(2, num(frame.serverTimeMs));
  switch (member) {
    case 'keepalive':
      writer.message(11, (w) => {
        w.uint64(1, uint64Text(body.seq));
        w.double(2, num(body.serverReceiveMs));
        w.uint32(3, num(body.guaranteeMs));
        w.uint32(4, num(body.keepaliveIntervalMs));
      });
      break;
    case 'acquire':
      writer.message(12, (w) => {
        w.uint64(1, uint64Text(body.requestSeq));
        w.string(2, str(body.name));
        w.uint32(3, enumCode(ACQUIRE_STATUSES, body.status));
        w.uint64(4, uint64Text(body.token));
        w.double(5, num(body.grantedAtMs));
        w.uint32(6, num(body.position));
        w.bool(7, flag(body.fenced));
        w.uint32(8, enumCode(LOCK_MODES, body.mode));
      });
      break;
    case 'done':
      writer.message(13, (w) => {
        w.uint64(1, uint64Text(body.requestSeq));
        w.string(2, str(body.name));
      });
      break;
    default:
      throw new NotFastPath('not a hot server frame');
  }
  return writer.finish();
}

function decodeKeepaliveAnswer(reader: ProtoReader): FrameObject {
  const out = { seq: '0', serverReceiveMs: 0, guaranteeMs: 0, keepaliveIntervalMs: 0 };
  readFields(reader, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) out.seq = reader.uint64();
    else if (field === 2 && wire === WIRE_FIXED64) out.serverReceiveMs = reader.double();
    else if (field === 3 && wire === WIRE_VARINT) out.guaranteeMs = reader.uint32();
    else if (field === 4 && wire === WIRE_VARINT) out.keepaliveIntervalMs = reader.uint32();
    else return false;
    return true;
  });
  return out;
}

function decodeAcquireResult(reader: ProtoReader): FrameObject {
  const out = {
    requestSeq: '0',
    name: '',
    status: 'GRANTED' as string,
    token: '0',
    grantedAtMs: 0,
    position: 0,
    fenced: false,
    mode: 'EXCLUSIVE' as string,
  };
  readFields(reader, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) out.requestSeq = reader.uint64();
    else if (field === 2 && wire === WIRE_LENGTH) out.name = reader.string();
    else if (field === 3 && wire === WIRE_VARINT) out.status = enumName(ACQUIRE_STATUSES, reader.uint32());
    else if (field === 4 && wire === WIRE_VARINT) out.token = reader.uint64();
    else if (field === 5 && wire === WIRE_FIXED64) out.grantedAtMs = reader.double();
    else if (field === 6 && wire === WIRE_VARINT) out.position = reader.uint32();
    else if (field === 7 && wire === WIRE_VARINT) out.fenced = reader.bool();
    else if (field === 8 && wire === WIRE_VARINT) out.mode = enumName(LOCK_MODES, reader.uint32());
    else return false;
    return true;
  });
  return out;
}

function decodeRequestDone(reader: ProtoReader): FrameObject {
  const out = { requestSeq: '0', name: '' };
  readFields(reader, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) out.requestSeq = reader.uint64();
    else if (field === 2 && wire === WIRE_LENGTH) out.name = reader.string();
    else return false;
    return true;
  });
  return out;
}

/** The hot members of ServerFrame's oneof by field number, with their decoders. */
const SERVER_HOT_MEMBERS: ReadonlyMap<number, readonly [string, (reader: ProtoReader) => FrameObject]> = new Map([
  [11, ['keepalive', decodeKeepaliveAnswer] as const],
  [12, ['acquire', decodeAcquireResult] as const],
  [13, ['done', decodeRequestDone] as const],
]);

function decodeServerFrameFast(bytes: Buffer): FrameObject {
  const reader = new ProtoReader(bytes);
  const out: FrameObject = { lastKeepaliveSeq: '0', serverTimeMs: 0 };
  let member: string | undefined;
  readFields(reader, (field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) out.lastKeepaliveSeq = reader.uint64();
    else if (field === 2 && wire === WIRE_FIXED64) out.serverTimeMs = reader.double();
    else {
      const hot = SERVER_HOT_MEMBERS.get(field);
      if (hot === undefined || member !== undefined || wire !== WIRE_LENGTH) return false;
      member = hot[0];
      out[member] = hot[1](reader.message());
    }
    return true;
  });
  if (member === undefined) throw new NotFastPath('not a hot server frame');
  out.frame = member;
  return out;
}

// ---- wiring into grpc-js ----

/** `fast`, or `generic` when the fast codec declines (NotFastPath) this value. */
function withFallback<In, Out>(fast: (value: In) => Out, generic: (value: In) => Out): (value: In) => Out {
  return (value) => {
    try {
      return fast(value);
    } catch (error) {
      if (error instanceof NotFastPath) return generic(value);
      throw error;
    }
  };
}

/** The four (de)serializers of the Session method: fast for the hot frames, the loader's for everything else. */
export const sessionFrameCodec = {
  encodeClientFrame: encodeClientFrameFast,
  decodeClientFrame: decodeClientFrameFast,
  encodeServerFrame: encodeServerFrameFast,
  decodeServerFrame: decodeServerFrameFast,
} as const;

const passBytes = (bytes: Buffer): Buffer => bytes;

/**
 * A copy of the Forelock service definition whose Session method encodes and decodes the hot frames (keepalive,
 * acquire, release, done) without the loader's object conversions; other frames and anything unexpected go through
 * the loader's codec. The bytes are plain proto3 (default values left out), decoded objects are the loader's shape.
 * Its Sessions method passes bytes through: the session mux encodes its batches (util/session-mux-codec.ts), each
 * frame in them with the Session method's codec.
 */
export function withFastSessionCodec(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const session = service.Session as grpc.MethodDefinition<FrameObject, FrameObject> | undefined;
  const sessions = service.Sessions as grpc.MethodDefinition<unknown, unknown> | undefined;
  if (session === undefined || sessions === undefined) throw new TypeError('the service has no Session(s) method');
  return {
    ...service,
    Session: {
      ...session,
      requestSerialize: withFallback(encodeClientFrameFast, session.requestSerialize),
      requestDeserialize: withFallback(decodeClientFrameFast, session.requestDeserialize),
      responseSerialize: withFallback(encodeServerFrameFast, session.responseSerialize),
      responseDeserialize: withFallback(decodeServerFrameFast, session.responseDeserialize),
    },
    Sessions: {
      ...sessions,
      requestSerialize: passBytes,
      requestDeserialize: passBytes,
      responseSerialize: passBytes,
      responseDeserialize: passBytes,
    },
  };
}
