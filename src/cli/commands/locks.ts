// `forelock locks [--json]`: every lock with its holders (session, client, user, token, fenced, grant time) and queue.
import type { Command } from 'commander';
import { DEFAULT_LOCK_PAGE, type LockInfo, type LockPage } from '../../client/admin.js';
import { InvalidArgumentError } from '../../client/errors.js';
import { formatTable, runAdmin, toJson, withEndpoints } from '../client-options.js';

/**
 * The --json shape of `forelock locks` (also served at /v1/locks): tokens as decimal strings, grantedAt epoch ms,
 * `user` the user that opened the holding session ('' when auth was off).
 */
export function locksJson(locks: readonly LockInfo[]): {
  name: string;
  mode: string;
  holders: { session: string; client: string; user: string; token: string; fenced: boolean; grantedAt: number }[];
  waiters: number;
}[] {
  return locks.map((lock) => ({
    name: lock.name,
    mode: lock.mode,
    holders: lock.holders.map((h) => ({
      session: h.session,
      client: h.client,
      user: h.user,
      token: h.token.toString(),
      fenced: h.fenced,
      grantedAt: h.grantedAtMs,
    })),
    waiters: lock.waiters,
  }));
}

/** One row per holder (a lock with no holder gets one row with its queue). */
export function formatLocks(locks: readonly LockInfo[]): string {
  if (locks.length === 0) return 'no locks';
  const rows = locks.flatMap((lock) => {
    const holders = lock.holders.length > 0 ? lock.holders : [null];
    return holders.map((h) => [
      lock.name,
      lock.mode,
      h ? h.token.toString() : '-',
      h ? `${h.client} (${h.session})` : '-',
      h ? h.user || '-' : '-',
      h ? (h.fenced ? 'yes' : 'no') : '-',
      h ? new Date(h.grantedAtMs).toISOString() : '-',
      String(lock.waiters),
    ]);
  });
  return formatTable(['NAME', 'MODE', 'TOKEN', 'HOLDER', 'USER', 'FENCED', 'GRANTED', 'WAITERS'], rows);
}

/** The --json shape of one page (`forelock locks --limit N`, `/v1/locks?limit=N`): `nextAfter` continues it. */
export function lockPageJson(page: LockPage): { locks: ReturnType<typeof locksJson>; nextAfter: string | null } {
  return { locks: locksJson(page.locks), nextAfter: page.nextAfter };
}

/**
 * Writes the pages' locks as one JSON array, the same text as `toJson(locksJson(all))`, a page at a time: a listing of
 * any size is never held whole.
 */
export async function writeLocksJsonArray(pages: AsyncIterable<LockPage>, out: NodeJS.WritableStream): Promise<void> {
  let first = true;
  for await (const page of pages) {
    for (const lock of locksJson(page.locks)) {
      out.write(`${first ? '[\n' : ',\n'}${toJson(lock).replace(/^/gm, '  ')}`);
      first = false;
    }
  }
  out.write(first ? '[]\n' : '\n]\n');
}

/** A --limit value: an integer from 1 to 100,000. */
function pageLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new InvalidArgumentError(`--limit must be an integer from 1 to ${MAX_PAGE}, got "${value}"`);
  }
  return limit;
}

/** The largest page --limit asks for. */
const MAX_PAGE = 100_000;

/** Registers `forelock locks`. */
export function registerLocksCommand(program: Command): void {
  withEndpoints(program.command('locks'))
    .description('list locks, their holders and queue lengths, sorted by name')
    .option('--prefix <prefix>', 'only locks whose name starts with this', '')
    .option('--limit <n>', 'one page of at most n locks (1-100000), and the name to continue after')
    .option('--after <name>', "only locks whose name sorts after this one (the previous page's nextAfter)", '')
    .option(
      '--json',
      'print JSON: [{"name","mode","holders":[{"session","client","user","token","fenced","grantedAt"}],"waiters"}]; ' +
        'with --limit, {"locks":[...],"nextAfter"} (null on the last page)',
    )
    .action((flags: { endpoints: string; prefix: string; limit?: string; after: string; json?: boolean }) =>
      runAdmin(flags, async (admin) => {
        const options = { prefix: flags.prefix, after: flags.after };
        if (flags.limit !== undefined) {
          const page = await admin.listLockPage({ ...options, limit: pageLimit(flags.limit) });
          if (flags.json) process.stdout.write(`${toJson(lockPageJson(page))}\n`);
          else {
            const more = page.nextAfter === null ? '' : `\nmore after ${page.nextAfter}: --after '${page.nextAfter}'`;
            process.stdout.write(`${formatLocks(page.locks)}${more}\n`);
          }
          return;
        }
        // Every lock, a page per call: no answer depends on the size of the cluster's lock table.
        const pages = admin.lockPages({ ...options, limit: DEFAULT_LOCK_PAGE });
        if (flags.json) {
          await writeLocksJsonArray(pages, process.stdout);
          return;
        }
        const locks: LockInfo[] = [];
        for await (const page of pages) locks.push(...page.locks);
        process.stdout.write(`${formatLocks(locks)}\n`);
      }),
    );
}
