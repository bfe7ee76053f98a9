// Login tokens (docs/design.md, "Security"): `fl1.<claims>.<mac>`, the claims (user, the user's revision, expiry)
// signed with HMAC-SHA256 under the cluster's token key, which the replicated auth state holds. Any node can issue
// and check one without asking another, and a token ends when it expires, when its user is removed or given a new
// password (the revision moves on), and when auth is enabled again (a new key).
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long a token from `forelock login` lives; the SDK logs in again before then. */
export const AUTH_TOKEN_TTL_MS = 10 * 60_000;
/** Longest token a node reads; anything longer is refused unread. */
export const MAX_TOKEN_LENGTH = 1024;

const PREFIX = 'fl1';

/** What a token says. */
export interface TokenClaims {
  readonly user: string;
  /** The user's revision when the token was issued (a password change or removal moves it on). */
  readonly revision: number;
  /** The issuing node's epoch ms after which the token is refused. */
  readonly expiresAtMs: number;
}

/** A token read: its claims, or why it was refused (never quoting the token). */
export type TokenReading = { readonly claims: TokenClaims } | { readonly problem: string };

function mac(key: string, body: string): Buffer {
  return createHmac('sha256', Buffer.from(key, 'hex')).update(body, 'utf8').digest();
}

/** A token carrying `claims`, signed with `key` (hex). */
export function issueToken(key: string, claims: TokenClaims): string {
  const body = `${PREFIX}.${Buffer.from(JSON.stringify([claims.user, claims.revision, claims.expiresAtMs])).toString('base64url')}`;
  return `${body}.${mac(key, body).toString('base64url')}`;
}

/** Reads `token` signed with `key` at `nowMs`: its claims when well-formed, signed by `key` and not expired. */
export function readToken(key: string, token: string, nowMs: number): TokenReading {
  if (token.length > MAX_TOKEN_LENGTH) return { problem: `the token is longer than ${MAX_TOKEN_LENGTH} characters` };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { problem: 'the token is malformed' };
  const given = Buffer.from(parts[2]!, 'base64url');
  const expected = mac(key, `${parts[0]}.${parts[1]}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { problem: 'the token was not issued by this cluster, or auth was enabled again since' };
  }
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return { problem: 'the token is malformed' };
  }
  if (
    !Array.isArray(fields) ||
    fields.length !== 3 ||
    typeof fields[0] !== 'string' ||
    !Number.isSafeInteger(fields[1]) ||
    !Number.isSafeInteger(fields[2])
  ) {
    return { problem: 'the token is malformed' };
  }
  const claims: TokenClaims = { user: fields[0], revision: fields[1], expiresAtMs: fields[2] };
  if (claims.expiresAtMs <= nowMs) return { problem: 'the token has expired; log in again' };
  return { claims };
}
