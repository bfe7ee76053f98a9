// Argument rules of the lock service (lock names, TTLs, client names), each returning a message that says what to do.
import type { LockMode } from './commands.js';

/** Longest lock name, in UTF-8 bytes. */
export const MAX_LOCK_NAME_BYTES = 512;
/** Longest client name, in UTF-8 bytes. */
export const MAX_CLIENT_NAME_BYTES = 256;
/** Shortest and longest session TTL. */
export const MIN_TTL_MS = 1_000;
export const MAX_TTL_MS = 3_600_000;

// C0 and C1 control characters, DEL, and the Unicode line/paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NON_PRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
const LONE_SURROGATE = /\p{Cs}/u;

function describePrintableViolation(value: string): string | null {
  if (LONE_SURROGATE.test(value)) return 'it contains an unpaired surrogate';
  const match = NON_PRINTABLE.exec(value);
  if (match) return `it contains control character U+${match[0].codePointAt(0)!.toString(16).padStart(4, '0')}`;
  return null;
}

/** Null when `name` is a valid lock name, else the reason. */
export function lockNameProblem(name: unknown): string | null {
  const rule = `lock name must be 1-${MAX_LOCK_NAME_BYTES} bytes of printable UTF-8`;
  if (typeof name !== 'string') return `${rule}, got ${typeof name}`;
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes < 1 || bytes > MAX_LOCK_NAME_BYTES) return `${rule}, got ${bytes}`;
  const problem = describePrintableViolation(name);
  return problem ? `${rule}, but ${problem}` : null;
}

/** Null when `clientName` is valid (0-256 bytes of printable UTF-8), else the reason. */
export function clientNameProblem(clientName: unknown): string | null {
  const rule = `client name must be 0-${MAX_CLIENT_NAME_BYTES} bytes of printable UTF-8`;
  if (typeof clientName !== 'string') return `${rule}, got ${typeof clientName}`;
  const bytes = Buffer.byteLength(clientName, 'utf8');
  if (bytes > MAX_CLIENT_NAME_BYTES) return `${rule}, got ${bytes}`;
  const problem = describePrintableViolation(clientName);
  return problem ? `${rule}, but ${problem}` : null;
}

/** Null when `ttlMs` is an integer within 1 s..1 h, else the reason. */
export function ttlProblem(ttlMs: unknown): string | null {
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
    return `session TTL must be an integer from ${MIN_TTL_MS} ms (1 s) to ${MAX_TTL_MS} ms (1 h), got ${String(ttlMs)}`;
  }
  return null;
}

/** Null when `mode` is a lock mode, else the reason. */
export function modeProblem(mode: unknown): string | null {
  return mode === 'exclusive' || mode === 'shared'
    ? null
    : `lock mode must be 'exclusive' or 'shared', got ${String(mode)}`;
}

/** Longest metadata an acquire may keep with its grant, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 1_024;

/** Null when `metadata` is absent or a string of at most 1 KiB, else the reason. */
export function metadataProblem(metadata: unknown): string | null {
  if (metadata === undefined) return null;
  if (typeof metadata !== 'string') return `lock metadata must be a string, got ${typeof metadata}`;
  const bytes = Buffer.byteLength(metadata, 'utf8');
  return bytes > MAX_METADATA_BYTES ? `lock metadata must be at most ${MAX_METADATA_BYTES} bytes, got ${bytes}` : null;
}

/** Null when `requestSeq` is a non-negative safe integer, else the reason. */
export function requestSeqProblem(requestSeq: unknown): string | null {
  return typeof requestSeq === 'number' && Number.isSafeInteger(requestSeq) && requestSeq >= 0
    ? null
    : `request sequence must be a non-negative integer, got ${String(requestSeq)}`;
}

/** Whether a request in `requested` mode may share the lock with holders in `heldModes`. */
export function compatible(requested: LockMode, heldModes: Iterable<LockMode>): boolean {
  for (const held of heldModes) {
    if (requested === 'exclusive' || held === 'exclusive') return false;
  }
  return true;
}
