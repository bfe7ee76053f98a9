// Benchmark of the session stream's codecs: the fast frame and batch codecs against proto-loader's generic codec of
// the same messages, for a turn's batch of 64 hot frames (keepalives and acquires). Prints a table (and JSON with
// --json); never fails. Each row is the median of several rounds. Run: npx tsx bench/session-codec-bench.ts
import type * as grpc from '@grpc/grpc-js';
import { forelockServices } from '../src/util/proto.js';
import { sessionFrameCodec } from '../src/util/session-frame-codec.js';
import {
  type ClientChannelEvent,
  decodeClientBatch,
  encodeClientBatch,
  genericBatchCodecs,
} from '../src/util/session-mux-codec.js';

const FRAMES_PER_BATCH = 64;
const BATCHES = 2_000;
/** Each row is measured this many times and reported by its median (the machine is shared and noisy). */
const ROUNDS = 7;

interface Row {
  readonly codec: string;
  readonly operation: string;
  readonly framesPerSecond: number;
  readonly nsPerFrame: number;
}

type FrameObject = Record<string, unknown>;

/** A turn's frames: keepalives and acquires, alternating, of distinct sessions. */
function frames(): FrameObject[] {
  return Array.from({ length: FRAMES_PER_BATCH }, (_, i) =>
    i % 2 === 0
      ? { keepalive: { seq: String(1000 + i), clientTimeMs: 1_765_000_000_000 + i, rttMs: 1.5 } }
      : {
          acquire: {
            requestSeq: String(i),
            name: `orders/${i}`,
            mode: 'EXCLUSIVE',
            fenced: true,
            preemptible: false,
            waitMs: 5_000,
            metadata: '',
            neverPreempt: false,
          },
        },
  );
}

/** Runs `work` once per batch, `ROUNDS` times, and returns the median round's speed. */
function measure(codec: string, operation: string, work: () => void): Row {
  for (let i = 0; i < BATCHES / 4; i++) work();
  const roundsNs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCHES; i++) work();
    roundsNs.push(Number(process.hrtime.bigint() - start));
  }
  const ns = roundsNs.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
  const count = BATCHES * FRAMES_PER_BATCH;
  return { codec, operation, framesPerSecond: Math.round((count / ns) * 1e9), nsPerFrame: Math.round(ns / count) };
}

function main(): void {
  const service = forelockServices().Forelock.service;
  const generic = genericBatchCodecs(service);
  const session = service.Session as grpc.MethodDefinition<FrameObject, FrameObject>;
  const objects = frames();

  const encodeFast = (): Buffer => {
    const events: ClientChannelEvent[] = objects.map((frame, i) => ({
      channel: i + 1,
      kind: 'frame',
      bytes: sessionFrameCodec.encodeClientFrame(frame),
    }));
    return encodeClientBatch(events);
  };
  const encodeGeneric = (): Buffer =>
    generic.clientBatch.serialize({ frames: objects.map((frame, i) => ({ channel: i + 1, frame })) });
  const bytes = encodeFast();
  const decodeFast = (): void => {
    for (const event of decodeClientBatch(bytes)) {
      if (event.kind === 'frame') sessionFrameCodec.decodeClientFrame(Buffer.from(event.bytes));
    }
  };
  const decodeGeneric = (): void => {
    generic.clientBatch.deserialize(bytes);
  };
  // Each frame alone through the Session method's generic codec, as a stream per session would code it.
  const frameGeneric = (): void => {
    for (const frame of objects) session.requestDeserialize(session.requestSerialize(frame));
  };

  const rows = [
    measure('fast (frame + batch)', 'encode', encodeFast),
    measure('proto-loader', 'encode', encodeGeneric),
    measure('fast (frame + batch)', 'decode', decodeFast),
    measure('proto-loader', 'decode', decodeGeneric),
    measure('proto-loader per frame', 'encode + decode', frameGeneric),
  ];
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ framesPerBatch: FRAMES_PER_BATCH, batches: BATCHES, rows }, null, 2));
    return;
  }
  console.log(`ClientBatch of ${FRAMES_PER_BATCH} frames (keepalive/acquire), ${BATCHES} batches per row`);
  console.log(`${'codec'.padEnd(24)}${'operation'.padEnd(18)}${'frames/s'.padStart(12)}${'ns/frame'.padStart(10)}`);
  for (const row of rows) {
    console.log(
      `${row.codec.padEnd(24)}${row.operation.padEnd(18)}${String(row.framesPerSecond).padStart(12)}${String(row.nsPerFrame).padStart(10)}`,
    );
  }
}

main();
