// The chaos harness's replay of a committed log into the checker's server events (no containers): plain entries and
// the leader's batch entries alike, a batch as its parts in order with the entry's timestamp.
import { describe, expect, it } from 'vitest';
import { encodeLockBatch, encodeLockEntry } from '../../src/lock/codec.js';
import type { LockCommand } from '../../src/lock/commands.js';
import type { Entry } from '../../src/raft/types.js';
import { serverEventsOf } from '../chaos/harness/server-history.js';

const open = (sessionId: string): LockCommand => ({
  type: 'session-open',
  sessionId,
  secretHash: 'ab'.repeat(32),
  ttlMs: 3_000,
  clientName: sessionId,
});
const acquire = (sessionId: string, requestSeq: number): LockCommand => ({
  type: 'acquire',
  sessionId,
  requestSeq,
  name: 'l',
  mode: 'exclusive',
  fenced: false,
  preemptible: true,
  tryOnly: false,
});

const entry = (index: number, data: Uint8Array): Entry => ({ index, term: 1, type: 'normal', data });

describe('serverEventsOf', () => {
  it('replays batch entries part by part, and tells an expiry from a release', () => {
    const entries = [
      entry(1, encodeLockBatch({ atMs: 100, commands: [open('s1'), open('s2'), acquire('s1', 1), acquire('s2', 1)] })),
      entry(2, encodeLockEntry({ atMs: 4_000, command: { type: 'sessions-expire', sessionIds: ['s1'] } })),
    ];
    const events = serverEventsOf({ nodeId: 'node1', commitIndex: 2, snapshotIndex: 0, entries });
    expect(events).toEqual([
      {
        kind: 'grant',
        session: 's1',
        lock: 'l',
        mode: 'exclusive',
        token: 1n,
        fenced: false,
        atMs: 100,
      },
      { kind: 'enqueue', session: 's2', lock: 'l', mode: 'exclusive', atMs: 100 },
      {
        kind: 'expire',
        session: 's1',
        lock: 'l',
        token: 1n,
        atMs: 4_000,
      },
      {
        kind: 'grant',
        session: 's2',
        lock: 'l',
        mode: 'exclusive',
        token: 2n,
        fenced: false,
        atMs: 4_000,
      },
    ]);
  });
});
