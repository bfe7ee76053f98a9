import { describe, expect, it } from 'vitest';
import { WaiterQueue } from '../../src/lock/waiter-queue.js';

const entry = (sessionId: string) => ({ sessionId });
const ids = (queue: WaiterQueue<{ sessionId: string }>) => queue.map((e) => e.sessionId);

describe('WaiterQueue', () => {
  it('keeps arrival order and hands off from the head', () => {
    const queue = WaiterQueue.from(['a', 'b', 'c'].map(entry));
    expect(ids(queue)).toEqual(['a', 'b', 'c']);
    expect(queue.head()?.sessionId).toBe('a');
    expect(queue.tail()?.sessionId).toBe('c');
    expect(queue.shift()?.sessionId).toBe('a');
    expect(queue.shift()?.sessionId).toBe('b');
    expect(queue.shift()?.sessionId).toBe('c');
    expect(queue.shift()).toBeUndefined();
    expect(queue.length).toBe(0);
    expect(queue.head()).toBeUndefined();
    expect(queue.tail()).toBeUndefined();
  });

  it('removes from the head, the middle and the tail and keeps the rest linked in order', () => {
    const queue = WaiterQueue.from(['a', 'b', 'c', 'd', 'e'].map(entry));
    expect(queue.remove('c')?.sessionId).toBe('c');
    expect(queue.ahead('d')?.sessionId).toBe('b');
    expect(queue.remove('a')?.sessionId).toBe('a');
    expect(queue.ahead('b')).toBeUndefined();
    expect(queue.remove('e')?.sessionId).toBe('e');
    expect(queue.tail()?.sessionId).toBe('d');
    expect(ids(queue)).toEqual(['b', 'd']);
    expect(queue.remove('nobody')).toBeUndefined();
    expect(queue.remove('c')).toBeUndefined();
    queue.push(entry('c'));
    expect(ids(queue)).toEqual(['b', 'd', 'c']);
    expect(queue.length).toBe(3);
  });

  it('finds entries by session and by position', () => {
    const queue = WaiterQueue.from(['a', 'b', 'c'].map(entry));
    expect(queue.get('b')).toEqual({ sessionId: 'b' });
    expect(queue.get('z')).toBeUndefined();
    expect(queue.findIndex((e) => e.sessionId === 'c')).toBe(2);
    expect(queue.findIndex((e) => e.sessionId === 'z')).toBe(-1);
    expect(queue.toArray()).toEqual([{ sessionId: 'a' }, { sessionId: 'b' }, { sessionId: 'c' }]);
  });

  it('refuses a session that already waits, and changes nothing', () => {
    const queue = WaiterQueue.from(['a', 'b'].map(entry));
    expect(() => queue.push(entry('a'))).toThrow(/session a already waits/);
    expect(ids(queue)).toEqual(['a', 'b']);
  });
});
