// SessionConnection driven in virtual time through its injected dialer and timers, with no network: the open, the
// keepalives at the intervals the leader names, requests re-sent with the same request_seq on a resume, transient
// refusals re-sent after the backoff, and the next node dialed after the backoff when a stream ends.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type RequestFrame, SessionConnection } from '../../src/client/connection.js';
import type { SessionDialer } from '../../src/client/session-dialer.js';
import type { Timers } from '../../src/client/timers.js';
import type { ClientFrame, ServerFrame, SessionStream } from '../../src/client/wire.js';

/** Timers on a virtual clock: `advance` runs those that come due, in time order, settling promises in between. */
class VirtualTimers implements Timers {
  nowMs = 0;
  private lastId = 0;
  private readonly due = new Map<number, { atMs: number; action: () => void }>();

  after(delayMs: number, action: () => void): number {
    this.due.set(++this.lastId, { atMs: this.nowMs + delayMs, action });
    return this.lastId;
  }

  cancel(handle: unknown): void {
    this.due.delete(handle as number);
  }

  async advance(ms: number): Promise<void> {
    const endMs = this.nowMs + ms;
    for (;;) {
      await settle();
      let next: [number, { atMs: number; action: () => void }] | undefined;
      for (const entry of this.due) if (entry[1].atMs <= endMs && (!next || entry[1].atMs < next[1].atMs)) next = entry;
      if (!next) break;
      this.due.delete(next[0]);
      this.nowMs = next[1].atMs;
      next[1].action();
    }
    this.nowMs = endMs;
    await settle();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A session stream whose server side is the test. */
class FakeStream extends EventEmitter {
  readonly written: ClientFrame[] = [];
  cancelled = false;

  constructor(readonly address: string) {
    super();
  }

  write(frame: ClientFrame): boolean {
    this.written.push(frame);
    return true;
  }

  end(): void {}

  cancel(): void {
    this.cancelled = true;
  }

  /** Sends a frame as the server, naming keepalive `lastKeepaliveSeq`. */
  serve(frame: Omit<ServerFrame, 'lastKeepaliveSeq' | 'serverTimeMs'>, lastKeepaliveSeq = 0): void {
    this.emit('data', { lastKeepaliveSeq: String(lastKeepaliveSeq), serverTimeMs: 0, ...frame } as ServerFrame);
  }
}

/** A dialer whose every endpoint accepts connections; the streams it opened, in order. */
class FakeDialer implements SessionDialer {
  readonly streams: FakeStream[] = [];
  released = false;

  reachable(): Promise<void> {
    return Promise.resolve();
  }

  open(address: string): SessionStream {
    const stream = new FakeStream(address);
    this.streams.push(stream);
    return stream as unknown as SessionStream;
  }

  release(): void {
    this.released = true;
  }

  get last(): FakeStream {
    return this.streams.at(-1)!;
  }
}

function opened(
  sessionId: string,
  secret: string,
  keepaliveIntervalMs: number,
): Omit<ServerFrame, 'lastKeepaliveSeq' | 'serverTimeMs'> {
  return {
    frame: 'opened',
    opened: { sessionId, secret, ttlMs: 3_000, guaranteeMs: 3_000, keepaliveIntervalMs, leaderId: 'n1', held: [] },
  } as unknown as Omit<ServerFrame, 'lastKeepaliveSeq' | 'serverTimeMs'>;
}

/** The kinds of the frames written, with the seq of each keepalive and request. */
function kinds(stream: FakeStream): string[] {
  return stream.written.map((frame) => {
    if (frame.keepalive) return `keepalive ${frame.keepalive.seq}`;
    if (frame.acquire) return `acquire ${frame.acquire.requestSeq}`;
    if (frame.open) return frame.open.sessionId === '' ? 'open' : `resume ${frame.open.sessionId}`;
    return Object.keys(frame).find((key) => key !== 'frame') ?? '?';
  });
}

async function connected(): Promise<{ connection: SessionConnection; dialer: FakeDialer; timers: VirtualTimers }> {
  const timers = new VirtualTimers();
  const dialer = new FakeDialer();
  const connection = new SessionConnection({
    endpoints: ['a:1', 'b:1'],
    ttlMs: 3_000,
    openTimeoutMs: 300,
    clientName: 'test',
    clock: { now: () => timers.nowMs },
    rng: { next: () => 0 }, // no jitter: backoff 50, 100, ... ms
    dialer,
    timers,
  });
  const started = connection.start(10_000);
  await timers.advance(0);
  expect(dialer.streams.map((s) => s.address)).toEqual(['a:1']);
  dialer.last.serve(opened('s1', 'secret', 1_000));
  await started;
  return { connection, dialer, timers };
}

/** Closes `connection`, running its virtual timers meanwhile. */
async function closed(connection: SessionConnection, timers: VirtualTimers): Promise<void> {
  const closing = connection.close(10);
  await timers.advance(10);
  await closing;
}

const acquireFrame = (seq: number): ClientFrame => ({
  acquire: {
    requestSeq: String(seq),
    name: 'x',
    mode: 'EXCLUSIVE',
    fenced: false,
    preemptible: true,
    neverPreempt: false,
    waitMs: 0,
    metadata: '',
  },
});

describe('SessionConnection in virtual time', () => {
  it('opens, then sends a keepalive at once and every interval the leader names', async () => {
    const { connection, dialer, timers } = await connected();
    expect(connection.id).toBe('s1');
    expect(kinds(dialer.last)).toEqual(['open', 'keepalive 1']);
    await timers.advance(999);
    expect(kinds(dialer.last)).toEqual(['open', 'keepalive 1']);
    await timers.advance(1);
    expect(kinds(dialer.last)).toEqual(['open', 'keepalive 1', 'keepalive 2']);
    // An answer naming a shorter interval counts it from its arrival.
    await timers.advance(100);
    dialer.last.serve(
      {
        frame: 'keepalive',
        keepalive: { seq: '2', serverReceiveMs: 0, guaranteeMs: 1_500, keepaliveIntervalMs: 500 },
      } as never,
      2,
    );
    await timers.advance(499);
    expect(kinds(dialer.last).length).toBe(3);
    await timers.advance(1);
    expect(kinds(dialer.last).at(-1)).toBe('keepalive 3');
    await closed(connection, timers);
  });

  it('resumes on the next node after the stream ends, sending the pending request again with its seq', async () => {
    const { connection, dialer, timers } = await connected();
    const answers: RequestFrame[] = [];
    const seq = connection.request(
      acquireFrame,
      (frame) => answers.push(frame) > 0,
      () => {},
    );
    expect(seq).toBe(1);
    dialer.last.emit('end');
    await timers.advance(49);
    expect(dialer.streams.length).toBe(1); // the backoff's first delay: 50 ms
    await timers.advance(1);
    expect(dialer.streams.map((s) => s.address)).toEqual(['a:1', 'b:1']);
    expect(kinds(dialer.last)).toEqual(['resume s1']);
    dialer.last.serve(opened('s1', '', 1_000));
    await timers.advance(0);
    expect(kinds(dialer.last)).toEqual(['resume s1', 'acquire 1', 'keepalive 2']);
    dialer.last.serve({ frame: 'done', done: { requestSeq: '1', name: 'x' } } as never);
    expect(answers.map((frame) => frame.frame)).toEqual(['done']);
    await closed(connection, timers);
    expect(dialer.released).toBe(true);
  });

  it('sends a request refused "not now" again after the backoff, and hands any other refusal to its owner', async () => {
    const { connection, dialer, timers } = await connected();
    const answers: string[] = [];
    connection.request(
      acquireFrame,
      (frame) => answers.push(frame.frame === 'error' ? frame.error.code : frame.frame) > 0,
      () => {},
    );
    const refuse = (code: string) =>
      dialer.last.serve({
        frame: 'error',
        error: { requestSeq: '1', name: 'x', code, message: code, retriable: true },
      } as never);
    refuse('PROPOSAL_DROPPED');
    await timers.advance(49);
    expect(kinds(dialer.last).filter((k) => k.startsWith('acquire'))).toEqual(['acquire 1']);
    await timers.advance(1);
    expect(kinds(dialer.last).filter((k) => k.startsWith('acquire'))).toEqual(['acquire 1', 'acquire 1']);
    expect(answers).toEqual([]);
    refuse('LOCK_BUSY');
    expect(answers).toEqual(['LOCK_BUSY']);
    await closed(connection, timers);
  });
});
