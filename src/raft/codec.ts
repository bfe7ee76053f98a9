// Wire and disk encoding of Raft messages, entries and membership changes with msgpackr.
import { Packr } from 'msgpackr';
import type { Entry, EntryType, Message } from './types.js';

/** One shared encoder: records off so every frame is self-describing across processes and versions. */
const packr = new Packr({ useRecords: false });

const entryTypes: readonly EntryType[] = ['normal', 'conf-change', 'noop'];
const entryTypeCodes: Readonly<Record<EntryType, number>> = { normal: 0, 'conf-change': 1, noop: 2 };

/** An entry on the wire or on disk: a tuple, so a batch of small entries carries no repeated field names. */
type EntryTuple = [index: number, term: number, typeCode: number, data: Uint8Array];

/** msgpackr decodes binary as Node Buffers; hand out plain Uint8Array views so callers see the declared type. */
function asView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function entryToTuple(entry: Entry): EntryTuple {
  return [entry.index, entry.term, entryTypeCodes[entry.type], entry.data];
}

/**
 * A decoded entry's data is a copy of its own bytes, not a view of the frame or segment it came in: the log keeps an
 * entry until compaction, and a view would keep the whole frame (many entries, or one large snapshot chunk's worth of
 * buffer) alive with it (docs/design.md, "Memory").
 */
function entryFromTuple(tuple: EntryTuple): Entry {
  const type = entryTypes[tuple[2]];
  if (type === undefined) throw new TypeError(`unknown entry type code ${tuple[2]}`);
  return { index: tuple[0], term: tuple[1], type, data: new Uint8Array(tuple[3]) };
}

/** Encodes a run of entries (one storage value per persisted batch). */
export function encodeEntries(entries: readonly Entry[]): Uint8Array {
  return packr.pack(entries.map(entryToTuple));
}

/** Decodes a run of entries written by encodeEntries. */
export function decodeEntries(bytes: Uint8Array): Entry[] {
  return (packr.unpack(bytes) as EntryTuple[]).map(entryFromTuple);
}

/** Encodes a batch of messages into one frame payload; entries travel as tuples. */
export function encodeMessages(messages: readonly Message[]): Uint8Array {
  const wire = messages.map((message) => {
    if (message.type !== 'append') return message;
    // A plain copy, then the field replaced: a spread followed by more fields is a slow path in V8.
    const copy: Record<string, unknown> = { ...message };
    copy.entries = message.entries.map(entryToTuple);
    return copy;
  });
  return packr.pack(wire);
}

/** Decodes a frame payload written by encodeMessages; every binary field comes back as a Uint8Array. */
export function decodeMessages(bytes: Uint8Array): Message[] {
  const wire = packr.unpack(bytes) as Array<Record<string, unknown>>;
  if (!Array.isArray(wire)) throw new TypeError('a peer frame must carry an array of messages');
  return wire.map((raw) => {
    // Decoded objects are this function's own: their binary fields are replaced in place.
    if (raw.type === 'append') raw.entries = (raw.entries as EntryTuple[]).map(entryFromTuple);
    else if (raw.type === 'snapshot') raw.chunk = asView(raw.chunk as Uint8Array);
    return raw as unknown as Message;
  });
}

/** Encodes any plain value (hard state, snapshot meta) for storage. */
export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes a value written by encodeValue. */
export function decodeValue<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
