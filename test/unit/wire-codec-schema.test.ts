// The fast codecs' hand-written tables against proto/forelock/v1/forelock.proto, parsed by protobufjs as proto-loader parses it:
// every hot message's field names, numbers and types, its oneof's members and every enum mapped by hand, in both
// directions; and a frame with every field of the .proto set goes through the fast codec and back unchanged.
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { FORELOCK_PROTO, forelockServices, PROTO_LOADER_OPTIONS, protoDir } from '../../src/util/proto.js';
import type { CodecFieldTable, CodecMessage } from '../../src/util/proto-wire.js';
import { SESSION_FRAME_SCHEMA, sessionFrameCodec } from '../../src/util/session-frame-codec.js';
import { SESSION_BATCH_SCHEMA } from '../../src/util/session-mux-codec.js';

const PACKAGE = 'forelock.v1';
const root = new protobuf.Root().loadSync(join(protoDir(), FORELOCK_PROTO), {
  keepCase: PROTO_LOADER_OPTIONS.keepCase ?? false,
});
root.resolveAll();

/** A field's type as the codecs' tables spell it: 'uint64', 'LockMode', 'repeated X', 'map<string, string>'. */
function protoTypeOf(field: protobuf.Field): string {
  if (field instanceof protobuf.MapField) return `map<${field.keyType}, ${field.type}>`;
  const named = field.resolvedType;
  const name = named === null ? field.type : named.fullName.slice(`.${PACKAGE}.`.length);
  return field.repeated ? `repeated ${name}` : name;
}

/** Fields as sorted `name = number: type` lines, so that a failure shows exactly which field differs. */
function linesOf(fields: readonly { name: string; id: number; type: string }[]): string[] {
  return fields.map(({ name, id, type }) => `${name} = ${id}: ${type}`).sort();
}

function protoLines(fields: readonly protobuf.Field[]): string[] {
  return linesOf(fields.map((field) => ({ name: field.name, id: field.id, type: protoTypeOf(field) })));
}

function codecLines(table: CodecFieldTable): string[] {
  return linesOf(Object.entries(table).map(([name, { id, type }]) => ({ name, id, type })));
}

const messages: readonly (CodecMessage & { codec: string })[] = [
  ...SESSION_FRAME_SCHEMA.messages.map((message) => ({ ...message, codec: 'session-frame-codec' })),
  ...SESSION_BATCH_SCHEMA.map((message) => ({ ...message, codec: 'session-mux-codec' })),
];

describe("the fast codecs' tables match proto/forelock/v1/forelock.proto", () => {
  it.each(messages.map((message) => [`${message.message} (${message.codec})`, message] as const))(
    '%s: the same fields, numbers and types, and the same oneof',
    (_label, message) => {
      const type = root.lookupType(`${PACKAGE}.${message.message}`);
      expect(codecLines(message.fields), 'fields (codec table vs .proto)').toEqual(protoLines(type.fieldsArray));
      const oneofs = type.oneofsArray.map((oneof) => oneof.name);
      expect(oneofs, 'oneofs of the .proto').toEqual(message.oneof === undefined ? [] : [message.oneof.name]);
      if (message.oneof !== undefined) {
        const oneof = type.oneofsArray[0]!;
        expect(codecLines(message.oneof.members), `members of oneof ${oneof.name}`).toEqual(
          protoLines(oneof.fieldsArray),
        );
      }
    },
  );

  it.each(SESSION_FRAME_SCHEMA.enums.map((codecEnum) => [codecEnum.enum, codecEnum] as const))(
    'enum %s: the same names with the same numbers',
    (_label, codecEnum) => {
      const protoEnum = root.lookupEnum(`${PACKAGE}.${codecEnum.enum}`);
      expect(Object.fromEntries(codecEnum.values.map((name, number) => [name, number]))).toEqual(protoEnum.values);
    },
  );
});

// ---- a frame built from the .proto alone, with every field set, through the fast codec ----

type Frame = Record<string, unknown>;
type Codec = grpc.MethodDefinition<Frame, Frame>;
const loader = forelockServices().Forelock.service.Session as unknown as Codec;

/** A value of `field`'s type other than its default, in the loader's object form (longs as strings, enum names). */
function sampleOf(field: protobuf.Field): unknown {
  const named = field.resolvedType;
  let value: unknown;
  if (named instanceof protobuf.Enum) value = Object.keys(named.values).at(-1);
  else if (named !== null) throw new Error(`no sample for message field ${field.name}: not a hot message's field`);
  else if (field.type === 'string') value = `${field.name}-é`;
  else if (field.type === 'bool') value = true;
  else if (field.type === 'double') value = 1.5 + field.id;
  else if (['uint32', 'int32', 'sint32', 'fixed32'].includes(field.type)) value = 1000 + field.id;
  else if (['uint64', 'int64', 'sint64', 'fixed64'].includes(field.type)) value = String(2n ** 60n + BigInt(field.id));
  else if (field.type === 'float') value = 0.5;
  else throw new Error(`no sample for type ${field.type}`);
  return field.repeated ? [value] : value;
}

function fullMessage(type: protobuf.Type, skip: ReadonlySet<string> = new Set()): Frame {
  return Object.fromEntries(type.fieldsArray.filter((f) => !skip.has(f.name)).map((f) => [f.name, sampleOf(f)]));
}

/** The members of a frame's oneof whose message the fast codec encodes by hand. */
function hotMembers(frameType: string): protobuf.Field[] {
  const hot = new Set(SESSION_FRAME_SCHEMA.messages.map((message) => message.message));
  const oneof = root.lookupType(`${PACKAGE}.${frameType}`).oneofsArray[0]!;
  return oneof.fieldsArray.filter((field) => field.resolvedType !== null && hot.has(field.resolvedType.name));
}

describe('a hot frame with every field of the .proto set survives the fast codec', () => {
  it.each(hotMembers('ClientFrame').map((member) => [member.name, member] as const))(
    'ClientFrame.%s',
    (_label, member) => {
      const frame = { [member.name]: fullMessage(member.resolvedType as protobuf.Type) };
      const expected = loader.requestDeserialize(loader.requestSerialize(frame));
      expect(loader.requestDeserialize(sessionFrameCodec.encodeClientFrame(frame))).toEqual(expected);
      expect(sessionFrameCodec.decodeClientFrame(loader.requestSerialize(frame))).toEqual(expected);
    },
  );

  it.each(hotMembers('ServerFrame').map((member) => [member.name, member] as const))(
    'ServerFrame.%s',
    (_label, member) => {
      const serverFrame = root.lookupType(`${PACKAGE}.ServerFrame`);
      const members = new Set(serverFrame.oneofsArray[0]!.oneof);
      const frame = {
        ...fullMessage(serverFrame, members),
        [member.name]: fullMessage(member.resolvedType as protobuf.Type),
      };
      const expected = loader.responseDeserialize(loader.responseSerialize(frame));
      expect(loader.responseDeserialize(sessionFrameCodec.encodeServerFrame(frame))).toEqual(expected);
      expect(sessionFrameCodec.decodeServerFrame(loader.responseSerialize(frame))).toEqual(expected);
    },
  );
});
