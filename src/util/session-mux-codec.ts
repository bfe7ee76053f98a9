// Wire format of the Sessions stream (proto/forelock/v1/forelock.proto ClientBatch and ServerBatch): each channel's frames exactly
// as a Session stream encodes them, tagged with their channel, many to one message. Shared by the SDK and the server.
import type * as grpc from '@grpc/grpc-js';
import { forelockServices } from './proto.js';
import {
  type CodecMessage,
  fieldOf,
  NotFastPath,
  ProtoReader,
  ProtoWriter,
  WIRE_LENGTH,
  WIRE_VARINT,
  wireTypeOf,
} from './proto-wire.js';

// ---- the codec's tables: proto/forelock/v1/forelock.proto as this codec knows it (test/unit/wire-codec-schema.test.ts) ----

/** ClientBatch. */
export const CLIENT_BATCH_FIELDS = { frames: { id: 1, type: 'repeated ClientChannelFrame' } } as const;

/** ClientChannelFrame: a channel and its oneof `event` (frame, halfClose, cancel). */
export const CLIENT_CHANNEL_FRAME_FIELDS = {
  channel: { id: 1, type: 'uint32' },
  frame: { id: 2, type: 'ClientFrame' },
  halfClose: { id: 3, type: 'ChannelHalfClose' },
  cancel: { id: 4, type: 'ChannelCancel' },
} as const;

/** ServerBatch. */
export const SERVER_BATCH_FIELDS = { frames: { id: 1, type: 'repeated ServerChannelFrame' } } as const;

/** ServerChannelFrame: a channel and its oneof `event` (frame, status). */
export const SERVER_CHANNEL_FRAME_FIELDS = {
  channel: { id: 1, type: 'uint32' },
  frame: { id: 2, type: 'ServerFrame' },
  status: { id: 3, type: 'ChannelStatus' },
} as const;

/** ChannelStatus. Its metadata entries are protobuf map entries: key field 1, value field 2. */
export const CHANNEL_STATUS_FIELDS = {
  code: { id: 1, type: 'uint32' },
  details: { id: 2, type: 'string' },
  metadata: { id: 3, type: 'map<string, string>' },
} as const;

const { frame: clientFrame, halfClose, cancel } = CLIENT_CHANNEL_FRAME_FIELDS;
const { frame: serverFrame, status: channelStatus } = SERVER_CHANNEL_FRAME_FIELDS;

/** Every message this codec encodes or decodes by hand, as its tables above describe them. */
export const SESSION_BATCH_SCHEMA: readonly CodecMessage[] = [
  { message: 'ClientBatch', fields: CLIENT_BATCH_FIELDS },
  {
    message: 'ClientChannelFrame',
    fields: CLIENT_CHANNEL_FRAME_FIELDS,
    oneof: { name: 'event', members: { frame: clientFrame, halfClose, cancel } },
  },
  { message: 'ChannelHalfClose', fields: {} },
  { message: 'ChannelCancel', fields: {} },
  { message: 'ServerBatch', fields: SERVER_BATCH_FIELDS },
  {
    message: 'ServerChannelFrame',
    fields: SERVER_CHANNEL_FRAME_FIELDS,
    oneof: { name: 'event', members: { frame: serverFrame, status: channelStatus } },
  },
  { message: 'ChannelStatus', fields: CHANNEL_STATUS_FIELDS },
];

/** Where a batch keeps its entries, and where an entry keeps its channel and its oneof `event`'s members. */
interface BatchLayout {
  readonly framesId: number;
  readonly channelId: number;
  readonly eventIds: ReadonlySet<number>;
}
const CLIENT_BATCH_LAYOUT: BatchLayout = {
  framesId: CLIENT_BATCH_FIELDS.frames.id,
  channelId: CLIENT_CHANNEL_FRAME_FIELDS.channel.id,
  eventIds: new Set([clientFrame.id, halfClose.id, cancel.id]),
};
const SERVER_BATCH_LAYOUT: BatchLayout = {
  framesId: SERVER_BATCH_FIELDS.frames.id,
  channelId: SERVER_CHANNEL_FRAME_FIELDS.channel.id,
  eventIds: new Set([serverFrame.id, channelStatus.id]),
};

/** The status a channel ends with: what its Session call would have ended with. */
export interface ChannelStatus {
  /** gRPC status code (0: OK). */
  readonly code: number;
  readonly details: string;
  /** Trailing metadata (forelock-error-code, forelock-leader-id, forelock-leader-address). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Fields of ChannelStatus that this codec has no table for, in the loader's form (see `UnknownFields`). */
  readonly fields?: UnknownFields;
}

/**
 * Fields the .proto declares but the fast codec has no table for, in the loader's form (camelCase, uint64 as decimal
 * strings, enums as names). The generic codec fills them in when decoding and writes them when encoding, so a field
 * added to the .proto is carried instead of dropped until the fast codec learns it.
 */
export type UnknownFields = Readonly<Record<string, unknown>>;

/** One event of a ClientBatch: an encoded ClientFrame, a half-close or a cancel, on one channel. */
export type ClientChannelEvent = { readonly channel: number; readonly fields?: UnknownFields } & (
  | { readonly kind: 'frame'; readonly bytes: Uint8Array }
  | { readonly kind: 'half-close' }
  | { readonly kind: 'cancel' }
);

/** One event of a ServerBatch: an encoded ServerFrame, or the channel's end. */
export type ServerChannelEvent = { readonly channel: number; readonly fields?: UnknownFields } & (
  | { readonly kind: 'frame'; readonly bytes: Uint8Array }
  | { readonly kind: 'status'; readonly status: ChannelStatus }
);

/** A message's generic (de)serializer, as proto-loader builds it from the .proto. */
export interface GenericMessageCodec {
  serialize(value: object): Buffer;
  deserialize(bytes: Buffer): Record<string, unknown>;
}

/** The loader's codecs the batch codec falls back to: the batches, and the frames the batches carry as bytes. */
export interface GenericBatchCodecs {
  readonly clientBatch: GenericMessageCodec;
  readonly serverBatch: GenericMessageCodec;
  readonly clientFrame: GenericMessageCodec;
  readonly serverFrame: GenericMessageCodec;
}

/** The generic codecs of a Forelock service definition as the loader made it (its Session and Sessions methods). */
export function genericBatchCodecs(service: grpc.ServiceDefinition): GenericBatchCodecs {
  type Method = grpc.MethodDefinition<object, object>;
  const session = service.Session as Method | undefined;
  const sessions = service.Sessions as Method | undefined;
  if (session === undefined || sessions === undefined) throw new TypeError('the service has no Session(s) method');
  const codec = (serialize: (value: object) => Buffer, deserialize: (bytes: Buffer) => object) => ({
    serialize,
    deserialize: deserialize as (bytes: Buffer) => Record<string, unknown>,
  });
  return {
    clientBatch: codec(sessions.requestSerialize, sessions.requestDeserialize),
    serverBatch: codec(sessions.responseSerialize, sessions.responseDeserialize),
    clientFrame: codec(session.requestSerialize, session.requestDeserialize),
    serverFrame: codec(session.responseSerialize, session.responseDeserialize),
  };
}

/** The four batch (de)serializers. */
export interface SessionBatchCodec {
  encodeClientBatch(events: readonly ClientChannelEvent[]): Buffer;
  decodeClientBatch(bytes: Buffer): ClientChannelEvent[];
  encodeServerBatch(events: readonly ServerChannelEvent[]): Buffer;
  decodeServerBatch(bytes: Buffer): ServerChannelEvent[];
}

/**
 * The batch codec: the fast path below for every batch made of the fields in its tables, and `generic` (the loader's
 * codec of the same .proto) for any other, as the frame codec falls back (session-frame-codec.ts): an event or status
 * carrying `fields`, or bytes with a field number or wire type the tables do not have, take the generic path, so
 * nothing the .proto declares is dropped. Malformed bytes fail with a TypeError naming the batch.
 */
export function sessionBatchCodec(generic: GenericBatchCodecs): SessionBatchCodec {
  return {
    encodeClientBatch: (events) =>
      fastOr(
        () => encodeClientBatchFast(events),
        () => generic.clientBatch.serialize({ frames: events.map((event) => clientEntryObject(generic, event)) }),
      ),
    decodeClientBatch: (bytes) =>
      decodeWithFallback('ClientBatch', CLIENT_BATCH_LAYOUT, readClientEvent, bytes, () =>
        entriesOf(generic.clientBatch.deserialize(bytes)).map((entry) => clientEventOf(generic, entry)),
      ),
    encodeServerBatch: (events) =>
      fastOr(
        () => encodeServerBatchFast(events),
        () => generic.serverBatch.serialize({ frames: events.map((event) => serverEntryObject(generic, event)) }),
      ),
    decodeServerBatch: (bytes) =>
      decodeWithFallback('ServerBatch', SERVER_BATCH_LAYOUT, readServerEvent, bytes, () =>
        entriesOf(generic.serverBatch.deserialize(bytes)).map((entry) => serverEventOf(generic, entry)),
      ),
  };
}

let defaultCodec: SessionBatchCodec | null = null;

/** The batch codec of proto/forelock/v1/forelock.proto as this package loads it. */
function codec(): SessionBatchCodec {
  defaultCodec ??= sessionBatchCodec(genericBatchCodecs(forelockServices().Forelock.service));
  return defaultCodec;
}

/** Encodes client events as one ClientBatch. */
export function encodeClientBatch(events: readonly ClientChannelEvent[]): Buffer {
  return codec().encodeClientBatch(events);
}

/** Encodes server events as one ServerBatch. */
export function encodeServerBatch(events: readonly ServerChannelEvent[]): Buffer {
  return codec().encodeServerBatch(events);
}

/** Decodes a ClientBatch; throws a TypeError naming what is wrong with malformed bytes. */
export function decodeClientBatch(bytes: Buffer): ClientChannelEvent[] {
  return codec().decodeClientBatch(bytes);
}

/** Decodes a ServerBatch; throws a TypeError naming what is wrong with malformed bytes. */
export function decodeServerBatch(bytes: Buffer): ServerChannelEvent[] {
  return codec().decodeServerBatch(bytes);
}

// ---- the fast path ----

/** Room for an event's tags and lengths beside its bytes. */
const EVENT_OVERHEAD_BYTES = 16;

function encodeClientBatchFast(events: readonly ClientChannelEvent[]): Buffer {
  const writer = new ProtoWriter(initialSize(events));
  for (const event of events) {
    if (event.fields !== undefined) throw new NotFastPath('fields outside the tables');
    writer.message(CLIENT_BATCH_FIELDS.frames.id, (w) => {
      w.uint32(CLIENT_CHANNEL_FRAME_FIELDS.channel.id, event.channel);
      if (event.kind === 'frame') w.bytes(clientFrame.id, event.bytes);
      else w.message(event.kind === 'half-close' ? halfClose.id : cancel.id, () => {});
    });
  }
  return writer.finish();
}

function encodeServerBatchFast(events: readonly ServerChannelEvent[]): Buffer {
  const writer = new ProtoWriter(initialSize(events));
  for (const event of events) {
    if (event.fields !== undefined) throw new NotFastPath('fields outside the tables');
    writer.message(SERVER_BATCH_FIELDS.frames.id, (w) => {
      w.uint32(SERVER_CHANNEL_FRAME_FIELDS.channel.id, event.channel);
      if (event.kind === 'frame') {
        w.bytes(serverFrame.id, event.bytes);
        return;
      }
      const { code, details, metadata, fields } = event.status;
      if (fields !== undefined) throw new NotFastPath('fields outside the tables');
      w.message(channelStatus.id, (s) => {
        s.uint32(CHANNEL_STATUS_FIELDS.code.id, code);
        s.string(CHANNEL_STATUS_FIELDS.details.id, details);
        for (const [key, value] of Object.entries(metadata)) {
          s.message(CHANNEL_STATUS_FIELDS.metadata.id, (entry) => {
            entry.string(1, key);
            entry.string(2, value);
          });
        }
      });
    });
  }
  return writer.finish();
}

function readClientEvent(channel: number, field: number, body: Buffer): ClientChannelEvent | null {
  if (field === clientFrame.id) return { channel, kind: 'frame', bytes: body };
  if (field === halfClose.id) return emptyMessage(body) && { channel, kind: 'half-close' };
  if (field === cancel.id) return emptyMessage(body) && { channel, kind: 'cancel' };
  return null;
}

function readServerEvent(channel: number, field: number, body: Buffer): ServerChannelEvent | null {
  if (field === serverFrame.id) return { channel, kind: 'frame', bytes: body };
  if (field === channelStatus.id) return { channel, kind: 'status', status: readStatus(new ProtoReader(body)) };
  return null;
}

/** ChannelHalfClose and ChannelCancel have no fields: one that carries some goes to the generic path. */
function emptyMessage(body: Buffer): true {
  if (body.length > 0) throw new NotFastPath('fields outside the tables');
  return true;
}

/** About how many bytes `event` adds to its batch (what the muxes count against their queues' bounds). */
export function encodedSizeOf(event: ClientChannelEvent | ServerChannelEvent): number {
  return EVENT_OVERHEAD_BYTES + (event.kind === 'frame' ? event.bytes.length : 64);
}

function initialSize(events: readonly (ClientChannelEvent | ServerChannelEvent)[]): number {
  let size = 0;
  for (const event of events) size += encodedSizeOf(event);
  return size;
}

/** Malformed bytes: the generic decoder cannot read them either. */
class MalformedBatch extends Error {}

/**
 * Reads the repeated entries of a batch: each a channel number and one event (a member of the entry's oneof), which
 * `readEvent` makes from its field number and body. A field outside the tables declines (NotFastPath); an entry
 * without an event is malformed.
 */
function decodeBatchFast<T>(
  layout: BatchLayout,
  bytes: Buffer,
  readEvent: (channel: number, field: number, body: Buffer) => T | null,
): T[] {
  const events: T[] = [];
  const batch = new ProtoReader(bytes);
  while (!batch.done()) {
    const tag = batch.tag();
    if (fieldOf(tag) !== layout.framesId || wireTypeOf(tag) !== WIRE_LENGTH) throw new NotFastPath('unknown field');
    const entry = batch.message();
    let channel = 0;
    let eventField = 0;
    let eventBody: Buffer | null = null;
    // Fields may come in any order (the channel after the event): the event is made once the entry is read.
    while (!entry.done()) {
      const entryTag = entry.tag();
      const field = fieldOf(entryTag);
      if (field === layout.channelId && wireTypeOf(entryTag) === WIRE_VARINT) {
        channel = entry.uint32();
      } else if (layout.eventIds.has(field) && wireTypeOf(entryTag) === WIRE_LENGTH) {
        // A oneof set twice keeps the last member, as protobuf decoders do.
        eventField = field;
        eventBody = entry.bytes();
      } else throw new NotFastPath('unknown field');
    }
    const event = eventBody === null ? null : readEvent(channel, eventField, eventBody);
    if (event === null) throw new MalformedBatch(`an entry of channel ${channel} carries no event`);
    events.push(event);
  }
  return events;
}

function readStatus(reader: ProtoReader): ChannelStatus {
  let code = 0;
  let details = '';
  const metadata: Record<string, string> = {};
  while (!reader.done()) {
    const tag = reader.tag();
    const field = fieldOf(tag);
    const wireType = wireTypeOf(tag);
    if (field === CHANNEL_STATUS_FIELDS.code.id && wireType === WIRE_VARINT) code = reader.uint32();
    else if (field === CHANNEL_STATUS_FIELDS.details.id && wireType === WIRE_LENGTH) details = reader.string();
    else if (field === CHANNEL_STATUS_FIELDS.metadata.id && wireType === WIRE_LENGTH) {
      const entry = reader.message();
      let key = '';
      let value = '';
      while (!entry.done()) {
        const entryTag = entry.tag();
        if (fieldOf(entryTag) === 1 && wireTypeOf(entryTag) === WIRE_LENGTH) key = entry.string();
        else if (fieldOf(entryTag) === 2 && wireTypeOf(entryTag) === WIRE_LENGTH) value = entry.string();
        else throw new NotFastPath('unknown field');
      }
      metadata[key] = value;
    } else throw new NotFastPath('unknown field');
  }
  return { code, details, metadata };
}

// ---- the generic path ----

/** `fast()`, or `generic()` when the fast path declines. */
function fastOr<T>(fast: () => T, generic: () => T): T {
  try {
    return fast();
  } catch (error) {
    if (error instanceof NotFastPath) return generic();
    throw error;
  }
}

function decodeWithFallback<T>(
  what: string,
  layout: BatchLayout,
  readEvent: (channel: number, field: number, body: Buffer) => T | null,
  bytes: Buffer,
  generic: () => T[],
): T[] {
  try {
    return fastOr(() => decodeBatchFast(layout, bytes, readEvent), generic);
  } catch (error) {
    throw new TypeError(`malformed ${what}: ${(error as Error).message}`);
  }
}

type EntryObject = Record<string, unknown>;

function entriesOf(batch: Record<string, unknown>): EntryObject[] {
  return (batch.frames ?? []) as EntryObject[];
}

/** The entry's fields other than `known` that hold more than their proto3 default, or undefined if none do. */
function unknownFieldsOf(object: EntryObject, known: readonly string[]): UnknownFields | undefined {
  let fields: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(object)) {
    if (known.includes(key) || isProtoDefault(value)) continue;
    fields ??= {};
    fields[key] = value;
  }
  return fields;
}

/** Whether the loader (with `defaults: true`) would show `value` for a field that was not on the wire. */
function isProtoDefault(value: unknown): boolean {
  if (value === null || value === undefined || value === '' || value === 0 || value === '0' || value === false)
    return true;
  if (Array.isArray(value)) return value.length === 0;
  if (Buffer.isBuffer(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

const ENTRY_KEYS = ['channel', 'event', 'frame', 'halfClose', 'cancel', 'status'] as const;
const STATUS_KEYS = ['code', 'details', 'metadata'] as const;

/** `event`'s own fields, if it has any. */
function withFields<T extends object>(event: T, fields: UnknownFields | undefined): T {
  return fields === undefined ? event : { ...event, fields };
}

function clientEventOf(generic: GenericBatchCodecs, entry: EntryObject): ClientChannelEvent {
  const channel = entry.channel as number;
  const fields = unknownFieldsOf(entry, ENTRY_KEYS);
  switch (entry.event) {
    case 'frame':
      return withFields(
        { channel, kind: 'frame', bytes: generic.clientFrame.serialize(entry.frame as object) },
        fields,
      );
    case 'halfClose':
      return withFields({ channel, kind: 'half-close' }, fields);
    case 'cancel':
      return withFields({ channel, kind: 'cancel' }, fields);
    default:
      throw new MalformedBatch(`an entry of channel ${channel} carries no event`);
  }
}

function serverEventOf(generic: GenericBatchCodecs, entry: EntryObject): ServerChannelEvent {
  const channel = entry.channel as number;
  const fields = unknownFieldsOf(entry, ENTRY_KEYS);
  if (entry.event === 'frame')
    return withFields({ channel, kind: 'frame', bytes: generic.serverFrame.serialize(entry.frame as object) }, fields);
  if (entry.event !== 'status') throw new MalformedBatch(`an entry of channel ${channel} carries no event`);
  const status = entry.status as EntryObject;
  const statusFields = unknownFieldsOf(status, STATUS_KEYS);
  const known: ChannelStatus = {
    code: status.code as number,
    details: status.details as string,
    metadata: { ...(status.metadata as Record<string, string>) },
  };
  return withFields({ channel, kind: 'status', status: withFields(known, statusFields) }, fields);
}

function clientEntryObject(generic: GenericBatchCodecs, event: ClientChannelEvent): EntryObject {
  const entry: EntryObject = { ...event.fields, channel: event.channel };
  if (event.kind === 'frame') entry.frame = generic.clientFrame.deserialize(Buffer.from(event.bytes));
  else if (event.kind === 'half-close') entry.halfClose = {};
  else entry.cancel = {};
  return entry;
}

function serverEntryObject(generic: GenericBatchCodecs, event: ServerChannelEvent): EntryObject {
  const entry: EntryObject = { ...event.fields, channel: event.channel };
  if (event.kind === 'frame') entry.frame = generic.serverFrame.deserialize(Buffer.from(event.bytes));
  else {
    const { code, details, metadata, fields } = event.status;
    entry.status = { ...fields, code, details, metadata };
  }
  return entry;
}
