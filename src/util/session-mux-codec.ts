// Wire format of the Sessions stream (proto/forelock.proto ClientBatch and ServerBatch): each channel's frames exactly
// as a Session stream encodes them, tagged with their channel, many to one message. Shared by the SDK and the server.
import { fieldOf, NotFastPath, ProtoReader, ProtoWriter, WIRE_LENGTH, WIRE_VARINT, wireTypeOf } from './proto-wire.js';

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
    writer.message(1, (w) => {
      w.uint32(1, event.channel);
      if (event.kind === 'frame') w.bytes(2, event.bytes);
      else w.message(event.kind === 'half-close' ? 3 : 4, () => {});
    });
  }
  return writer.finish();
}

/** Encodes server events as one ServerBatch. */
export function encodeServerBatch(events: readonly ServerChannelEvent[]): Buffer {
  const writer = new ProtoWriter(initialSize(events));
  for (const event of events) {
    writer.message(1, (w) => {
      w.uint32(1, event.channel);
      if (event.kind === 'frame') {
        w.bytes(2, event.bytes);
        return;
      }
      const { code, details, metadata } = event.status;
      w.message(3, (s) => {
        s.uint32(1, code);
        s.string(2, details);
        for (const [key, value] of Object.entries(metadata)) {
          s.message(3, (entry) => {
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
  return decodeBatch('ClientBatch', bytes, (channel, field, body) => {
    if (field === 2) return { channel, kind: 'frame', bytes: body };
    if (field === 3) return { channel, kind: 'half-close' };
    if (field === 4) return { channel, kind: 'cancel' };
    return null;
  });
}

/** Decodes a ServerBatch; throws a TypeError naming what is wrong with malformed bytes. */
export function decodeServerBatch(bytes: Buffer): ServerChannelEvent[] {
  return decodeBatch('ServerBatch', bytes, (channel, field, body) => {
    if (field === 2) return { channel, kind: 'frame', bytes: body };
    if (field === 3) return { channel, kind: 'status', status: readStatus(new ProtoReader(body)) };
    return null;
  });
}

function initialSize(events: readonly (ClientChannelEvent | ServerChannelEvent)[]): number {
  let size = 0;
  for (const event of events) size += EVENT_OVERHEAD_BYTES + (event.kind === 'frame' ? event.bytes.length : 64);
  return size;
}

/**
 * Reads the repeated field 1 of a batch: each a channel number (field 1) and one event, which `readEvent` makes from
 * its field number and body (null: not an event of this batch kind). An entry without an event is malformed.
 */
function decodeBatch<T>(
  what: string,
  bytes: Buffer,
  readEvent: (channel: number, field: number, body: Buffer) => T | null,
): T[] {
  const events: T[] = [];
  try {
    const batch = new ProtoReader(bytes);
    while (!batch.done()) {
      const tag = batch.tag();
      if (fieldOf(tag) !== 1 || wireTypeOf(tag) !== WIRE_LENGTH) {
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
        if (field === 1 && wireTypeOf(entryTag) === WIRE_VARINT) channel = entry.uint32();
        else if (field >= 2 && field <= 4 && wireTypeOf(entryTag) === WIRE_LENGTH) {
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
    if (field === 1 && wireType === WIRE_VARINT) code = reader.uint32();
    else if (field === 2 && wireType === WIRE_LENGTH) details = reader.string();
    else if (field === 3 && wireType === WIRE_LENGTH) {
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
