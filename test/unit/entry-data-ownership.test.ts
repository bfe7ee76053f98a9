// A log entry's data owns its bytes (docs/design.md, "Memory"): the log keeps entries until compaction, and a view of
// the encoder's shared buffer, or of the frame an entry arrived in, would keep that whole buffer alive with it.
import { describe, expect, it } from 'vitest';
import { decodeLockEntries, encodeLockBatch, encodeLockEntry, lockPackr } from '../../src/lock/codec.js';
import type { LockCommand } from '../../src/lock/commands.js';
import { decodeEntries, decodeMessages, encodeEntries, encodeMessages } from '../../src/raft/codec.js';
import type { Entry, Message } from '../../src/raft/types.js';
import { acquireCommand } from './lock-fixtures.js';

function acquire(name: string, requestSeq: number): LockCommand {
  return acquireCommand('s1', requestSeq, name);
}

/** Whether `bytes` is the whole of its buffer, not a view into a larger one. */
function ownsItsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;
}

const entry = (index: number): Entry => ({ index, term: 2, type: 'normal', data: new Uint8Array(100).fill(index) });

describe('log entry data ownership', () => {
  it('gives each encoded lock entry and batch a buffer of its own, even after the encoder packed a large value', () => {
    // A large value grows the shared encoder's buffer; what follows would otherwise be views into it.
    lockPackr.pack({ padding: 'x'.repeat(200_000) });
    const single = encodeLockEntry({ atMs: 5, command: acquire('a', 1) });
    const batch = encodeLockBatch({ atMs: 6, commands: [acquire('b', 2), acquire('c', 3)] });
    expect(ownsItsBuffer(single)).toBe(true);
    expect(ownsItsBuffer(batch)).toBe(true);
    expect(decodeLockEntries(single)).toEqual([{ atMs: 5, command: acquire('a', 1) }]);
    expect(decodeLockEntries(batch).map((e) => e.command)).toEqual([acquire('b', 2), acquire('c', 3)]);
  });

  it('copies each entry out of an append frame and out of a stored run, as a plain Uint8Array', () => {
    const entries = Array.from({ length: 50 }, (_, i) => entry(i + 1));
    const append: Message = {
      type: 'append',
      from: 'a',
      to: 'b',
      term: 2,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries,
      commit: 0,
    };
    const [decoded] = decodeMessages(encodeMessages([append]));
    const fromFrame = (decoded as Extract<Message, { type: 'append' }>).entries;
    const fromRun = decodeEntries(encodeEntries(entries));
    for (const decodedEntries of [fromFrame, fromRun]) {
      expect(decodedEntries).toEqual(entries);
      for (const e of decodedEntries) {
        expect(e.data.constructor).toBe(Uint8Array);
        expect(ownsItsBuffer(e.data)).toBe(true);
      }
    }
  });
});
