// Parses and validates a JSONL trace (docs/design.md, "Trace files"); every error names the offending line.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { TraceFormatError } from './errors.js';
import type { Trace, TraceEvent, TraceHeader } from './trace.js';

type Fields = Record<string, unknown>;

/** The text of a trace file; a name ending in `.gz` is gunzipped first. Throws what the file system throws. */
export function readTraceText(file: string): string {
  const bytes = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

/** Parses `text` (the contents of `source`) into a validated trace, or throws a `TraceFormatError`. */
export function parseTrace(text: string, source: string): Trace {
  const lines = text.split('\n');
  let header: TraceHeader | undefined;
  const events: TraceEvent[] = [];
  const openSessions = new Set<string>();
  const knownSessions = new Set<string>();
  let lastT = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]!.trim();
    if (raw === '') continue;
    const lineNo = index + 1;
    const fail = (reason: string): never => {
      throw new TraceFormatError(source, lineNo, reason);
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      fail(`not valid JSON (${(error as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('expected a JSON object');
    const fields = parsed as Fields;
    if (header === undefined) {
      header = readHeader(fields, fail);
      continue;
    }
    const event = readEvent(fields, fail);
    if (event.t < lastT) fail(`events must be sorted by t: ${event.t} comes after ${lastT}`);
    lastT = event.t;
    if (event.type === 'session') {
      if (openSessions.has(event.session)) fail(`session "${event.session}" is already open`);
      openSessions.add(event.session);
      knownSessions.add(event.session);
    } else if (event.type === 'truth') {
      if (!knownSessions.has(event.session)) fail(`truth names session "${event.session}", never opened before it`);
    } else if (event.type !== 'load') {
      if (!openSessions.has(event.session)) fail(`${event.type} for session "${event.session}", which is not open`);
      if (event.type === 'close') openSessions.delete(event.session);
    }
    events.push(event);
  }
  if (header === undefined) throw new TraceFormatError(source, 1, 'empty trace: the first line must be the header');
  return { header, events };
}

function readHeader(fields: Fields, fail: (reason: string) => never): TraceHeader {
  if (fields.type !== 'header')
    fail(`the first line must be the header ({"type":"header",...}), got type ${JSON.stringify(fields.type)}`);
  if (fields.version !== 1) fail(`unsupported trace version ${JSON.stringify(fields.version)} (expected 1)`);
  return {
    type: 'header',
    version: 1,
    name: typeof fields.name === 'string' ? fields.name : '',
    ttl_ms: positive(fields, 'ttl_ms', fail),
    keepalive_ms: positive(fields, 'keepalive_ms', fail),
  };
}

function readEvent(fields: Fields, fail: (reason: string) => never): TraceEvent {
  const t = finite(fields, 't', fail);
  switch (fields.type) {
    case 'session':
      return { t, type: 'session', session: text(fields, 'session', fail), ttl_ms: positive(fields, 'ttl_ms', fail) };
    case 'keepalive': {
      const session = text(fields, 'session', fail);
      const clientTime = optionalFinite(fields, 'client_time_ms', fail);
      const rtt = optionalFinite(fields, 'rtt_ms', fail);
      if (rtt !== undefined && rtt < 0) fail(`rtt_ms must be >= 0, got ${rtt}`);
      return {
        t,
        type: 'keepalive',
        session,
        ...(clientTime === undefined ? {} : { client_time_ms: clientTime }),
        ...(rtt === undefined ? {} : { rtt_ms: rtt }),
      };
    }
    case 'acquire': {
      const mode = fields.mode ?? 'exclusive';
      if (mode !== 'exclusive' && mode !== 'shared')
        fail(`mode must be "exclusive" or "shared", got ${JSON.stringify(mode)}`);
      return {
        t,
        type: 'acquire',
        session: text(fields, 'session', fail),
        resource: text(fields, 'resource', fail),
        mode: mode as 'exclusive' | 'shared',
      };
    }
    case 'grant':
    case 'release':
      return { t, type: fields.type, session: text(fields, 'session', fail), resource: text(fields, 'resource', fail) };
    case 'load':
      return {
        t,
        type: 'load',
        cpu: fraction(fields, 'cpu', fail),
        mem: fraction(fields, 'mem', fail),
        loop_delay_ms: nonNegative(fields, 'loop_delay_ms', fail),
      };
    case 'truth': {
      const staleAt = fields.stale_at;
      if (staleAt !== null && (typeof staleAt !== 'number' || !Number.isFinite(staleAt)))
        fail(`stale_at must be a number or null, got ${JSON.stringify(staleAt)}`);
      const until = optionalFinite(fields, 'until', fail);
      return {
        t,
        type: 'truth',
        session: text(fields, 'session', fail),
        fault: text(fields, 'fault', fail),
        stale_at: staleAt as number | null,
        ...(until === undefined ? {} : { until }),
      };
    }
    case 'close':
    case 'disconnect':
      return { t, type: fields.type, session: text(fields, 'session', fail) };
    default:
      return fail(
        `unknown event type ${JSON.stringify(fields.type)} (expected session, keepalive, acquire, grant, release, load, truth, close or disconnect)`,
      );
  }
}

function text(fields: Fields, name: string, fail: (reason: string) => never): string {
  const value = fields[name];
  if (typeof value !== 'string' || value === '')
    fail(`"${name}" must be a non-empty string, got ${JSON.stringify(value)}`);
  return value as string;
}

function finite(fields: Fields, name: string, fail: (reason: string) => never): number {
  const value = fields[name];
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(`"${name}" must be a number, got ${JSON.stringify(value)}`);
  return value as number;
}

function optionalFinite(fields: Fields, name: string, fail: (reason: string) => never): number | undefined {
  return fields[name] === undefined ? undefined : finite(fields, name, fail);
}

function positive(fields: Fields, name: string, fail: (reason: string) => never): number {
  const value = finite(fields, name, fail);
  if (value <= 0) fail(`"${name}" must be > 0, got ${value}`);
  return value;
}

function nonNegative(fields: Fields, name: string, fail: (reason: string) => never): number {
  const value = finite(fields, name, fail);
  if (value < 0) fail(`"${name}" must be >= 0, got ${value}`);
  return value;
}

function fraction(fields: Fields, name: string, fail: (reason: string) => never): number {
  const value = finite(fields, name, fail);
  if (value < 0 || value > 1) fail(`"${name}" must be between 0 and 1, got ${value}`);
  return value;
}
