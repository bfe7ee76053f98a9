// The committed wire types (src/generated/) are exactly what proto-loader's generator makes of the .proto now: a field
// added to proto/forelock/v1/forelock.proto without regenerating them (npx tsx scripts/gen-wire-types.ts) fails here.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesUnder, GENERATED_DIR, generateWireTypes } from '../../scripts/gen-wire-types.js';

const fresh = mkdtempSync(join(tmpdir(), 'forelock-wire-types-check-'));
afterAll(() => rmSync(fresh, { recursive: true, force: true }));

describe('src/generated', () => {
  generateWireTypes(fresh);

  it('has the files the generator makes of the .proto, no more and no fewer', () => {
    expect(filesUnder(GENERATED_DIR)).toEqual(filesUnder(fresh));
  });

  it.each(filesUnder(fresh))('%s is as generated (regenerate: npx tsx scripts/gen-wire-types.ts)', (file) => {
    expect(readFileSync(join(GENERATED_DIR, file), 'utf8')).toBe(readFileSync(join(fresh, file), 'utf8'));
  });
});
