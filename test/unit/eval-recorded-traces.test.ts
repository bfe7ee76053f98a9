// The traces recorded from real processes (scripts/record-traces.ts, test/fixtures/traces/) replayed with the eval as
// `forelock eval --trace` does: each parses, holds its recorded holds and episodes, `forelock-guarded` never breaks
// a guarantee, and the replay is deterministic. Forelock's warning and pre-emption figures are not asserted here.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runEvalCommand } from '../../src/cli/commands/eval.js';
import { parseTrace, readTraceText } from '../../src/eval/trace-reader.js';

const DIR = 'test/fixtures/traces';

/** Each committed trace with the counts it was recorded with. */
const RECORDED = [
  { file: 'gc-pauses.jsonl.gz', family: 'recorded-gc-pauses', holds: 1329, episodes: 19 },
  { file: 'crashes.jsonl.gz', family: 'recorded-crashes', holds: 1407, episodes: 14 },
  { file: 'overload.jsonl.gz', family: 'recorded-overload', holds: 1115, episodes: 99 },
] as const;

const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

function replay(path: string): string {
  const { cost: _cost, ...report } = runEvalCommand({ trace: [path] }, { out: discard(), progress: null });
  return JSON.stringify(report);
}

describe.each(RECORDED)('recorded trace $file', ({ file, family, holds, episodes }) => {
  const path = `${DIR}/${file}`;

  it('parses', () => {
    const trace = parseTrace(readTraceText(path), path);
    expect(trace.header.name).toBe(family);
    expect(trace.events.some((event) => event.type === 'truth')).toBe(true);
  });

  it('replays with its recorded counts, no guarantee violation, the same JSON twice', () => {
    const first = replay(path);
    const report = JSON.parse(first) as {
      families: Record<
        string,
        { holds: number; episodes: number; detectors: Record<string, { guarantee_violations: number }> }
      >;
    };
    const counts = report.families[family]!;
    expect(counts.holds).toBe(holds);
    expect(counts.episodes).toBe(episodes);
    expect(counts.detectors['forelock-guarded']!.guarantee_violations).toBe(0);
    expect(replay(path)).toBe(first);
  });
});
