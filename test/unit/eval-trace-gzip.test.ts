// `forelock eval --trace FILE.gz`: a gzipped trace reads as its plain text and evaluates the same.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { runEvalCommand } from '../../src/cli/commands/eval.js';
import { readTraceText } from '../../src/eval/trace-reader.js';
import { tempDir } from '../integration/server-harness.js';

const TRACE = `${[
  '{"type":"header","version":1,"name":"gz","ttl_ms":10000,"keepalive_ms":3333}',
  '{"t":0,"type":"session","session":"s1","ttl_ms":10000}',
  '{"t":10,"type":"acquire","session":"s1","resource":"r1","mode":"exclusive"}',
  '{"t":11,"type":"grant","session":"s1","resource":"r1"}',
  '{"t":3000,"type":"keepalive","session":"s1","client_time_ms":3000,"rtt_ms":1}',
  '{"t":5000,"type":"truth","session":"s1","fault":"crash","stale_at":5000}',
  '{"t":20000,"type":"close","session":"s1"}',
].join('\n')}\n`;

const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

describe('gzipped trace files', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('reads FILE.gz as its text, and the eval reports the same as for the plain file', async () => {
    const dir = await tempDir('forelock-trace-gz-');
    cleanups.push(dir.remove);
    const plain = join(dir.path, 'trace.jsonl');
    const zipped = join(dir.path, 'trace.jsonl.gz');
    await writeFile(plain, TRACE);
    await writeFile(zipped, gzipSync(TRACE));
    expect(readTraceText(zipped)).toBe(TRACE);
    expect(readTraceText(plain)).toBe(TRACE);
    const run = (file: string) => {
      const { cost: _cost, ...report } = runEvalCommand({ trace: [file] }, { out: discard(), progress: null });
      return report;
    };
    const fromZip = run(zipped);
    expect(fromZip.families.gz?.holds).toBe(1);
    expect(fromZip.families.gz?.episodes).toBe(1);
    expect(fromZip).toEqual(run(plain));
  });
});
