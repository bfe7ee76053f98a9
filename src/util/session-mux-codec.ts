// Wire format of the Sessions stream (proto/forelock/v1/forelock.proto ClientBatch and ServerBatch): each channel's frames exactly
// as a Session stream encodes them, tagged with their channel, many to one message. Shared by the SDK and the server.
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
}

/** One event of a ClientBatch: an encoded ClientFrame, a half-close or a cancel, on one channel. */
export type ClientChannelEvent =
  | { readonly channel: number; readonly kind: 'frame'; readonly bytes: Uint8Array }
  | { readonly channel: number; readonly kind: 'half-close' }
  | { readonly channel: number; readonly kind: 'cancel' };

/** One event of a ServerBatch: an encoded ServerFrame, or the channel's end. */
export type ServerChannelEvent =
  | { readonly channel: number; readonly kind: 'frame'; readonly bytes: Uint8Array }
  | { readonly channel: number; readonly kind: 'status'; readonly status: ChannelStatus };

/** Room for an event's tags and lengths beside its bytes. */
const EVENT_OVERHEAD_BYTES = 16;

/** Encodes client events as one ClientBatch. */
export function encodeClientBatch(events: readonly ClientChannelEvent[]): Buffer {
  const writer = new ProtoWriter(initialSize(events));
  for (const event of events) {
    writer.message(CLIENT_BATCH_FIELDS.frames.id, (w) => {
      w.uint32(CLIENT_CHANNEL_FRAME_FIELDS.channel.id, event.channel);
      if (event.kind === 'frame') w.bytes(clientFrame.id, event.bytes);
      else w.message(event.kind === 'half-close' ? halfClose.id : cancel.id, () => {});
    });
  }
  return writer.finish();
}

/** Encodes server events as one ServerBatch. */
export function encodeServerBatch(events: readonly ServerChannelEvent[]): Buffer {
  const writer = new ProtoWriter(initialSize(events));
  for (const event of events) {
    writer.message(SERVER_BATCH_FIELDS.frames.id, (w) => {
      w.uint32(SERVER_CHANNEL_FRAME_FIELDS.channel.id, event.channel);
      if (event.kind === 'frame') {
        w.bytes(serverFrame.id, event.bytes);
        return;
      }
      const { code, details, metadata } = event.status;
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

/** Decodes a ClientBatch; throws a TypeError naming what is wrong with malformed bytes. */
export function decodeClientBatch(bytes: Buffer): ClientChannelEvent[] {
  return decodeBatch('ClientBatch', CLIENT_BATCH_LAYOUT, bytes, (channel, field, body) => {
    if (field === clientFrame.id) return { channel, kind: 'frame', bytes: body };
    if (field === halfClose.id) return { channel, kind: 'half-close' };
    if (field === cancel.id) return { channel, kind: 'cancel' };
    return null;
  });
}

/** Decodes a ServerBatch; throws a TypeError naming what is wrong with malformed bytes. */
export function decodeServerBatch(bytes: Buffer): ServerChannelEvent[] {
  return decodeBatch('ServerBatch', SERVER_BATCH_LAYOUT, bytes, (channel, field, body) => {
    if (field === serverFrame.id) return { channel, kind: 'frame', bytes: body };
    if (field === channelStatus.id) return { channel, kind: 'status', status: readStatus(new ProtoReader(body)) };
    return null;
  });
}

function initialSize(events: readonly (ClientChannelEvent | ServerChannelEvent)[]): number {
  let size = 0;
  for (const event of events) size += EVENT_OVERHEAD_BYTES + (event.kind === 'frame' ? event.bytes.length : 64);
  return size;
}

/**
 * Reads the repeated entries of a batch: each a channel number and one event (a member of the entry's oneof), which
 * `readEvent` makes from its field number and body. An entry without an event is malformed.
 */
function decodeBatch<T>(
  what: string,
  layout: BatchLayout,
  bytes: Buffer,
  readEvent: (channel: number, field: number, body: Buffer) => T | null,
): T[] {
  const events: T[] = [];
  try {
    const batch = new ProtoReader(bytes);
    while (!batch.done()) {
      const tag = batch.tag();
      if (fieldOf(tag) !== layout.framesId || wireTypeOf(tag) !== WIRE_LENGTH) {
        batch.skip(wireTypeOf(tag));
        continue;
      }
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
        } else entry.skip(wireTypeOf(entryTag));
      }
      const event = eventBody === null ? null : readEvent(channel, eventField, eventBody);
      if (event === null) throw new NotFastPath(`an entry of channel ${channel} carries no event`);
      events.push(event);
    }
  } catch (error) {
    if (error instanceof NotFastPath) throw new TypeError(`malformed ${what}: ${error.message}`);
    throw error;
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
        else entry.skip(wireTypeOf(entryTag));
      }
      metadata[key] = value;
    } else reader.skip(wireType);
  }
  return { code, details, metadata };
}
