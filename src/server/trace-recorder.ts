// `forelock serve --record-trace FILE`: the leader writes the SPM's inputs (sessions, keepalives, acquires, grants,
// releases, closes, disconnects, load) as an evaluation trace (docs/design.md, "Trace files"), so that
// `forelock eval --trace` can judge and tune the predictor on real traffic. TraceRecorder decides the lines (pure: no
// I/O, no timers); a TraceSink stores them, TraceFileSink in a size-bounded, rotated file with buffered asynchronous
// writes.
import type { FileHandle } from 'node:fs/promises';
import { open, rename } from 'node:fs/promises';
import type { TraceEvent, TraceHeader } from '../eval/trace.js';
import type { LockEvent, LockMode } from '../lock/commands.js';
import type { KeepaliveSample, LoadSample } from '../spm/types.js';

/** The lines a recorder writes: every trace event except ground truth, which no server can know. */
export type RecordedEvent = Exclude<TraceEvent, { type: 'truth' }>;

/** One JSONL line (with its newline) of a header or an event. */
export function traceLine(entry: TraceHeader | RecordedEvent): string {
  return `${JSON.stringify(entry)}\n`;
}

/** Where recorded text goes: appended to the current file, which `rotate` ends (the next text starts a new one). */
export interface TraceSink {
  /** Appends `text` to the current file; must not block (buffer it). */
  write(text: string): void;
  /** Ends the current file (it becomes `<file>.1`, replacing an older one); later writes start a new file. */
  rotate(): void;
}

/** What the node knows now: its open sessions and held locks (the replicated state machine), read on (re)sync. */
export interface RecordedState {
  /** Every open session and its TTL. */
  sessions(): Iterable<{ readonly sessionId: string; readonly ttlMs: number }>;
  /** Every current hold. */
  holds(): Iterable<{ readonly sessionId: string; readonly resource: string }>;
  /** The TTL of an open session, undefined when it is not open. */
  sessionTtlMs(sessionId: string): number | undefined;
}

/** How a recorder is built. */
export interface TraceRecorderOptions {
  /** The header's name (the family `forelock eval --trace` reports it under). */
  readonly name: string;
  /** The server's default session TTL and keepalive interval, for the header. */
  readonly ttlMs: number;
  readonly keepaliveMs: number;
  /** Most bytes one file may hold: a line that would pass it rotates the file first. */
  readonly maxBytes: number;
  readonly sink: TraceSink;
  /** Whether this node records now: only the leader in office sees keepalives. */
  readonly recording: () => boolean;
  readonly state: RecordedState;
}

/** Rounds a measured value for the trace (the eval needs no more precision than this). */
function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/**
 * Turns what the StalenessAdvisor observes into trace lines. Each file is a valid trace on its own: it starts with
 * the header, and whenever the file starts (or this node starts recording, e.g. after an election) the sessions and
 * holds already open are written as `session` and `grant` lines at that moment, and those the file still thinks open
 * but the node no longer has are ended. `t` is epoch ms, made non-decreasing (lines are written as observed).
 */
export class TraceRecorder {
  /** What the current file says is open: session -> resources it holds. */
  private readonly inFile = new Map<string, Set<string>>();
  private bytes = 0;
  /** Event lines in the current file beyond its header and carried-over state (a file with none never rotates). */
  private eventLines = 0;
  private lastT = Number.NEGATIVE_INFINITY;
  /** Whether the previous observation was recorded (the file is in step with the node). */
  private inStep = false;
  private readonly header: TraceHeader;

  constructor(private readonly options: TraceRecorderOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError(`maxBytes must be > 0, got ${options.maxBytes}`);
    this.header = {
      type: 'header',
      version: 1,
      name: options.name,
      ttl_ms: options.ttlMs,
      keepalive_ms: options.keepaliveMs,
    };
    this.writeHeader();
  }

  /** Bytes in the current file so far. */
  get fileBytes(): number {
    return this.bytes;
  }

  /** A keepalive received (t = the server's receive time). */
  keepalive(sample: KeepaliveSample): void {
    this.record(sample.receiveMs, () => {
      const out: RecordedEvent[] = [];
      if (!this.ensure(sample.sessionId, out)) return out;
      out.push({
        t: this.lastT,
        type: 'keepalive',
        session: sample.sessionId,
        ...(sample.clientTimeMs === undefined ? {} : { client_time_ms: sample.clientTimeMs }),
        ...(sample.rttMs === undefined ? {} : { rtt_ms: round(Math.max(0, sample.rttMs), 3) }),
      });
      return out;
    });
  }

  /** The session's connection ended from the client's side without a close (t = when this node saw it end). */
  disconnected(sessionId: string, atMs: number): void {
    this.record(atMs, () => {
      const out: RecordedEvent[] = [];
      if (this.ensure(sessionId, out)) out.push({ t: this.lastT, type: 'disconnect', session: sessionId });
      return out;
    });
  }

  /** The node's load, as the SPM gets it. */
  load(sample: LoadSample): void {
    this.record(sample.atMs, () => [
      {
        t: this.lastT,
        type: 'load',
        cpu: round(clamp01(sample.cpu), 4),
        mem: round(clamp01(sample.mem), 4),
        loop_delay_ms: round(Math.max(0, sample.loopDelayMs), 3),
      },
    ]);
  }

  /** An acquire received by the leader. */
  requested(sessionId: string, resource: string, atMs: number, mode: LockMode = 'exclusive'): void {
    this.record(atMs, () => {
      const out: RecordedEvent[] = [];
      if (this.ensure(sessionId, out)) out.push({ t: this.lastT, type: 'acquire', session: sessionId, resource, mode });
      return out;
    });
  }

  /** An applied event of the lock state machine (sessions opened and ended, grants, releases, revocations). */
  applied(event: LockEvent): void {
    switch (event.type) {
      case 'session-opened':
        this.record(event.atMs, () => {
          const out: RecordedEvent[] = [];
          this.ensure(event.sessionId, out);
          return out;
        });
        return;
      case 'granted':
        this.record(event.atMs, () => {
          const out: RecordedEvent[] = [];
          if (!this.ensure(event.sessionId, out) || this.inFile.get(event.sessionId)?.has(event.name)) return out;
          out.push({ t: this.lastT, type: 'grant', session: event.sessionId, resource: event.name });
          return out;
        });
        return;
      case 'released':
      case 'revoked':
        this.record(event.atMs, () =>
          this.inFile.get(event.sessionId)?.has(event.name)
            ? [{ t: this.lastT, type: 'release', session: event.sessionId, resource: event.name }]
            : [],
        );
        return;
      case 'session-ended':
        this.record(event.atMs, () => this.ending(event.sessionId));
        return;
      default:
        return;
    }
  }

  /**
   * Writes the lines `build` returns (at `atMs`, made non-decreasing) when this node records; a file that would
   * outgrow `maxBytes` is rotated first, and the lines are built again against the new file.
   */
  private record(atMs: number, build: () => RecordedEvent[]): void {
    if (!this.options.recording()) {
      this.inStep = false;
      return;
    }
    this.lastT = Math.max(this.lastT, atMs);
    if (!this.inStep) {
      this.inStep = true;
      this.writeLines(this.resync(), false);
    }
    let lines = build();
    if (lines.length === 0) return;
    let text = lines.map(traceLine).join('');
    if (this.bytes + Buffer.byteLength(text) > this.options.maxBytes && this.eventLines > 0) {
      this.options.sink.rotate();
      this.bytes = 0;
      this.eventLines = 0;
      this.inFile.clear();
      this.writeHeader();
      this.writeLines(this.resync(), false);
      lines = build();
      text = lines.map(traceLine).join('');
    }
    this.writeLines(lines, true, text);
  }

  private writeHeader(): void {
    const text = traceLine(this.header);
    this.options.sink.write(text);
    this.bytes += Buffer.byteLength(text);
  }

  private writeLines(lines: readonly RecordedEvent[], events: boolean, text = lines.map(traceLine).join('')): void {
    if (lines.length === 0) return;
    for (const line of lines) this.track(line);
    this.options.sink.write(text);
    this.bytes += Buffer.byteLength(text);
    if (events) this.eventLines += lines.length;
  }

  /** Keeps `inFile` in step with a line written. */
  private track(line: RecordedEvent): void {
    switch (line.type) {
      case 'session':
        this.inFile.set(line.session, new Set());
        return;
      case 'grant':
        this.inFile.get(line.session)?.add(line.resource);
        return;
      case 'release':
        this.inFile.get(line.session)?.delete(line.resource);
        return;
      case 'close':
        this.inFile.delete(line.session);
        return;
      default:
        return;
    }
  }

  /**
   * True when the file has `sessionId` open; otherwise, when the node has it open, adds its `session` line to `out`
   * (written with the lines that follow) and returns true; false when the session is unknown (the line is skipped).
   */
  private ensure(sessionId: string, out: RecordedEvent[]): boolean {
    if (this.inFile.has(sessionId)) return true;
    const ttlMs = this.options.state.sessionTtlMs(sessionId);
    if (ttlMs === undefined) return false;
    out.push({ t: this.lastT, type: 'session', session: sessionId, ttl_ms: ttlMs });
    return true;
  }

  /** The releases and close that end a session the file has open (none for a session it never had). */
  private ending(sessionId: string): RecordedEvent[] {
    const held = this.inFile.get(sessionId);
    if (held === undefined) return [];
    const out: RecordedEvent[] = [...held]
      .sort()
      .map((resource) => ({ t: this.lastT, type: 'release', session: sessionId, resource }));
    out.push({ t: this.lastT, type: 'close', session: sessionId });
    return out;
  }

  /** Lines that bring the file in step with the node: ends what the node no longer has, opens what it has. */
  private resync(): RecordedEvent[] {
    const { state } = this.options;
    const t = this.lastT;
    const out: RecordedEvent[] = [];
    const liveHolds = new Map<string, Set<string>>();
    for (const { sessionId, resource } of state.holds()) {
      const held = liveHolds.get(sessionId) ?? new Set<string>();
      held.add(resource);
      liveHolds.set(sessionId, held);
    }
    const live = new Map<string, number>();
    for (const { sessionId, ttlMs } of state.sessions()) live.set(sessionId, ttlMs);
    for (const [sessionId, held] of this.inFile) {
      if (!live.has(sessionId)) {
        out.push(...this.ending(sessionId));
        continue;
      }
      const now = liveHolds.get(sessionId);
      for (const resource of [...held].sort()) {
        if (!now?.has(resource)) out.push({ t, type: 'release', session: sessionId, resource });
      }
    }
    for (const [sessionId, ttlMs] of live) {
      const held = this.inFile.get(sessionId);
      if (held === undefined) out.push({ t, type: 'session', session: sessionId, ttl_ms: ttlMs });
      for (const resource of [...(liveHolds.get(sessionId) ?? [])].sort()) {
        if (!held?.has(resource)) out.push({ t, type: 'grant', session: sessionId, resource });
      }
    }
    return out;
  }
}

/** How often buffered lines are written out, in ms. */
const FLUSH_INTERVAL_MS = 1_000;
/** Buffered bytes that trigger a write before the next interval. */
const FLUSH_BYTES = 256 * 1024;

/**
 * A TraceSink on a file: writes are buffered and flushed every second (or every 256 KiB) by asynchronous writes,
 * one at a time, so recording never blocks the event loop; `rotate` renames the file to `<file>.1` (replacing an
 * older one) and opens a new one. The first I/O error is reported and ends recording (the node goes on serving).
 */
export class TraceFileSink implements TraceSink {
  private pending: string[] = [];
  private pendingBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private failed = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private handle: FileHandle,
    readonly path: string,
    private readonly onError: (error: unknown) => void,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Creates (or truncates) `path`; rejects when it cannot be opened. */
  static async open(path: string, onError: (error: unknown) => void): Promise<TraceFileSink> {
    return new TraceFileSink(await open(path, 'w'), path, onError);
  }

  write(text: string): void {
    if (this.failed || this.closed) return;
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= FLUSH_BYTES) void this.flush();
  }

  rotate(): void {
    if (this.failed || this.closed) return;
    const text = this.take();
    this.enqueue(async () => {
      if (text !== '') await this.handle.write(text);
      await this.handle.close();
      await rename(this.path, `${this.path}.1`);
      this.handle = await open(this.path, 'w');
    });
  }

  /** Writes out what is buffered; resolves when every write queued so far is done. */
  flush(): Promise<void> {
    const text = this.take();
    if (text !== '') this.enqueue(() => this.handle.write(text).then(() => undefined));
    return this.chain;
  }

  /** Flushes and closes the file (later writes are ignored). */
  async close(): Promise<void> {
    if (this.closed) return this.chain;
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    this.enqueue(() => this.handle.close());
    return this.chain;
  }

  private take(): string {
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    return text;
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain
      .then(() => (this.failed ? undefined : step()))
      .catch((error: unknown) => {
        if (this.failed) return;
        this.failed = true;
        clearInterval(this.timer);
        this.onError(error);
      });
  }
}
