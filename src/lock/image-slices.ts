// A state machine image (one msgpack map) written and read record by record, a bounded slice at a time, so that a
// snapshot of any size never holds the event loop for long (docs/design.md, "Snapshots"). The bytes are exactly those
// of packing the whole map at once: a sliced image and a synchronous one are the same image.
import type { Packr } from 'msgpackr';

/** A top-level field of an image whose value is packed when the image is begun (a number, a small table). */
export interface ValueField {
  readonly key: string;
  readonly value: unknown;
}

/**
 * A top-level field of an image holding an array of records, each packed when its turn comes. `identity` names the
 * object whose changes `ImageWriter.preserve` is told about (the record itself by default).
 */
export interface RecordsField<R> {
  readonly key: string;
  readonly records: readonly R[];
  readonly data: (record: R) => unknown;
  readonly identity?: (record: R) => object;
}

/** A field of an image: a value, or records of any one type (see recordsField). */
export type ImageField = ValueField | RecordsField<never>;

/** A records field as an ImageField (its record type is checked here, then forgotten). */
export function recordsField<R>(field: RecordsField<R>): ImageField {
  return field as unknown as ImageField;
}

/** The most records packed in one msgpackr call. */
const MAX_RUN_RECORDS = 256;
/** How many times a packing slice's bytes one step copies into the image once every piece is packed. */
const JOIN_FACTOR = 8;

/** Writes msgpack's header of a map or an array of `count` items as msgpackr writes it for objects and arrays. */
function header(kind: 'map' | 'array', count: number): Uint8Array {
  if (kind === 'array' && count < 0x10) return Uint8Array.of(0x90 | count);
  if (count < 0x10000) return Uint8Array.of(kind === 'map' ? 0xde : 0xdc, count >> 8, count & 0xff);
  if (kind === 'map') throw new RangeError(`an image has at most 65,535 fields, got ${count}`);
  return Uint8Array.of(0xdd, count >>> 24, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff);
}

/**
 * Packs an image in slices. The fields are captured when it is created: value fields are packed at once, records
 * are held by reference and packed later, so their owner must call preserve() before it changes a record the image
 * holds (copy-on-write). A record changed before its turn is then written as it was when the image was begun.
 */
export class ImageWriter {
  /** Packed bytes of records changed since the image was begun, by identity, as they were then. */
  private readonly preserved = new Map<object, Uint8Array>();
  /** The packed pieces of the image in order (values packed by one Packr share its buffers: never written to). */
  private readonly pieces: Uint8Array[] = [];
  private pieceBytes = 0;
  private fieldIndex = 0;
  /** The next record of the current records field; -1 while its key and header are still to be written. */
  private recordIndex = -1;
  /** Once every piece is packed: the image they are copied into, a slice at a time, and how far. */
  private joined: Uint8Array | null = null;
  private joinedPieces = 0;
  private joinedBytes = 0;
  private image: Uint8Array | null = null;
  /** Bytes per record of the field's last run, to size the next run to the slice (its first run is one record). */
  private bytesPerRecord = Number.POSITIVE_INFINITY;

  constructor(
    private readonly packr: Packr,
    private readonly fields: readonly ImageField[],
  ) {
    this.add(header('map', fields.length));
  }

  /**
   * Keeps the image's copy of the record named `identity`: call it before the record changes. `data` gives the
   * record's snapshot form as it is now (before the change). Once every record is packed, or for a record already
   * preserved, free.
   */
  preserve(identity: object, data: () => unknown): void {
    if (this.fieldIndex >= this.fields.length || this.preserved.has(identity)) return;
    this.preserved.set(identity, this.packr.pack(data()));
  }

  /**
   * Packs at least `sliceBytes` more of the image (or the rest), and returns the whole image once it is complete,
   * undefined before. The work of one call is proportional to `sliceBytes` plus one record (or run). Once every
   * record is packed, the pieces are copied into one image JOIN_FACTOR times `sliceBytes` a call: copying is far
   * cheaper than packing, and one copy of a 20 MB image took 60-80 ms (mostly the new pages' faults).
   */
  step(sliceBytes: number): Uint8Array | undefined {
    if (this.image !== null) return this.image;
    if (this.fieldIndex < this.fields.length) {
      this.pack(this.pieceBytes + sliceBytes);
      if (this.fieldIndex < this.fields.length) return undefined;
      this.preserved.clear();
      this.joined = Buffer.allocUnsafe(this.pieceBytes);
    }
    const joined = this.joined!;
    const joinTarget = this.joinedBytes + sliceBytes * JOIN_FACTOR;
    while (this.joinedPieces < this.pieces.length && this.joinedBytes < joinTarget) {
      const piece = this.pieces[this.joinedPieces++]!;
      joined.set(piece, this.joinedBytes);
      this.joinedBytes += piece.byteLength;
    }
    if (this.joinedPieces < this.pieces.length) return undefined;
    this.pieces.length = 0;
    this.image = joined;
    return joined;
  }

  /** The whole image, packing whatever is left now. */
  finish(): Uint8Array {
    return this.step(Number.POSITIVE_INFINITY)!;
  }

  /** Packs fields and records until `target` bytes of pieces (or the end). */
  private pack(target: number): void {
    while (this.fieldIndex < this.fields.length && this.pieceBytes < target) {
      const field = this.fields[this.fieldIndex]!;
      if (!('records' in field)) {
        this.add(this.packr.pack(field.key));
        this.add(this.packr.pack(field.value));
        this.fieldIndex += 1;
        continue;
      }
      const records = field.records as readonly object[];
      if (this.recordIndex < 0) {
        this.add(this.packr.pack(field.key));
        this.add(header('array', records.length));
        this.recordIndex = 0;
        this.bytesPerRecord = Number.POSITIVE_INFINITY;
      }
      this.packRecords(field as unknown as RecordsField<object>, target);
      if (this.recordIndex >= records.length) {
        this.fieldIndex += 1;
        this.recordIndex = -1;
      }
    }
  }

  /**
   * Packs records of `field` until the slice's bytes are reached: a preserved record as it was kept, the others in
   * runs packed as one array whose header is dropped (msgpack's array is its header and then its items' bytes), which
   * costs msgpackr one call per run instead of one per record. A run is sized to the slice from the bytes per record
   * seen so far.
   */
  private packRecords(field: RecordsField<object>, target: number): void {
    const { records, data } = field;
    const identity = field.identity ?? ((record: object) => record);
    while (this.recordIndex < records.length && this.pieceBytes < target) {
      const kept = this.preserved.size === 0 ? undefined : this.preserved.get(identity(records[this.recordIndex]!));
      if (kept !== undefined) {
        this.add(kept);
        this.recordIndex += 1;
        continue;
      }
      const fitting =
        this.bytesPerRecord === Number.POSITIVE_INFINITY ? 1 : (target - this.pieceBytes) / this.bytesPerRecord;
      const runLength = Math.max(1, Math.min(MAX_RUN_RECORDS, Math.floor(fitting)));
      const run: unknown[] = [];
      for (; run.length < runLength && this.recordIndex < records.length; this.recordIndex++) {
        const record = records[this.recordIndex]!;
        if (this.preserved.size > 0 && this.preserved.has(identity(record))) break;
        run.push(data(record));
      }
      const packed = this.packr.pack(run);
      const itemsBytes = packed.byteLength - header('array', run.length).byteLength;
      this.add(packed.subarray(packed.byteLength - itemsBytes));
      this.bytesPerRecord = Math.max(1, itemsBytes / run.length);
    }
  }

  private add(piece: Uint8Array): void {
    this.pieces.push(piece);
    this.pieceBytes += piece.byteLength;
  }
}

/** What an ImageReader hands its owner, field by field and record by record, in the image's order. */
export interface ImageVisitor {
  /** The keys whose value is an array to be read record by record; any other field is read whole. */
  readonly recordFields: ReadonlySet<string>;
  value(key: string, value: unknown): void;
  record(key: string, record: unknown): void;
}

/**
 * Reads an image written by ImageWriter (or by packing the whole map at once) in slices of about `sliceBytes`,
 * handing each field and record to a visitor as soon as it is decoded.
 */
export class ImageReader {
  private offset = 0;
  private fieldsLeft: number;
  /** The key of the records field being read, and how many of its records are left. */
  private recordsKey: string | null = null;
  private recordsLeft = 0;

  constructor(
    private readonly packr: Packr,
    private readonly bytes: Uint8Array,
    private readonly visitor: ImageVisitor,
  ) {
    this.fieldsLeft = this.readHeader('map');
  }

  /** Reads at least `sliceBytes` more of the image (or the rest); true once the whole image has been read. */
  step(sliceBytes: number): boolean {
    const target = this.offset + sliceBytes;
    while (this.offset < target) {
      if (this.recordsKey !== null) {
        this.readRecords(this.recordsKey, target);
        continue;
      }
      if (this.fieldsLeft === 0) break;
      this.fieldsLeft -= 1;
      const key = this.readValue();
      if (typeof key !== 'string') throw new TypeError(`image field names must be strings, got ${typeof key}`);
      if (this.visitor.recordFields.has(key)) {
        this.recordsKey = key;
        this.recordsLeft = this.readHeader('array');
      } else this.visitor.value(key, this.readValue());
    }
    const done = this.fieldsLeft === 0 && this.recordsKey === null;
    if (done && this.offset !== this.bytes.byteLength) {
      throw new TypeError(`image has ${this.bytes.byteLength - this.offset} bytes after its last field`);
    }
    return done;
  }

  /** Decodes records of field `key` until none is left or the slice's bytes are read. */
  private readRecords(key: string, target: number): void {
    if (this.recordsLeft > 0) {
      const start = this.offset;
      this.packr.unpackMultiple(this.bytes.subarray(start), (record, _from, end) => {
        this.visitor.record(key, record);
        this.recordsLeft -= 1;
        this.offset = start + end!;
        return this.recordsLeft > 0 && this.offset < target;
      });
    }
    if (this.recordsLeft === 0) this.recordsKey = null;
  }

  private readValue(): unknown {
    const start = this.offset;
    let value: unknown;
    this.packr.unpackMultiple(this.bytes.subarray(start), (decoded, _from, end) => {
      value = decoded;
      this.offset = start + end!;
      return false;
    });
    return value;
  }

  /** Reads the header of a map or an array and returns its count. */
  private readHeader(kind: 'map' | 'array'): number {
    const bytes = this.bytes;
    const at = this.offset;
    const first = bytes[at];
    if (first === undefined) throw new TypeError(`image ends where a ${kind} was expected`);
    const [fixed, sixteen, thirtyTwo] = kind === 'map' ? [0x80, 0xde, 0xdf] : [0x90, 0xdc, 0xdd];
    if ((first & 0xf0) === fixed) {
      this.offset = at + 1;
      return first & 0x0f;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (first === sixteen && at + 3 <= bytes.byteLength) {
      this.offset = at + 3;
      return view.getUint16(at + 1);
    }
    if (first === thirtyTwo && at + 5 <= bytes.byteLength) {
      this.offset = at + 5;
      return view.getUint32(at + 1);
    }
    throw new TypeError(`image has byte 0x${first.toString(16)} at ${at} where a ${kind} was expected`);
  }
}
