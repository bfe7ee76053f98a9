// Argument rules of users, roles and permissions (docs/design.md, "Security"), each returning a message that says
// what to do. Shared by the replicated auth state, the server's checks before proposing, and the CLI.

/** The built-in role that may do everything; it exists without being added and carries no prefixes. */
export const ROOT_ROLE = 'root';

/** What a role may do on lock names that start with a prefix. */
export type Permission = 'lock' | 'read' | 'revoke';

/** Every permission, in the order the CLI and the docs list them. */
export const PERMISSIONS: readonly Permission[] = ['lock', 'read', 'revoke'];

/** Longest user or role name, in characters (all ASCII). */
export const MAX_AUTH_NAME_LENGTH = 64;
/** Longest permission prefix, in UTF-8 bytes (as long as the longest lock name). */
export const MAX_PREFIX_BYTES = 512;
/** Longest password, in UTF-8 bytes (scrypt takes any length; this bounds the work one request can ask for). */
export const MAX_PASSWORD_BYTES = 1024;

const AUTH_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

/** Null when `name` is a valid user name, else the reason. */
export function userNameProblem(name: unknown): string | null {
  return authNameProblem('user', name);
}

/** Null when `name` is a valid role name, else the reason. */
export function roleNameProblem(name: unknown): string | null {
  return authNameProblem('role', name);
}

function authNameProblem(kind: 'user' | 'role', name: unknown): string | null {
  const rule = `a ${kind} name must be 1-${MAX_AUTH_NAME_LENGTH} characters of A-Z a-z 0-9 . _ @ -, starting with a letter or digit`;
  if (typeof name !== 'string') return `${rule}, got ${typeof name}`;
  if (name.length < 1 || name.length > MAX_AUTH_NAME_LENGTH) return `${rule}, got ${name.length} characters`;
  if (!AUTH_NAME.test(name)) return `${rule}, got ${JSON.stringify(name)}`;
  return null;
}

/** Null when `permission` is one of PERMISSIONS, else the reason. */
export function permissionProblem(permission: unknown): string | null {
  if (typeof permission === 'string' && (PERMISSIONS as readonly string[]).includes(permission)) return null;
  return `a permission must be one of ${PERMISSIONS.join(', ')}, got ${JSON.stringify(permission)}`;
}

/** Null when `prefix` is a valid lock-name prefix ('' covers every name), else the reason. */
export function prefixProblem(prefix: unknown): string | null {
  const rule = `a lock-name prefix must be 0-${MAX_PREFIX_BYTES} bytes of UTF-8`;
  if (typeof prefix !== 'string') return `${rule}, got ${typeof prefix}`;
  const bytes = Buffer.byteLength(prefix, 'utf8');
  return bytes > MAX_PREFIX_BYTES ? `${rule}, got ${bytes}` : null;
}

/** Null when `password` may be set (1-1024 bytes), else the reason. Never quotes the password. */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string') return 'a password must be a string';
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < 1) return 'a password must not be empty';
  if (bytes > MAX_PASSWORD_BYTES) return `a password must be at most ${MAX_PASSWORD_BYTES} bytes, got ${bytes}`;
  return null;
}
