// Passwords are kept only as a memory-hard hash (node's scrypt, docs/design.md "Security"): the log and snapshots hold
// `scrypt$N$r$p$salt$hash`, never the password. Hashing runs on libuv's pool, off the event loop.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt's cost: N = 2^14, r = 8 (16 MiB and about 50 ms per hash on a 2-core machine), p = 1. */
const COST = { N: 1 << 14, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds of a stored hash's parameters a node agrees to compute (a hash is replicated data, not trusted code). */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

/**
 * Derivations running at once in this process. libuv's pool has 4 threads, and the Raft log's storage needs them too:
 * with every thread on scrypt, a flood of wrong logins (anyone may try one) held one replicated write 6.5 s instead of
 * 16 ms. Further derivations wait here, in order, not in the pool's queue.
 */
export const CONCURRENT_DERIVATIONS = 2;
let derivationsRunning = 0;
const derivationsWaiting: (() => void)[] = [];

/** Runs `work` in one of the CONCURRENT_DERIVATIONS slots, waiting in order for one. */
export async function inDerivationSlot<T>(work: () => Promise<T>): Promise<T> {
  if (derivationsRunning < CONCURRENT_DERIVATIONS) derivationsRunning += 1;
  else await new Promise<void>((resolve) => derivationsWaiting.push(resolve)); // the slot is handed over
  try {
    return await work();
  } finally {
    const next = derivationsWaiting.shift();
    if (next === undefined) derivationsRunning -= 1;
    else next();
  }
}

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return inDerivationSlot(
    () =>
      new Promise((resolve, reject) => {
        const maxmem = 256 * cost.N * cost.r + (1 << 20);
        scrypt(password, salt, HASH_BYTES, { ...cost, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
      }),
  );
}

/** A new hash of `password` with a random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, COST);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/**
 * A stored hash's look-alike, at hashPassword's cost, whose key no password derives (it is random). Checking a password
 * against it costs what a real check costs, so a login for a user with no password hash (an unknown one, or one that
 * only presents a certificate) takes as long as a wrong password and does not tell which users exist.
 */
export const DECOY_PASSWORD_HASH = `scrypt$${COST.N}$${COST.r}$${COST.p}$${randomBytes(SALT_BYTES).toString('base64url')}$${randomBytes(HASH_BYTES).toString('base64url')}`;

/** Whether `password` matches `stored` (a hashPassword result). False for a malformed or empty hash. */
export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const valid = (value: number, max: number): boolean => Number.isInteger(value) && value >= 1 && value <= max;
  if (!(valid(N, MAX_N) && valid(r, MAX_R) && valid(p, MAX_P)) || (N & (N - 1)) !== 0) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== HASH_BYTES) return false;
  const key = await derive(password, salt, { N, r, p });
  return timingSafeEqual(key, expected);
}
