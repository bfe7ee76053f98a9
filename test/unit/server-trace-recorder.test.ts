// `--record-trace`: the recorder's lines (format, resync after an election, rotation within the size bound), the
// file sink's buffered writes and rotation, and the StalenessAdvisor recording with prediction off.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTrace } from '../../src/eval/trace-reader.js';
import type { LockEvent } from '../../src/lock/commands.js';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { LeaderDuties } from '../../src/server/leader-duties.js';
import { LockService } from '../../src/server/lock-service.js';
import { SessionHub } from '../../src/server/session-hub.js';
import { StalenessAdvisor } from '../../src/server/staleness.js';
import {
  type RecordedState,
  TraceFileSink,
  TraceRecorder,
  type TraceSink,
  traceLine,
} from '../../src/server/trace-recorder.js';
import { SessionTracker } from '../../src/session/tracker.js';
import { ManualClock } from '../../src/util/clock.js';
import { tempDir } from '../integration/server-harness.js';
import { FakeRaftNode } from './server-fake-raft.js';
import { testServerMetrics } from './test-server-metrics.js';

/** A sink that keeps every file's text in memory. */
class MemorySink implements TraceSink {
  readonly files: string[] = [''];
  write(text: string): void {
    this.files[this.files.length - 1] += text;
  }
  rotate(): void {
    this.files.push('');
  }
}

/** The node's state as a test sets it. */
class FakeState implements RecordedState {
  readonly open = new Map<string, number>();
  readonly held: { sessionId: string; resource: string }[] = [];
  sessions() {
    return [...this.open].map(([sessionId, ttlMs]) => ({ sessionId, ttlMs }));
  }
  holds() {
    return this.held;
  }
  sessionTtlMs(sessionId: string) {
    return this.open.get(sessionId);
  }
}

function recorder(options: { maxBytes?: number; recording?: () => boolean } = {}) {
  const sink = new MemorySink();
  const state = new FakeState();
  const rec = new TraceRecorder({
    name: 'test',
    ttlMs: 10_000,
    keepaliveMs: 3_333,
    maxBytes: options.maxBytes ?? 1 << 20,
    sink,
    recording: options.recording ?? (() => true),
    state,
  });
  return { rec, sink, state };
}

function lines(text: string): Record<string, unknown>[] {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const opened = (sessionId: string, atMs: number): LockEvent => ({ type: 'session-opened', sessionId, atMs });
const granted = (sessionId: string, name: string, atMs: number): LockEvent => ({
  type: 'granted',
  sessionId,
  requestSeq: 1,
  name,
  mode: 'exclusive',
  token: 1n,
  atMs,
  fenced: false,
  preemptible: true,
  waitedMs: 0,
});

describe('TraceRecorder lines', () => {
  it('writes the header, then every observation in the trace format', () => {
    const { rec, sink, state } = recorder();
    state.open.set('s1', 10_000);
    rec.applied(opened('s1', 1_000));
    rec.keepalive({ sessionId: 's1', receiveMs: 1_015, clientTimeMs: 900_015, rttMs: 2.1234 });
    rec.keepalive({ sessionId: 's1', receiveMs: 1_020, clientTimeMs: 900_020 });
    rec.requested('s1', 'r1', 1_030, 'shared');
    state.held.push({ sessionId: 's1', resource: 'r1' });
    rec.applied(granted('s1', 'r1', 1_031));
    rec.load({ atMs: 1_500, cpu: 1.7, mem: 0.312345, loopDelayMs: 2.5 });
    rec.disconnected('s1', 1_600);
    // A session the node does not have (it ended meanwhile) is not written.
    rec.disconnected('gone', 1_700);
    rec.applied({ type: 'released', sessionId: 's1', name: 'r1', token: 1n, atMs: 2_000, heldMs: 969 });
    rec.applied({ type: 'session-ended', sessionId: 's1', atMs: 2_500, expired: false });
    expect(sink.files).toHaveLength(1);
    expect(lines(sink.files[0]!)).toEqual([
      { type: 'header', version: 1, name: 'test', ttl_ms: 10_000, keepalive_ms: 3_333 },
      { t: 1_000, type: 'session', session: 's1', ttl_ms: 10_000 },
      { t: 1_015, type: 'keepalive', session: 's1', client_time_ms: 900_015, rtt_ms: 2.123 },
      { t: 1_020, type: 'keepalive', session: 's1', client_time_ms: 900_020 },
      { t: 1_030, type: 'acquire', session: 's1', resource: 'r1', mode: 'shared' },
      { t: 1_031, type: 'grant', session: 's1', resource: 'r1' },
      { t: 1_500, type: 'load', cpu: 1, mem: 0.3123, loop_delay_ms: 2.5 },
      { t: 1_600, type: 'disconnect', session: 's1' },
      { t: 2_000, type: 'release', session: 's1', resource: 'r1' },
      { t: 2_500, type: 'close', session: 's1' },
    ]);
    expect(() => parseTrace(sink.files[0]!, 'recorded')).not.toThrow();
  });

  it('keeps t non-decreasing, and a session end releases what it held', () => {
    const { rec, sink, state } = recorder();
    state.open.set('s1', 5_000);
    rec.applied(opened('s1', 1_000));
    rec.keepalive({ sessionId: 's1', receiveMs: 1_200 });
    // Applied after the keepalive, with its entry's (earlier) timestamp.
    rec.applied(granted('s1', 'r1', 1_100));
    rec.applied({ type: 'session-ended', sessionId: 's1', atMs: 9_000, expired: true });
    expect(lines(sink.files[0]!).slice(3)).toEqual([
      { t: 1_200, type: 'grant', session: 's1', resource: 'r1' },
      { t: 9_000, type: 'release', session: 's1', resource: 'r1' },
      { t: 9_000, type: 'close', session: 's1' },
    ]);
    expect(parseTrace(sink.files[0]!, 'recorded').events).toHaveLength(5);
  });

  it('records nothing while not leading, and on taking office opens what the node already has', () => {
    let leading = false;
    const { rec, sink, state } = recorder({ recording: () => leading });
    state.open.set('s1', 10_000);
    state.open.set('s2', 10_000);
    rec.applied(opened('s1', 1_000));
    rec.applied(opened('s2', 1_000));
    state.held.push({ sessionId: 's1', resource: 'r1' });
    rec.applied(granted('s1', 'r1', 1_100));
    rec.load({ atMs: 1_200, cpu: 0.1, mem: 0.1, loopDelayMs: 1 });
    expect(lines(sink.files[0]!)).toHaveLength(1);
    leading = true;
    rec.keepalive({ sessionId: 's2', receiveMs: 2_000 });
    // The grant applied again (a duplicate of the state already carried) is not written twice.
    rec.applied(granted('s1', 'r1', 2_001));
    rec.keepalive({ sessionId: 'unknown', receiveMs: 2_002 });
    expect(lines(sink.files[0]!).slice(1)).toEqual([
      { t: 2_000, type: 'session', session: 's1', ttl_ms: 10_000 },
      { t: 2_000, type: 'grant', session: 's1', resource: 'r1' },
      { t: 2_000, type: 'session', session: 's2', ttl_ms: 10_000 },
      { t: 2_000, type: 'keepalive', session: 's2' },
    ]);
    // Deposed, then back in office: what ended meanwhile is ended in the file.
    leading = false;
    rec.applied({ type: 'released', sessionId: 's1', name: 'r1', token: 1n, atMs: 3_000, heldMs: 1 });
    state.held.length = 0;
    state.open.delete('s2');
    leading = true;
    rec.load({ atMs: 4_000, cpu: 0.2, mem: 0.2, loopDelayMs: 1 });
    expect(lines(sink.files[0]!).slice(5)).toEqual([
      { t: 4_000, type: 'release', session: 's1', resource: 'r1' },
      { t: 4_000, type: 'close', session: 's2' },
      { t: 4_000, type: 'load', cpu: 0.2, mem: 0.2, loop_delay_ms: 1 },
    ]);
    expect(() => parseTrace(sink.files[0]!, 'recorded')).not.toThrow();
  });

  it('rotates before a file passes maxBytes; each file is a valid trace that carries the open sessions and holds', () => {
    const maxBytes = 2_000;
    const { rec, sink, state } = recorder({ maxBytes });
    for (const id of ['s1', 's2']) {
      state.open.set(id, 10_000);
      rec.applied(opened(id, 0));
    }
    state.held.push({ sessionId: 's1', resource: 'leader' });
    rec.applied(granted('s1', 'leader', 0));
    for (let i = 1; i <= 200; i++) {
      rec.keepalive({ sessionId: i % 2 === 0 ? 's1' : 's2', receiveMs: i * 100, clientTimeMs: i * 100, rttMs: 1 });
    }
    expect(sink.files.length).toBeGreaterThan(3);
    let keepalives = 0;
    for (const [index, file] of sink.files.entries()) {
      expect(Buffer.byteLength(file)).toBeLessThanOrEqual(maxBytes);
      expect(rec.fileBytes).toBe(Buffer.byteLength(sink.files.at(-1)!));
      const trace = parseTrace(file, `file ${index}`);
      expect(trace.header.name).toBe('test');
      keepalives += trace.events.filter((event) => event.type === 'keepalive').length;
      if (index > 0) {
        expect(trace.events.slice(0, 3).map((event) => event.type)).toEqual(['session', 'grant', 'session']);
      }
    }
    expect(keepalives).toBe(200);
  });

  it('formats one line per entry', () => {
    expect(traceLine({ t: 5, type: 'close', session: 's' })).toBe('{"t":5,"type":"close","session":"s"}\n');
  });
});

describe('TraceFileSink', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('buffers writes, rotates FILE to FILE.1, and flushes everything on close', async () => {
    const dir = await tempDir('forelock-trace-sink-');
    cleanups.push(dir.remove);
    const path = join(dir.path, 'trace.jsonl');
    const errors: unknown[] = [];
    const sink = await TraceFileSink.open(path, (error) => errors.push(error));
    sink.write('a\n');
    sink.write('b\n');
    expect(await readFile(path, 'utf8')).toBe('');
    sink.rotate();
    sink.write('c\n');
    await sink.flush();
    expect(await readFile(`${path}.1`, 'utf8')).toBe('a\nb\n');
    expect(await readFile(path, 'utf8')).toBe('c\n');
    sink.rotate();
    sink.write('d\n');
    await sink.close();
    sink.write('ignored\n');
    expect(await readFile(`${path}.1`, 'utf8')).toBe('c\n');
    expect(await readFile(path, 'utf8')).toBe('d\n');
    expect(errors).toEqual([]);
  });
});

describe('StalenessAdvisor with a recorder', () => {
  it('records every observation even with prediction off', async () => {
    const clock = new ManualClock(1_000_000);
    const machine = new LockStateMachine();
    const raft = new FakeRaftNode(machine);
    const tracker = new SessionTracker();
    const hub = new SessionHub(machine, raft);
    const metrics = testServerMetrics({ machine, raft, hub });
    const sink = new MemorySink();
    const rec = new TraceRecorder({
      name: 'advisor',
      ttlMs: 10_000,
      keepaliveMs: 3_333,
      maxBytes: 1 << 20,
      sink,
      recording: () => true,
      state: {
        sessions: () => machine.sessions(),
        sessionTtlMs: (id) => machine.session(id)?.ttlMs,
        holds: () =>
          machine.locks().flatMap((l) => l.holders.map((h) => ({ sessionId: h.sessionId, resource: l.name }))),
      },
    });
    const advisor = new StalenessAdvisor({ machine, tracker, hub, clock, metrics, mode: 'off', recorder: rec });
    const service = new LockService({ raft, machine, tracker, clock, guarantees: advisor });
    const duties = new LeaderDuties(raft, service, tracker, clock, () => {});
    machine.onEvent((event) => {
      duties.applied(event);
      advisor.applied(event);
    });
    await duties.statusChanged(raft.status());
    const { sessionId } = await service.openSession('holder', 10_000, clock.now());
    clock.advance(100);
    service.keepalive({ sessionId, receiveMs: clock.now(), clientTimeMs: 5, rttMs: 1 });
    advisor.requested(sessionId, 'L', clock.now(), 'exclusive');
    await service.proposeAccepted({
      type: 'acquire',
      sessionId,
      requestSeq: 1,
      name: 'L',
      mode: 'exclusive',
      tryOnly: false,
      fenced: false,
      preemptible: true,
    });
    advisor.observeLoad({ atMs: clock.now(), cpu: 0.5, mem: 0.25, loopDelayMs: 3 });
    advisor.sessionDisconnected(sessionId, clock.now());
    clock.advance(100);
    await service.proposeAccepted({ type: 'session-close', sessionId });
    expect(lines(sink.files[0]!).map((line) => line.type)).toEqual([
      'header',
      'session',
      'keepalive',
      'acquire',
      'grant',
      'load',
      'disconnect',
      'release',
      'close',
    ]);
    expect(() => parseTrace(sink.files[0]!, 'advisor')).not.toThrow();
  });
});
