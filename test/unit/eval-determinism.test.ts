import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runEvalCommand } from '../../src/cli/commands/eval.js';
import { EvalUsageError } from '../../src/eval/errors.js';
import { SCENARIO_FAMILIES } from '../../src/sim/scenarios/families.js';

const directory = mkdtempSync(join(tmpdir(), 'forelock-eval-determinism-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const discard = new Writable({ write: (_chunk, _encoding, done) => done() });

function runToJson(seed: string, file: string): string {
  const path = join(directory, file);
  runEvalCommand({ suite: 'quick', seed, json: path }, { out: discard, progress: null });
  const { cost: _cost, ...rest } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  return JSON.stringify(rest);
}

describe('forelock eval is deterministic', () => {
  it('gives byte-identical JSON outside cost for the same seed (replay: forelock eval --seed 101)', () => {
    const first = runToJson('101', 'a.json');
    const second = runToJson('101', 'b.json');
    expect(second).toBe(first);
    const report = JSON.parse(first) as { seeds: number[]; families: Record<string, { holds: number }> };
    expect(report.seeds).toEqual([101]);
    expect(Object.keys(report.families)).toHaveLength(SCENARIO_FAMILIES.length);
    for (const family of Object.values(report.families)) expect(family.holds).toBeGreaterThan(0);
  });

  it('rejects contradictory options with a usage error', () => {
    const run = (options: Parameters<typeof runEvalCommand>[0]) => () =>
      runEvalCommand(options, { out: discard, progress: null });
    expect(run({ seed: '1', seeds: '2' })).toThrow(EvalUsageError);
    expect(run({ suite: 'huge' })).toThrow(/--suite must be quick or full/);
    expect(run({ seeds: '0' })).toThrow(/--seeds must be an integer >= 1/);
    expect(run({ trace: ['x.jsonl'], seed: '3' })).toThrow(/takes no --seed/);
  });
});
