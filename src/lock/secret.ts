// Session secrets: only their SHA-256 is replicated; a presented secret is checked in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a session secret, hex encoded (what `session-open` carries). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `secret` hashes to `secretHash`, compared in constant time. */
export function secretMatches(secret: string, secretHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(secretHash, 'hex');
  // The length of a SHA-256 digest is public; only a malformed stored hash differs in length.
  if (stored.length !== presented.length) return false;
  return timingSafeEqual(presented, stored);
}
