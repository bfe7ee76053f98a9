// StreamWriter: once the session stream's write() answers false, frames wait (in order, a re-sent one once) and leave
// on 'drain', stopping again as soon as the stream is full; the connection hears when all that waited is written.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { StreamWriter } from '../../src/client/stream-writer.js';
import type { ClientFrame, SessionStream } from '../../src/client/wire.js';

/** A stream that takes `room` frames after each drain and answers false to the last of them. */
class SlowStream extends EventEmitter {
  readonly written: ClientFrame[] = [];
  private taken = 0;
  constructor(private readonly room: number) {
    super();
  }
  write(frame: ClientFrame): boolean {
    this.written.push(frame);
    this.taken++;
    return this.taken < this.room;
  }
  drain(): void {
    this.taken = 0;
    this.emit('drain');
  }
}

const acquire = (seq: number): ClientFrame => ({
  acquire: {
    requestSeq: String(seq),
    name: `lock/${seq}`,
    mode: 'EXCLUSIVE',
    waitMs: 0,
    fenced: false,
    preemptible: true,
    metadata: '',
    neverPreempt: false,
  },
});
const seqOf = (frame: ClientFrame) => Number((frame as { acquire: { requestSeq: string } }).acquire.requestSeq);

function writerOn(room: number) {
  const stream = new SlowStream(room);
  let writable = 0;
  const writer = new StreamWriter(stream as unknown as SessionStream, () => writable++);
  return { stream, writer, writable: () => writable };
}

describe('StreamWriter', () => {
  it('writes at once while the stream takes frames', () => {
    const { stream, writer } = writerOn(Number.POSITIVE_INFINITY);
    for (let seq = 1; seq <= 3; seq++) writer.write(acquire(seq));
    expect(stream.written.map(seqOf)).toEqual([1, 2, 3]);
    expect(writer.full).toBe(false);
  });

  it("holds every frame after a write answered false and writes them in order, as far as each 'drain' allows", () => {
    const { stream, writer, writable } = writerOn(4);
    for (let seq = 1; seq <= 10; seq++) writer.write(acquire(seq));
    // The fourth write filled the stream: the other six wait.
    expect(stream.written.map(seqOf)).toEqual([1, 2, 3, 4]);
    expect(writer.full).toBe(true);
    expect(writer.waitingCount).toBe(6);
    stream.drain();
    expect(stream.written.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(writer.waitingCount).toBe(2);
    expect(writable()).toBe(0);
    // Written meanwhile: after the ones that wait.
    writer.write(acquire(11));
    stream.drain();
    expect(stream.written.map(seqOf)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(writer.full).toBe(false);
    expect(writable()).toBe(1);
  });

  it('queues a frame re-sent while it waits once, so what waits stays within the frames the session owes', () => {
    const { stream, writer } = writerOn(1);
    writer.write(acquire(1));
    const frames = [2, 3, 4].map(acquire);
    for (let round = 0; round < 100; round++) for (const frame of frames) writer.write(frame);
    expect(writer.waitingCount).toBe(3);
    for (let i = 0; i < 3; i++) stream.drain();
    expect(stream.written.map(seqOf)).toEqual([1, 2, 3, 4]);
  });
});
