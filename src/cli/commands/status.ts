// `forelock status [--json]`: the cluster's leader, term, commit index and members, as the leader sees them.
import type { Command } from 'commander';
import type { AdminClient, ClusterStatus } from '../../client/admin.js';
import { formatTable, runAdmin, toJson, withEndpoints } from '../client-options.js';

/** The --json shape of `forelock status` (also served at /v1/status). */
export function statusJson(status: ClusterStatus): {
  leader: string;
  term: number;
  commitIndex: number;
  members: { id: string; address: string; role: string }[];
} {
  return {
    leader: status.leader,
    term: Number(status.term),
    commitIndex: Number(status.commitIndex),
    members: status.members.map((m) => ({ id: m.id, address: m.address, role: m.role })),
  };
}

/** The human-readable status: a summary line and a member table. */
export function formatStatus(status: ClusterStatus): string {
  const leader = status.leader === '' ? 'none known' : `${status.leader} (${status.leaderAddress})`;
  return [
    `leader ${leader}, term ${status.term}, commit index ${status.commitIndex}, ${status.sessions} sessions, ${status.locks} locks`,
    formatTable(
      ['ID', 'ADDRESS', 'ROLE'],
      status.members.map((m) => [m.id, m.address, m.role]),
    ),
  ].join('\n');
}

/** The flags of commands that print a status. */
export type StatusFlags = { endpoints: string; json?: boolean };

/** Runs an admin call that returns a status (a listing or a membership change) and prints it. */
export function printStatusAfter(
  flags: StatusFlags,
  call: (admin: AdminClient) => Promise<ClusterStatus>,
): Promise<void> {
  return runAdmin(flags.endpoints, async (admin) => {
    const status = await call(admin);
    process.stdout.write(`${flags.json ? toJson(statusJson(status)) : formatStatus(status)}\n`);
  });
}

/** Registers `forelock status`. */
export function registerStatusCommand(program: Command): void {
  withEndpoints(program.command('status'))
    .description("show the cluster's leader, term, commit index and members")
    .option('--json', 'print JSON: {"leader","term","commitIndex","members":[{"id","address","role"}]}')
    .action((flags: StatusFlags) => printStatusAfter(flags, (admin) => admin.status()));
}
