// Minimal protobuf wire primitives (varints, uint64 as decimal strings, doubles, strings, nested messages) for the
// session stream's fast frame codec (session-frame-codec.ts), which the SDK and the server share.

/** Protobuf wire types used by proto/forelock/v1/forelock.proto's session frames. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH = 2;
export const WIRE_FIXED32 = 5;

/**
 * One field that a fast codec writes and reads by hand: its number and its type as proto/forelock/v1/forelock.proto declares it
 * ('uint64', 'string', 'LockMode', 'AcquireResult.Status', 'repeated ClientChannelFrame', 'map<string, string>').
 */
export interface CodecField {
  readonly id: number;
  readonly type: string;
}

/** The fields of one message as a fast codec knows them, by their names in the loader's objects (camelCase). */
export type CodecFieldTable = Readonly<Record<string, CodecField>>;

/**
 * A message that a fast codec encodes or decodes by hand, as its tables describe it: every field and, if the message
 * has a oneof, the oneof's name and members (also among `fields`). test/unit/wire-codec-schema.test.ts compares each
 * with proto/forelock/v1/forelock.proto, so that a field added to the .proto cannot be dropped silently.
 */
export interface CodecMessage {
  /** The message's name in package forelock.v1 (nested ones as 'Outer.Inner'). */
  readonly message: string;
  readonly fields: CodecFieldTable;
  readonly oneof?: { readonly name: string; readonly members: CodecFieldTable };
}

/** An enum that a fast codec maps by hand: its value names, indexed by their numbers. */
export interface CodecEnum {
  readonly enum: string;
  readonly values: readonly string[];
}

/** Decimal uint64s of up to this many digits fit a double exactly (the range of longer ones is checked). */
const DOUBLE_SAFE_DIGITS = 15;

/** `decimal` as a number when it is 1-15 decimal digits, -1 when it is 16-20 digits; NotFastPath otherwise. */
function parseDecimal(decimal: string): number {
  const length = decimal.length;
  if (length === 0 || length > 20) throw new NotFastPath('not a uint64 decimal string');
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = decimal.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) throw new NotFastPath('not a uint64 decimal string');
    value = value * 10 + digit;
  }
  return length <= DOUBLE_SAFE_DIGITS ? value : -1;
}

/** Appends protobuf fields to a growing buffer; fields equal to their proto3 default are left out. */
export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 96) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  private rawVarint(value: number): void {
    // `value` is a non-negative integer below 2^64 that a double holds exactly (callers ensure it).
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  private rawBigVarint(value: bigint): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  /** A uint32 field (also enums and bools as 0/1). */
  uint32(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value >>> 0);
  }

  /** A bool field. */
  bool(field: number, value: boolean): void {
    this.uint32(field, value ? 1 : 0);
  }

  /** A uint64 field given as a decimal string (the loader's `longs: String` form); NotFastPath on anything else. */
  uint64(field: number, decimal: string): void {
    const value = parseDecimal(decimal);
    if (value >= 0) {
      if (value === 0) return;
      this.tag(field, WIRE_VARINT);
      this.rawVarint(value);
      return;
    }
    const big = BigInt(decimal);
    if (big >= 1n << 64n) throw new NotFastPath('uint64 out of range');
    this.tag(field, WIRE_VARINT);
    this.rawBigVarint(big);
  }

  /** A double field. */
  double(field: number, value: number): void {
    if (value === 0 && !Object.is(value, -0)) return;
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A string field (UTF-8). */
  string(field: number, value: string): void {
    if (value === '') return;
    this.tag(field, WIRE_LENGTH);
    if (value.length < 0x80 && this.asciiString(value)) return;
    const bytes = Buffer.byteLength(value, 'utf8');
    this.rawVarint(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(value, this.pos, bytes, 'utf8');
  }

  /**
   * Writes a string of under 128 UTF-16 units with its one-byte length if it is all ASCII (lock names usually are),
   * without the native calls of Buffer#write; false (nothing written) when it is not.
   */
  private asciiString(value: string): boolean {
    const length = value.length;
    this.ensure(length + 1);
    const buf = this.buf;
    const start = this.pos + 1;
    for (let i = 0; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code >= 0x80) return false;
      buf[start + i] = code;
    }
    buf[this.pos] = length;
    this.pos = start + length;
    return true;
  }

  /** A nested message field, always present (a oneof member is present even when empty). */
  message(field: number, write: (writer: ProtoWriter) => void): void {
    this.tag(field, WIRE_LENGTH);
    // One byte is reserved for the length; a body of 128 bytes or more is moved up to make room for a longer one.
    this.ensure(1);
    const lengthAt = this.pos++;
    write(this);
    const length = this.pos - lengthAt - 1;
    if (length < 0x80) {
      this.buf[lengthAt] = length;
      return;
    }
    let extra = 0;
    for (let v = length; v >= 0x80; v = Math.floor(v / 0x80)) extra++;
    this.ensure(extra + 10);
    this.buf.copyWithin(lengthAt + 1 + extra, lengthAt + 1, this.pos);
    this.pos = lengthAt;
    this.rawVarint(length);
    this.pos += length;
  }

  /** A length-delimited field holding `bytes` as they are (an embedded message encoded elsewhere). */
  bytes(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_LENGTH);
    this.rawVarint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** The encoded bytes. */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Thrown internally when bytes do not fit the fast decoder's expectations; the caller falls back to the loader. */
export class NotFastPath extends Error {}

/** Reads protobuf fields from a buffer; any surprise throws NotFastPath. */
export class ProtoReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** Whether every byte has been read. */
  done(): boolean {
    return this.pos >= this.end;
  }

  /** The next field's tag: field number * 8 + wire type. */
  tag(): number {
    return this.varint();
  }

  /** A varint as a number; throws NotFastPath past 2^53 (those go to the uint64 reader or the fallback). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new NotFastPath('truncated varint');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
    throw new NotFastPath('varint beyond 2^56');
  }

  /** A uint32 field's value (the varint's low 32 bits, as protobuf decoders keep them). */
  uint32(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new NotFastPath('truncated varint');
      const byte = this.buf[this.pos++]!;
      if (shift < 32) value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value >>> 0;
    }
    throw new NotFastPath('varint longer than 10 bytes');
  }

  /** A uint64 field's value as a decimal string. */
  uint64(): string {
    let result = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new NotFastPath('truncated varint');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return String(result);
      scale *= 0x80;
    }
    return this.uint64Bigint(start).toString();
  }

  /** Reads a varint from `start` as a bigint, modulo 2^64 as protobuf decoders do. */
  private uint64Bigint(start: number): bigint {
    this.pos = start;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new NotFastPath('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result & 0xffffffffffffffffn;
      shift += 7n;
    }
    throw new NotFastPath('varint longer than 10 bytes');
  }

  /** A bool field's value. */
  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** A double field's value. */
  double(): number {
    if (this.pos + 8 > this.end) throw new NotFastPath('truncated double');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  /** A string field's value (UTF-8, invalid sequences replaced as Buffer#toString does). */
  string(): string {
    const length = this.varint();
    if (this.pos + length > this.end) throw new NotFastPath('truncated string');
    const value = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** A length-delimited field's bytes (a view, not a copy). */
  bytes(): Buffer {
    const length = this.varint();
    if (this.pos + length > this.end) throw new NotFastPath('truncated bytes');
    const value = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** Skips a field of `wireType` that the reader does not know (proto3: unknown fields are ignored). */
  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.uint32();
    else if (wireType === WIRE_FIXED64) this.double();
    else if (wireType === WIRE_LENGTH) this.bytes();
    else if (wireType === WIRE_FIXED32) {
      if (this.pos + 4 > this.end) throw new NotFastPath('truncated fixed32');
      this.pos += 4;
    } else throw new NotFastPath(`wire type ${wireType}`);
  }

  /** A nested message field: a reader over its bytes. */
  message(): ProtoReader {
    const length = this.varint();
    if (this.pos + length > this.end) throw new NotFastPath('truncated message');
    const nested = new ProtoReader(this.buf, this.pos, this.pos + length);
    this.pos += length;
    return nested;
  }
}

/** The wire type of a tag. */
export function wireTypeOf(tag: number): number {
  return tag & 7;
}

/** The field number of a tag. */
export function fieldOf(tag: number): number {
  return Math.floor(tag / 8);
}
