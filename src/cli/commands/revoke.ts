// `forelock revoke NAME [--session ID] [--force] [--reason TEXT]`: an operator's revocation (docs/design.md,
// principle 2), printing when each one takes effect.
import type { Command } from 'commander';
import type { RevokedHolderInfo } from '../../client/admin.js';
import { runAdmin, withEndpoints } from '../client-options.js';
import { formatDurationMs } from '../duration.js';

/** One line per revoked holder saying when its revocation takes effect (relative to `nowMs`). */
export function formatRevocations(name: string, revoked: readonly RevokedHolderInfo[], nowMs: number): string {
  if (revoked.length === 0) return `lock "${name}" had no holder to revoke`;
  return revoked
    .map((r) => {
      const when = r.immediate
        ? 'revoked now'
        : `revoked at ${new Date(r.revokeAtMs).toISOString()} (in ${formatDurationMs(Math.max(0, r.revokeAtMs - nowMs))}), when the promise already given to its session ends`;
      return `"${name}" token ${r.token} of session ${r.session}: ${when}`;
    })
    .join('\n');
}

/** The warning printed with --force. */
export const FORCE_WARNING =
  'warning: --force revokes at once, before the promise given to the holder ends; only resources that check fencing tokens are safe from the old holder now';

/** Registers `forelock revoke`. */
export function registerRevokeCommand(program: Command): void {
  withEndpoints(program.command('revoke'))
    .description('revoke a lock: at once if fenced, else when the promise already given to its holder ends')
    .argument('<name>', 'the lock')
    .option('--session <id>', 'revoke only this holder of a shared lock')
    .option(
      '--force',
      'revoke at once even if the holder was promised more time (only token-checking resources stay safe)',
    )
    .option('--reason <text>', 'why (sent to the holder)', '')
    .action((name: string, flags: { endpoints: string; session?: string; force?: boolean; reason: string }) =>
      runAdmin(flags, async (admin) => {
        const revoked = await admin.revoke(name, {
          session: flags.session,
          force: flags.force ?? false,
          reason: flags.reason,
        });
        if (flags.force) process.stderr.write(`${FORCE_WARNING}\n`);
        process.stdout.write(`${formatRevocations(name, revoked, Date.now())}\n`);
      }),
    );
}
