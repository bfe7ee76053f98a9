// The backup file (format version, cluster id, position, membership, image, checksum) and the image a restored
// cluster starts from (every session ended, the token counter kept).
import { describe, expect, it } from 'vitest';
import { lockImageWithSessionsEnded, summarizeLockImage } from '../../src/lock/snapshot-image.js';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { decodeSnapshotFile, encodeSnapshotFile, SNAPSHOT_FILE_FORMAT_VERSION } from '../../src/raft/snapshot-file.js';
import { LockFixture, tokenOf } from './lock-fixtures.js';

const CONF = { voters: ['n1'], learners: [], addresses: { n1: '127.0.0.1:7400' } };

/** Two sessions: s1 holds a and b, s2 holds c and waits for a; tokens 1-3 granted. */
function image(): Uint8Array {
  const f = new LockFixture();
  f.open('s1');
  f.open('s2');
  tokenOf(f.acquire('s1', 'a'));
  tokenOf(f.acquire('s1', 'b'));
  tokenOf(f.acquire('s2', 'c'));
  f.acquire('s2', 'a');
  return f.machine.snapshot();
}

describe('snapshot files', () => {
  it('round-trip the cluster id, position, membership and image, with a checksum that matches', () => {
    const data = image();
    const bytes = encodeSnapshotFile('c0ffee', { meta: { index: 42, term: 3, conf: CONF }, data });
    const file = decodeSnapshotFile(bytes);
    expect(file).toMatchObject({
      formatVersion: SNAPSHOT_FILE_FORMAT_VERSION,
      clusterId: 'c0ffee',
      index: 42,
      term: 3,
      conf: CONF,
      checksumOk: true,
    });
    expect(new Uint8Array(file.data)).toEqual(new Uint8Array(data));
    expect(file.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('tell a changed byte from an intact file, and refuse what is not a snapshot', () => {
    const bytes = encodeSnapshotFile('c0ffee', { meta: { index: 1, term: 1, conf: CONF }, data: image() });
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 40]! ^= 0x01;
    expect(decodeSnapshotFile(flipped).checksumOk).toBe(false);
    expect(() => decodeSnapshotFile(new TextEncoder().encode('{"not":"a snapshot"}'), 'x.json')).toThrow(
      'x.json is not a Forelock snapshot file',
    );
    expect(() => decodeSnapshotFile(bytes.subarray(0, 30), 'short.snap')).toThrow('short.snap is not a Forelock');
  });
});

describe('the image a restored cluster starts from', () => {
  it('ends every session, frees every lock, keeps the token counter, and is the same bytes every time', () => {
    const data = image();
    expect(summarizeLockImage(data)).toEqual({ highestToken: 3n, locks: 3, sessions: 2 });
    const restored = lockImageWithSessionsEnded(data);
    // Closing s1 hands `a` to s2's waiter (token 4) before s2 closes too: the counter only ever grows.
    expect(summarizeLockImage(restored)).toEqual({ highestToken: 4n, locks: 0, sessions: 0 });
    expect(new Uint8Array(lockImageWithSessionsEnded(data))).toEqual(new Uint8Array(restored));
    const machine = new LockStateMachine();
    machine.restore(restored);
    machine.applyEntry({
      atMs: machine.lastAppliedAtMs + 1,
      command: { type: 'session-open', sessionId: 'new', secretHash: 'a'.repeat(64), ttlMs: 10_000, clientName: 'x' },
    });
    const granted = machine.applyEntry({
      atMs: machine.lastAppliedAtMs + 1,
      command: {
        type: 'acquire',
        sessionId: 'new',
        requestSeq: 1,
        name: 'a',
        mode: 'exclusive',
        fenced: false,
        preemptible: true,
        tryOnly: true,
      },
    });
    expect(tokenOf(granted)).toBe(5n);
  });
});
