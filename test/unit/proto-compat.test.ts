// The wire API is public (docs/protocol.md): `buf lint` keeps proto/ to its style rules and `buf breaking` compares
// it with proto/baseline/, the previous release's files, so that a change an existing client would trip on fails
// npm test. Both run the @bufbuild/buf binary that npm installs (no install script needed: the platform package
// carries it). proto/buf.yaml holds the rules and why some are waived.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORELOCK_PROTO, protoDir } from '../../src/util/proto.js';

const bufBin = createRequire(import.meta.url).resolve('@bufbuild/buf/bin/buf');
const scratch = mkdtempSync(join(tmpdir(), 'forelock-proto-compat-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs buf with `args` from `cwd`; its exit status and everything it printed. */
function buf(cwd: string, args: readonly string[]): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [bufBin, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}${run.error ?? ''}` };
}

/**
 * A copy of proto/baseline/ outside the module: buf refuses an "against" input that lies inside the module it
 * checks (proto/buf.yaml excludes baseline/ from the module for that reason).
 */
function baselineCopy(): string {
  const copy = join(scratch, 'baseline');
  cpSync(join(protoDir(), 'baseline'), copy, { recursive: true });
  return copy;
}

describe('the .proto files against buf', () => {
  it('buf lint finds nothing', () => {
    const { status, output } = buf(protoDir(), ['lint']);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('buf breaking finds nothing against the previous release (proto/baseline/)', () => {
    const { status, output } = buf(protoDir(), ['breaking', '--against', baselineCopy()]);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('buf breaking refuses a retyped field, so the check above can fail', () => {
    const changed = join(scratch, 'changed');
    cpSync(protoDir(), changed, { recursive: true });
    const file = join(changed, FORELOCK_PROTO);
    const source = readFileSync(file, 'utf8');
    const retyped = source.replace(/\buint32 wait_ms = (\d+);/, 'uint64 wait_ms = $1;');
    expect(retyped, 'AcquireRequest.wait_ms is declared uint32').not.toBe(source);
    writeFileSync(file, retyped);
    const { status, output } = buf(changed, ['breaking', '--against', baselineCopy()]);
    expect(status).not.toBe(0);
    expect(output).toMatch(/wait_ms.*changed type from "uint32" to "uint64"/);
  });
});
