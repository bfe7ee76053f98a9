// The evaluation trace format (docs/design.md, "Trace files"): event types and the JSONL writer.

/** First line of every trace. */
export interface TraceHeader {
  readonly type: 'header';
  readonly version: 1;
  readonly name: string;
  /** The TTL the trace's server granted (its lease backstop). */
  readonly ttl_ms: number;
  /** The keepalive interval clients used. */
  readonly keepalive_ms: number;
}

/** A session opened at `t`. */
export interface SessionEvent {
  readonly t: number;
  readonly type: 'session';
  readonly session: string;
  readonly ttl_ms: number;
}

/** A keepalive received by the server at `t`. */
export interface KeepaliveEvent {
  readonly t: number;
  readonly type: 'keepalive';
  readonly session: string;
  /** The client's clock when it sent the keepalive. */
  readonly client_time_ms?: number;
  /** Round trip of the previous exchange, as the client measured it. */
  readonly rtt_ms?: number;
}

/** A lock requested. */
export interface AcquireEvent {
  readonly t: number;
  readonly type: 'acquire';
  readonly session: string;
  readonly resource: string;
  readonly mode: 'exclusive' | 'shared';
}

/** A lock granted. */
export interface GrantEvent {
  readonly t: number;
  readonly type: 'grant';
  readonly session: string;
  readonly resource: string;
}

/** A lock released. */
export interface ReleaseEvent {
  readonly t: number;
  readonly type: 'release';
  readonly session: string;
  readonly resource: string;
}

/** The server's own load. */
export interface LoadEvent {
  readonly t: number;
  readonly type: 'load';
  readonly cpu: number;
  readonly mem: number;
  readonly loop_delay_ms: number;
}

/** Ground truth: one session's fault. `stale_at: null` marks a transient fault that ends at `until`. */
export interface TruthEvent {
  readonly t: number;
  readonly type: 'truth';
  readonly session: string;
  readonly fault: string;
  readonly stale_at: number | null;
  readonly until?: number;
}

/** A session closed or expired at `t`; its locks are freed. */
export interface CloseEvent {
  readonly t: number;
  readonly type: 'close';
  readonly session: string;
}

/**
 * The session's connection ended at `t` without the session being closed: the client went away (a process that dies
 * has its connection closed by its kernel, seen one one-way delay later), not the server. A live client redials and
 * resumes, and its SDK sends a keepalive at once. Optional: a trace without these lines is judged on keepalives alone.
 */
export interface DisconnectEvent {
  readonly t: number;
  readonly type: 'disconnect';
  readonly session: string;
}

/** Every event line of a trace. */
export type TraceEvent =
  | SessionEvent
  | KeepaliveEvent
  | AcquireEvent
  | GrantEvent
  | ReleaseEvent
  | LoadEvent
  | TruthEvent
  | CloseEvent
  | DisconnectEvent;

/** Every event a detector may see: everything except ground truth. */
export type ObservableEvent = Exclude<TraceEvent, TruthEvent>;

/** A whole trace: its header and its events sorted by `t`. */
export interface Trace {
  readonly header: TraceHeader;
  readonly events: readonly TraceEvent[];
  /**
   * Generated traces only (never written to a file): each session's true clock, as the world time at which its
   * clock reads a given `client_time_ms`. `unsafe_exposure_ms` runs the SDK's safe period on it; a trace file has
   * none, and its clocks are fitted over the whole trace in hindsight.
   */
  readonly clientClocks?: ReadonlyMap<string, (clientTimeMs: number) => number>;
  /** Generated traces only: each session's kind of link ('lan', 'wan', ...). */
  readonly links?: ReadonlyMap<string, string>;
}

/** The trace as JSONL text: the header line, then one event a line. */
export function formatTrace(trace: Trace): string {
  const lines = [JSON.stringify(trace.header)];
  for (const event of trace.events) lines.push(JSON.stringify(event));
  return `${lines.join('\n')}\n`;
}
