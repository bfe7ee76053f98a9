// TurnBatcher: what is pushed in one turn is sent together after it, a batch past its byte bound leaves at once,
// and clear() drops what is queued.
import { describe, expect, it } from 'vitest';
import { TurnBatcher } from '../../src/util/turn-batcher.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnBatcher', () => {
  it("sends one turn's items, pushed also from promise jobs, as one batch after the turn", async () => {
    const sent: string[][] = [];
    const batcher = new TurnBatcher<string>(
      () => 1,
      (items) => sent.push(items),
    );
    batcher.push('a');
    await Promise.resolve();
    batcher.push('b');
    expect(sent).toEqual([]);
    await nextTurn();
    expect(sent).toEqual([['a', 'b']]);
    batcher.push('c');
    await nextTurn();
    expect(sent).toEqual([['a', 'b'], ['c']]);
  });

  it('sends at once when the batch reaches its byte bound', () => {
    const sent: number[][] = [];
    const batcher = new TurnBatcher<number>(
      (n) => n,
      (items) => sent.push(items),
      10,
    );
    batcher.push(4);
    batcher.push(5);
    expect(sent).toEqual([]);
    batcher.push(1);
    expect(sent).toEqual([[4, 5, 1]]);
  });

  it('clear() forgets what is queued', async () => {
    const sent: string[][] = [];
    const batcher = new TurnBatcher<string>(
      () => 1,
      (items) => sent.push(items),
    );
    batcher.push('lost');
    batcher.clear();
    await nextTurn();
    expect(sent).toEqual([]);
  });
});
