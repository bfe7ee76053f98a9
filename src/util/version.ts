// The version of this package, read once from its package.json (the nearest one above this file named "forelock").
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** Forelock's version as its package.json says (from the sources or from dist/, installed or not). */
export function forelockVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'forelock' && typeof pkg.version === 'string') {
        cached = pkg.version;
        return cached;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('forelock: its package.json was not found above its own files');
    dir = parent;
  }
}
