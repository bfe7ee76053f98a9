// ChannelOutbox: a turn's items leave together after the turn (at once past a batch's bytes), channels take turns in a
// batch, nothing is written while the stream is full until it drains, and each channel's queue is bounded.
import { describe, expect, it } from 'vitest';
import { ChannelOutbox, type ChannelOutboxOptions } from '../../src/util/channel-outbox.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Items are [channel, label, bytes]. */
type Item = readonly [number, string, number];

function outbox(options: Partial<ChannelOutboxOptions<Item>> & { streamTakes?: () => boolean } = {}) {
  const written: string[][] = [];
  const drains: number[] = [];
  const box = new ChannelOutbox<Item>({
    sizeOf: (item) => item[2],
    writeBatch: (items) => {
      written.push(items.map((item) => item[1]));
      return options.streamTakes?.() ?? true;
    },
    onChannelDrain: (channel) => drains.push(channel),
    ...options,
  });
  const push = (channel: number, label: string, bytes = 1) => box.push(channel, [channel, label, bytes]);
  return { box, written, drains, push };
}

describe('batching by turn', () => {
  it("writes one turn's items, pushed also from promise jobs, as one batch after the turn", async () => {
    const { written, push } = outbox();
    push(1, 'a');
    await Promise.resolve();
    push(1, 'b');
    expect(written).toEqual([]);
    await nextTurn();
    expect(written).toEqual([['a', 'b']]);
    push(1, 'c');
    await nextTurn();
    expect(written).toEqual([['a', 'b'], ['c']]);
  });

  it('writes at once when a batch worth of bytes is queued', () => {
    const { written, push } = outbox({ maxBatchBytes: 10 });
    push(1, 'x', 4);
    push(2, 'y', 5);
    expect(written).toEqual([]);
    push(1, 'z', 1);
    expect(written).toEqual([['x', 'y', 'z']]);
  });

  it('clear() forgets what is queued', async () => {
    const { box, written, push } = outbox();
    push(1, 'lost');
    box.clear();
    await nextTurn();
    expect(written).toEqual([]);
    expect(box.queuedBytes).toBe(0);
  });
});

describe('fairness', () => {
  it('gives every channel a turn in each batch, in order within a channel', async () => {
    const { written, push } = outbox({ maxBatchBytes: 1000 });
    for (let i = 0; i < 5; i++) push(1, `flood${i}`);
    push(2, 'keepalive');
    push(3, 'acquire');
    await nextTurn();
    expect(written).toEqual([['flood0', 'keepalive', 'acquire', 'flood1', 'flood2', 'flood3', 'flood4']]);
  });

  it('writes what waited for a drain as batches of at most a batch worth, each channel in turn', () => {
    let full = true;
    const { box, written, push } = outbox({ maxBatchBytes: 2, streamTakes: () => !full });
    push(9, 'o', 2); // written at once; the stream is full from now on
    for (let i = 0; i < 3; i++) push(1, `f${i}`);
    push(2, 'k');
    full = false;
    box.drained();
    expect(written).toEqual([['o'], ['f0', 'k'], ['f1', 'f2']]);
  });
});

describe('backpressure', () => {
  it('writes nothing more after the stream answers false until it drains, then the oldest first', async () => {
    let full = true;
    const { box, written, push } = outbox({ maxBatchBytes: 2, streamTakes: () => !full });
    push(1, 'a');
    push(1, 'b'); // a batch worth: written at once; the stream is now full
    expect(written).toEqual([['a', 'b']]);
    expect(box.isBlocked).toBe(true);
    push(2, 'k');
    push(1, 'c');
    await nextTurn();
    expect(written).toHaveLength(1);
    full = false;
    box.drained();
    expect(written).toEqual([
      ['a', 'b'],
      ['k', 'c'],
    ]);
    expect(box.isBlocked).toBe(false);
  });

  it("answers 'full' at a channel's high-water mark and tells it to go on once its queue is below", () => {
    const { box, drains, push } = outbox({ streamTakes: () => false, maxBatchBytes: 100, channelHighWaterBytes: 3 });
    box.push(9, [9, 'opens', 100]); // written at once; the stream is full from now on
    expect(push(1, 'a')).toBe('queued');
    expect(push(1, 'b')).toBe('queued');
    expect(push(1, 'c')).toBe('full');
    expect(push(2, 'other')).toBe('queued');
    expect(drains).toEqual([]);
    box.drained();
    expect(drains).toEqual([1]);
    expect(box.queuedBytes).toBe(0);
  });

  it("refuses a channel past its limit and drops its queue, leaving the others' alone", () => {
    const { box, written, push } = outbox({
      streamTakes: () => false,
      maxBatchBytes: 4,
      channelHighWaterBytes: 2,
      channelLimitBytes: 4,
    });
    box.push(9, [9, 'opens', 4]); // written at once; the stream is full from now on
    push(2, 'k');
    for (const label of ['a', 'b', 'c', 'd']) push(1, label);
    expect(box.queuedBytesOf(1)).toBe(4);
    expect(push(1, 'e')).toBe('refused');
    expect(box.queuedBytesOf(1)).toBe(0);
    box.pushFinal(1, [1, 'status', 1]);
    box.drained();
    expect(written).toEqual([['opens'], ['k', 'status']]);
  });

  it('flushAll() writes everything whatever the stream says', () => {
    const { box, written, push } = outbox({ streamTakes: () => false, maxBatchBytes: 2 });
    push(1, 'a');
    push(1, 'b');
    push(1, 'c');
    push(1, 'd');
    expect(written).toEqual([['a', 'b']]);
    box.flushAll();
    expect(written).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });
});
