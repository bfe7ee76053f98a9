// Fast protobuf codec for the session stream's hot frames (keepalive, acquire, release, done), both directions,
// with proto-loader's generic codec as the fallback: same wire format (proto/forelock/v1/forelock.proto), same decoded objects.
import type * as grpc from '@grpc/grpc-js';
import {
  type CodecEnum,
  type CodecMessage,
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

// ---- the codec's tables: proto/forelock/v1/forelock.proto as this codec knows it (test/unit/wire-codec-schema.test.ts) ----

/** LockMode's names by number. */
export const LOCK_MODES = ['EXCLUSIVE', 'SHARED'] as const;
/** AcquireResult.Status's names by number. */
export const ACQUIRE_STATUSES = ['GRANTED', 'QUEUED'] as const;

/** ClientFrame: every field is a member of its oneof `frame`; the hot ones are keepalive, acquire and release. */
export const CLIENT_FRAME_MEMBERS = {
  open: { id: 1, type: 'OpenSession' },
  keepalive: { id: 2, type: 'Keepalive' },
  acquire: { id: 3, type: 'AcquireRequest' },
  release: { id: 4, type: 'ReleaseRequest' },
  cancel: { id: 5, type: 'CancelRequest' },
  warningAnswer: { id: 6, type: 'WarningAnswer' },
  close: { id: 7, type: 'CloseSession' },
} as const;

/** Keepalive (client -> server). */
export const KEEPALIVE_FIELDS = {
  seq: { id: 1, type: 'uint64' },
  clientTimeMs: { id: 2, type: 'double' },
  rttMs: { id: 3, type: 'double' },
} as const;

/** AcquireRequest. */
export const ACQUIRE_REQUEST_FIELDS = {
  requestSeq: { id: 1, type: 'uint64' },
  name: { id: 2, type: 'string' },
  mode: { id: 3, type: 'LockMode' },
  fenced: { id: 4, type: 'bool' },
  preemptible: { id: 5, type: 'bool' },
  waitMs: { id: 6, type: 'uint32' },
  metadata: { id: 7, type: 'string' },
  neverPreempt: { id: 8, type: 'bool' },
} as const;

/** ReleaseRequest. */
export const RELEASE_REQUEST_FIELDS = {
  requestSeq: { id: 1, type: 'uint64' },
  name: { id: 2, type: 'string' },
  token: { id: 3, type: 'uint64' },
} as const;

/** ServerFrame's fields outside its oneof. */
export const SERVER_FRAME_FIELDS = {
  lastKeepaliveSeq: { id: 1, type: 'uint64' },
  serverTimeMs: { id: 2, type: 'double' },
} as const;

/** ServerFrame's oneof `frame`; the hot members are keepalive, acquire and done. */
export const SERVER_FRAME_MEMBERS = {
  opened: { id: 10, type: 'SessionOpened' },
  keepalive: { id: 11, type: 'KeepaliveAnswer' },
  acquire: { id: 12, type: 'AcquireResult' },
  done: { id: 13, type: 'RequestDone' },
  error: { id: 14, type: 'RequestError' },
  warning: { id: 15, type: 'StalenessWarning' },
  preemption: { id: 16, type: 'PreemptionRequest' },
  revoked: { id: 17, type: 'RevocationNotice' },
  notLeader: { id: 18, type: 'NotLeader' },
  ended: { id: 19, type: 'SessionEnded' },
  advisory: { id: 20, type: 'SessionAdvisory' },
} as const;

/** KeepaliveAnswer. */
export const KEEPALIVE_ANSWER_FIELDS = {
  seq: { id: 1, type: 'uint64' },
  serverReceiveMs: { id: 2, type: 'double' },
  guaranteeMs: { id: 3, type: 'uint32' },
  keepaliveIntervalMs: { id: 4, type: 'uint32' },
} as const;

/** AcquireResult. */
export const ACQUIRE_RESULT_FIELDS = {
  requestSeq: { id: 1, type: 'uint64' },
  name: { id: 2, type: 'string' },
  status: { id: 3, type: 'AcquireResult.Status' },
  token: { id: 4, type: 'uint64' },
  grantedAtMs: { id: 5, type: 'double' },
  position: { id: 6, type: 'uint32' },
  fenced: { id: 7, type: 'bool' },
  mode: { id: 8, type: 'LockMode' },
} as const;

/** RequestDone. */
export const REQUEST_DONE_FIELDS = {
  requestSeq: { id: 1, type: 'uint64' },
  name: { id: 2, type: 'string' },
} as const;

/** Every message and enum this codec encodes or decodes by hand, as its tables above describe them. */
export const SESSION_FRAME_SCHEMA: {
  readonly messages: readonly CodecMessage[];
  readonly enums: readonly CodecEnum[];
} = {
  messages: [
    { message: 'ClientFrame', fields: CLIENT_FRAME_MEMBERS, oneof: { name: 'frame', members: CLIENT_FRAME_MEMBERS } },
    { message: 'Keepalive', fields: KEEPALIVE_FIELDS },
    { message: 'AcquireRequest', fields: ACQUIRE_REQUEST_FIELDS },
    { message: 'ReleaseRequest', fields: RELEASE_REQUEST_FIELDS },
    {
      message: 'ServerFrame',
      fields: { ...SERVER_FRAME_FIELDS, ...SERVER_FRAME_MEMBERS },
      oneof: { name: 'frame', members: SERVER_FRAME_MEMBERS },
    },
    { message: 'KeepaliveAnswer', fields: KEEPALIVE_ANSWER_FIELDS },
    { message: 'AcquireResult', fields: ACQUIRE_RESULT_FIELDS },
    { message: 'RequestDone', fields: REQUEST_DONE_FIELDS },
  ],
  enums: [
    { enum: 'LockMode', values: LOCK_MODES },
    { enum: 'AcquireResult.Status', values: ACQUIRE_STATUSES },
  ],
};

/** The oneof members of each frame. */
const CLIENT_MEMBERS: ReadonlySet<string> = new Set(Object.keys(CLIENT_FRAME_MEMBERS));
const SERVER_MEMBERS: ReadonlySet<string> = new Set(Object.keys(SERVER_FRAME_MEMBERS));

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
    case 'keepalive': {
      const fields = KEEPALIVE_FIELDS;
      writer.message(CLIENT_FRAME_MEMBERS.keepalive.id, (w) => {
        w.uint64(fields.seq.id, uint64Text(body.seq));
        w.double(fields.clientTimeMs.id, num(body.clientTimeMs));
        w.double(fields.rttMs.id, num(body.rttMs));
      });
      break;
    }
    case 'acquire': {
      const fields = ACQUIRE_REQUEST_FIELDS;
      writer.message(CLIENT_FRAME_MEMBERS.acquire.id, (w) => {
        w.uint64(fields.requestSeq.id, uint64Text(body.requestSeq));
        w.string(fields.name.id, str(body.name));
        w.uint32(fields.mode.id, enumCode(LOCK_MODES, body.mode));
        w.bool(fields.fenced.id, flag(body.fenced));
        w.bool(fields.preemptible.id, flag(body.preemptible));
        w.uint32(fields.waitMs.id, num(body.waitMs));
        w.string(fields.metadata.id, str(body.metadata));
        w.bool(fields.neverPreempt.id, flag(body.neverPreempt));
      });
      break;
    }
    case 'release': {
      const fields = RELEASE_REQUEST_FIELDS;
      writer.message(CLIENT_FRAME_MEMBERS.release.id, (w) => {
        w.uint64(fields.requestSeq.id, uint64Text(body.requestSeq));
        w.string(fields.name.id, str(body.name));
        w.uint64(fields.token.id, uint64Text(body.token));
      });
      break;
    }
    default:
      throw new NotFastPath('not a hot client frame');
  }
  return writer.finish();
}

function decodeKeepalive(reader: ProtoReader): FrameObject {
  const fields = KEEPALIVE_FIELDS;
  const out = { seq: '0', clientTimeMs: 0, rttMs: 0 };
  readFields(reader, (field, wire) => {
    if (field === fields.seq.id && wire === WIRE_VARINT) out.seq = reader.uint64();
    else if (field === fields.clientTimeMs.id && wire === WIRE_FIXED64) out.clientTimeMs = reader.double();
    else if (field === fields.rttMs.id && wire === WIRE_FIXED64) out.rttMs = reader.double();
    else return false;
    return true;
  });
  return out;
}

function decodeAcquireRequest(reader: ProtoReader): FrameObject {
  const fields = ACQUIRE_REQUEST_FIELDS;
  const out = {
    requestSeq: '0',
    name: '',
    mode: 'EXCLUSIVE' as string,
    fenced: false,
    preemptible: false,
    waitMs: 0,
    metadata: '',
    neverPreempt: false,
  };
  readFields(reader, (field, wire) => {
    if (field === fields.requestSeq.id && wire === WIRE_VARINT) out.requestSeq = reader.uint64();
    else if (field === fields.name.id && wire === WIRE_LENGTH) out.name = reader.string();
    else if (field === fields.mode.id && wire === WIRE_VARINT) out.mode = enumName(LOCK_MODES, reader.uint32());
    else if (field === fields.fenced.id && wire === WIRE_VARINT) out.fenced = reader.bool();
    else if (field === fields.preemptible.id && wire === WIRE_VARINT) out.preemptible = reader.bool();
    else if (field === fields.waitMs.id && wire === WIRE_VARINT) out.waitMs = reader.uint32();
    else if (field === fields.metadata.id && wire === WIRE_LENGTH) out.metadata = reader.string();
    else if (field === fields.neverPreempt.id && wire === WIRE_VARINT) out.neverPreempt = reader.bool();
    else return false;
    return true;
  });
  return out;
}

function decodeReleaseRequest(reader: ProtoReader): FrameObject {
  const fields = RELEASE_REQUEST_FIELDS;
  const out = { requestSeq: '0', name: '', token: '0' };
  readFields(reader, (field, wire) => {
    if (field === fields.requestSeq.id && wire === WIRE_VARINT) out.requestSeq = reader.uint64();
    else if (field === fields.name.id && wire === WIRE_LENGTH) out.name = reader.string();
    else if (field === fields.token.id && wire === WIRE_VARINT) out.token = reader.uint64();
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
  if (field === CLIENT_FRAME_MEMBERS.keepalive.id) return { keepalive: decodeKeepalive(body), frame: 'keepalive' };
  if (field === CLIENT_FRAME_MEMBERS.acquire.id) return { acquire: decodeAcquireRequest(body), frame: 'acquire' };
  if (field === CLIENT_FRAME_MEMBERS.release.id) return { release: decodeReleaseRequest(body), frame: 'release' };
  throw new NotFastPath('not a hot client frame');
}

// ---- server -> client ----

function encodeServerFrameFast(frame: FrameObject): Buffer {
  const writer = new ProtoWriter();
  const member = memberOf(frame, SERVER_MEMBERS);
  const body = frame[member] as FrameObject;
  writer.uint64(SERVER_FRAME_FIELDS.lastKeepaliveSeq.id, uint64Text(frame.lastKeepaliveSeq));
  writer.double(SERVER_FRAME_FIELDS.serverTimeMs.id, num(frame.serverTimeMs));
  switch (member) {
    case 'keepalive': {
      const fields = KEEPALIVE_ANSWER_FIELDS;
      writer.message(SERVER_FRAME_MEMBERS.keepalive.id, (w) => {
        w.uint64(fields.seq.id, uint64Text(body.seq));
        w.double(fields.serverReceiveMs.id, num(body.serverReceiveMs));
        w.uint32(fields.guaranteeMs.id, num(body.guaranteeMs));
        w.uint32(fields.keepaliveIntervalMs.id, num(body.keepaliveIntervalMs));
      });
      break;
    }
    case 'acquire': {
      const fields = ACQUIRE_RESULT_FIELDS;
      writer.message(SERVER_FRAME_MEMBERS.acquire.id, (w) => {
        w.uint64(fields.requestSeq.id, uint64Text(body.requestSeq));
        w.string(fields.name.id, str(body.name));
        w.uint32(fields.status.id, enumCode(ACQUIRE_STATUSES, body.status));
        w.uint64(fields.token.id, uint64Text(body.token));
        w.double(fields.grantedAtMs.id, num(body.grantedAtMs));
        w.uint32(fields.position.id, num(body.position));
        w.bool(fields.fenced.id, flag(body.fenced));
        w.uint32(fields.mode.id, enumCode(LOCK_MODES, body.mode));
      });
      break;
    }
    case 'done': {
      const fields = REQUEST_DONE_FIELDS;
      writer.message(SERVER_FRAME_MEMBERS.done.id, (w) => {
        w.uint64(fields.requestSeq.id, uint64Text(body.requestSeq));
        w.string(fields.name.id, str(body.name));
      });
      break;
    }
    default:
      throw new NotFastPath('not a hot server frame');
  }
  return writer.finish();
}

function decodeKeepaliveAnswer(reader: ProtoReader): FrameObject {
  const fields = KEEPALIVE_ANSWER_FIELDS;
  const out = { seq: '0', serverReceiveMs: 0, guaranteeMs: 0, keepaliveIntervalMs: 0 };
  readFields(reader, (field, wire) => {
    if (field === fields.seq.id && wire === WIRE_VARINT) out.seq = reader.uint64();
    else if (field === fields.serverReceiveMs.id && wire === WIRE_FIXED64) out.serverReceiveMs = reader.double();
    else if (field === fields.guaranteeMs.id && wire === WIRE_VARINT) out.guaranteeMs = reader.uint32();
    else if (field === fields.keepaliveIntervalMs.id && wire === WIRE_VARINT) out.keepaliveIntervalMs = reader.uint32();
    else return false;
    return true;
  });
  return out;
}

function decodeAcquireResult(reader: ProtoReader): FrameObject {
  const fields = ACQUIRE_RESULT_FIELDS;
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
    if (field === fields.requestSeq.id && wire === WIRE_VARINT) out.requestSeq = reader.uint64();
    else if (field === fields.name.id && wire === WIRE_LENGTH) out.name = reader.string();
    else if (field === fields.status.id && wire === WIRE_VARINT)
      out.status = enumName(ACQUIRE_STATUSES, reader.uint32());
    else if (field === fields.token.id && wire === WIRE_VARINT) out.token = reader.uint64();
    else if (field === fields.grantedAtMs.id && wire === WIRE_FIXED64) out.grantedAtMs = reader.double();
    else if (field === fields.position.id && wire === WIRE_VARINT) out.position = reader.uint32();
    else if (field === fields.fenced.id && wire === WIRE_VARINT) out.fenced = reader.bool();
    else if (field === fields.mode.id && wire === WIRE_VARINT) out.mode = enumName(LOCK_MODES, reader.uint32());
    else return false;
    return true;
  });
  return out;
}

function decodeRequestDone(reader: ProtoReader): FrameObject {
  const fields = REQUEST_DONE_FIELDS;
  const out = { requestSeq: '0', name: '' };
  readFields(reader, (field, wire) => {
    if (field === fields.requestSeq.id && wire === WIRE_VARINT) out.requestSeq = reader.uint64();
    else if (field === fields.name.id && wire === WIRE_LENGTH) out.name = reader.string();
    else return false;
    return true;
  });
  return out;
}

/** The hot members of ServerFrame's oneof by field number, with their decoders. */
const SERVER_HOT_MEMBERS: ReadonlyMap<number, readonly [string, (reader: ProtoReader) => FrameObject]> = new Map([
  [SERVER_FRAME_MEMBERS.keepalive.id, ['keepalive', decodeKeepaliveAnswer] as const],
  [SERVER_FRAME_MEMBERS.acquire.id, ['acquire', decodeAcquireResult] as const],
  [SERVER_FRAME_MEMBERS.done.id, ['done', decodeRequestDone] as const],
]);

function decodeServerFrameFast(bytes: Buffer): FrameObject {
  const reader = new ProtoReader(bytes);
  const out: FrameObject = { lastKeepaliveSeq: '0', serverTimeMs: 0 };
  let member: string | undefined;
  readFields(reader, (field, wire) => {
    if (field === SERVER_FRAME_FIELDS.lastKeepaliveSeq.id && wire === WIRE_VARINT)
      out.lastKeepaliveSeq = reader.uint64();
    else if (field === SERVER_FRAME_FIELDS.serverTimeMs.id && wire === WIRE_FIXED64) out.serverTimeMs = reader.double();
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
