import { describe, expect, it } from 'vitest';
import { TraceFormatError } from '../../src/eval/errors.js';
import { formatTrace } from '../../src/eval/trace.js';
import { parseTrace } from '../../src/eval/trace-reader.js';
import { generateScenario } from '../../src/sim/scenarios/families.js';

const HEADER = '{"type":"header","version":1,"name":"t","ttl_ms":10000,"keepalive_ms":3333}';

function parseError(text: string): TraceFormatError {
  try {
    parseTrace(text, 'bad.jsonl');
  } catch (error) {
    if (error instanceof TraceFormatError) return error;
    throw error;
  }
  throw new Error('expected a TraceFormatError');
}

describe('trace parsing errors name the file and the line', () => {
  it.each([
    [
      'a first line that is not the header',
      '{"t":0,"type":"session","session":"s","ttl_ms":10000}',
      1,
      'must be the header',
    ],
    [
      'an unsupported version',
      '{"type":"header","version":2,"ttl_ms":1,"keepalive_ms":1}',
      1,
      'unsupported trace version 2',
    ],
    ['invalid JSON', `${HEADER}\n{"t":0,"type":"session","session":"s","ttl_ms":10000}\n{"t":5,`, 3, 'not valid JSON'],
    [
      'unsorted events',
      `${HEADER}\n{"t":9,"type":"session","session":"s","ttl_ms":10000}\n{"t":3,"type":"keepalive","session":"s"}`,
      3,
      'sorted by t',
    ],
    [
      'an event of a session never opened',
      `${HEADER}\n{"t":1,"type":"keepalive","session":"x"}`,
      2,
      'session "x", which is not open',
    ],
    [
      'a missing field',
      `${HEADER}\n{"t":0,"type":"session","session":"s","ttl_ms":10000}\n{"t":1,"type":"grant","session":"s"}`,
      3,
      '"resource" must be a non-empty string',
    ],
    ['an unknown type', `${HEADER}\n{"t":1,"type":"ping"}`, 2, 'unknown event type "ping"'],
    [
      'a bad stale_at',
      `${HEADER}\n{"t":0,"type":"session","session":"s","ttl_ms":10000}\n{"t":1,"type":"truth","session":"s","fault":"crash","stale_at":"soon"}`,
      3,
      'stale_at must be a number or null',
    ],
    [
      'a load fraction out of range',
      `${HEADER}\n{"t":1,"type":"load","cpu":1.5,"mem":0.1,"loop_delay_ms":1}`,
      2,
      '"cpu" must be between 0 and 1',
    ],
  ])('rejects %s', (_what, text, line, reason) => {
    const error = parseError(text);
    expect(error.line).toBe(line);
    expect(error.message).toContain(`bad.jsonl, line ${line}: `);
    expect(error.message).toContain(reason);
    expect(error.code).toBe('TRACE_INVALID');
    expect(error.retriable).toBe(false);
  });

  it('counts blank lines when naming the line', () => {
    expect(parseError(`${HEADER}\n\n\n{"t":1,"type":"keepalive","session":"x"}`).line).toBe(4);
  });

  it('rejects an empty file', () => {
    expect(parseError('\n').message).toContain('empty trace');
  });
});

describe('trace round trip', () => {
  it('parses back exactly what the writer wrote, for a generated scenario', () => {
    const trace = generateScenario('gc-pause', 3, { workers: 4, leaders: 1, durationMs: 240_000, faults: 2 });
    expect(trace.events.length).toBeGreaterThan(100);
    expect(parseTrace(formatTrace(trace), 'round-trip.jsonl')).toEqual(trace);
  });
});
