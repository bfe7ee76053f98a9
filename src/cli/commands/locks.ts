// `forelock locks [--json]`: every lock with its holders (session, client, token, fenced, grant time) and queue.
import type { Command } from 'commander';
import type { LockInfo } from '../../client/admin.js';
import { formatTable, runAdmin, toJson, withEndpoints } from '../client-options.js';

/** The --json shape of `forelock locks` (also served at /v1/locks): tokens as decimal strings, grantedAt epoch ms. */
export function locksJson(locks: readonly LockInfo[]): {
  name: string;
  mode: string;
  holders: { session: string; client: string; token: string; fenced: boolean; grantedAt: number }[];
  waiters: number;
}[] {
  return locks.map((lock) => ({
    name: lock.name,
    mode: lock.mode,
    holders: lock.holders.map((h) => ({
      session: h.session,
      client: h.client,
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
      h ? (h.fenced ? 'yes' : 'no') : '-',
      h ? new Date(h.grantedAtMs).toISOString() : '-',
      String(lock.waiters),
    ]);
  });
  return formatTable(['NAME', 'MODE', 'TOKEN', 'HOLDER', 'FENCED', 'GRANTED', 'WAITERS'], rows);
}

/** Registers `forelock locks`. */
export function registerLocksCommand(program: Command): void {
  withEndpoints(program.command('locks'))
    .description('list locks, their holders and queue lengths')
    .option('--prefix <prefix>', 'only locks whose name starts with this', '')
    .option(
      '--json',
      'print JSON: [{"name","mode","holders":[{"session","client","token","fenced","grantedAt"}],"waiters"}]',
    )
    .action((flags: { endpoints: string; prefix: string; json?: boolean }) =>
      runAdmin(flags, async (admin) => {
        const locks = await admin.listLocks(flags.prefix);
        process.stdout.write(`${flags.json ? toJson(locksJson(locks)) : formatLocks(locks)}\n`);
      }),
    );
}
