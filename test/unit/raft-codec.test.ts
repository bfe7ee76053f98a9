import { describe, expect, it } from 'vitest';
import { decodeEntries, decodeMessages, encodeEntries, encodeMessages, encodeValue } from '../../src/raft/codec.js';
import { decodeConfChange, encodeConfChange } from '../../src/raft/conf.js';
import type { ConfChange, Entry, Message } from '../../src/raft/types.js';

const entry = (index: number, type: Entry['type'] = 'normal'): Entry => ({
  index,
  term: 3,
  type,
  data: new Uint8Array([index, 0, 255, 7]),
});

describe('raft codec', () => {
  it('round-trips runs of entries, with data as a plain Uint8Array', () => {
    const entries = [entry(9, 'normal'), entry(10, 'conf-change'), entry(11, 'noop')];
    const decoded = decodeEntries(encodeEntries(entries));
    expect(decoded).toEqual(entries);
    for (const e of decoded) expect(e.data.constructor).toBe(Uint8Array);
  });

  it('round-trips every message type in one batch', () => {
    const messages: Message[] = [
      { type: 'pre-vote', from: 'a', to: 'b', term: 2, lastLogIndex: 7, lastLogTerm: 1 },
      { type: 'vote', from: 'a', to: 'b', term: 2, lastLogIndex: 7, lastLogTerm: 1, transfer: true },
      { type: 'vote-response', from: 'b', to: 'a', term: 2, granted: true },
      {
        type: 'append',
        from: 'a',
        to: 'b',
        term: 3,
        prevLogIndex: 4,
        prevLogTerm: 2,
        entries: [entry(5), entry(6, 'noop')],
        commit: 4,
        readContext: 'r1',
      },
      {
        type: 'append-response',
        from: 'b',
        to: 'a',
        term: 3,
        success: false,
        index: 6,
        rejectHint: { term: 2, index: 3 },
      },
      {
        type: 'snapshot',
        from: 'a',
        to: 'b',
        term: 3,
        meta: { index: 10, term: 3, conf: { voters: ['a', 'b'], learners: [], addresses: { a: 'x:1', b: 'y:2' } } },
        offset: 0,
        chunk: new Uint8Array([1, 2, 3]),
        done: true,
      },
      { type: 'snapshot-response', from: 'b', to: 'a', term: 3, index: 10, offset: 3, success: true },
      { type: 'timeout-now', from: 'a', to: 'b', term: 3 },
    ];
    const decoded = decodeMessages(encodeMessages(messages));
    expect(decoded).toEqual(messages);
    const append = decoded[3] as Extract<Message, { type: 'append' }>;
    expect(append.entries[0]!.data.constructor).toBe(Uint8Array);
    const snapshot = decoded[5] as Extract<Message, { type: 'snapshot' }>;
    expect(snapshot.chunk.constructor).toBe(Uint8Array);
  });

  it('carries every kind of membership change inside a conf-change entry', () => {
    const changes: ConfChange[] = [
      { kind: 'add-learner', id: 'n4', address: '127.0.0.1:4' },
      { kind: 'add-voter', id: 'n4', address: '127.0.0.1:4' },
      { kind: 'promote', id: 'n4' },
      { kind: 'remove', id: 'n1' },
    ];
    for (const change of changes) {
      const carried: Entry = { index: 1, term: 1, type: 'conf-change', data: encodeConfChange(change) };
      expect(decodeConfChange(decodeEntries(encodeEntries([carried]))[0]!.data)).toEqual(change);
    }
  });

  it('rejects a frame that is not a batch', () => {
    expect(() => decodeMessages(encodeValue({ type: 'append' }))).toThrow(TypeError);
  });
});
