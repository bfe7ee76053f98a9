// `forelock status [--json]`: the cluster's leader, term, commit index and members, as the leader sees them.
import type { Command } from 'commander';
import type { AdminClient, ClusterStatus } from '../../client/admin.js';
import type { StatusJson } from '../../server/wire.js';
import { formatTable, runAdmin, toJson, withEndpoints } from '../client-options.js';

/** The --json shape of `forelock status`, the same as GET /v1/status (with no leader known, `leader` is null). */
export function statusJson(status: ClusterStatus): StatusJson {
  return {
    id: status.id,
    leader: status.leader === '' ? null : status.leader,
    term: Number(status.term),
    commitIndex: Number(status.commitIndex),
    appliedIndex: Number(status.appliedIndex),
    members: status.members.map((m) => ({
      id: m.id,
      address: m.address,
      role: m.role,
      reachable: m.replication?.reachable ?? null,
      matchIndex: m.replication === null ? null : Number(m.replication.matchIndex),
      lagEntries: m.replication === null ? null : Number(m.replication.lagEntries),
    })),
  };
}

/** A member's role for people: a member the leader cannot reach is not shown as a plain follower. */
function roleText(member: ClusterStatus['members'][number]): string {
  return member.replication?.reachable === false ? `${member.role} (unreachable)` : member.role;
}

/** The human-readable status: a summary line and a member table (replication columns from the leader's view). */
export function formatStatus(status: ClusterStatus): string {
  const leader = status.leader === '' ? 'none known' : `${status.leader} (${status.leaderAddress})`;
  const unknown = '-';
  return [
    `leader ${leader}, term ${status.term}, commit index ${status.commitIndex}, ${status.sessions} sessions, ${status.locks} locks`,
    `answered by ${status.id}, applied index ${status.appliedIndex}`,
    formatTable(
      ['ID', 'ADDRESS', 'ROLE', 'MATCH', 'LAG'],
      status.members.map((m) => [
        m.id,
        m.address,
        roleText(m),
        m.replication === null ? unknown : String(m.replication.matchIndex),
        m.replication === null ? unknown : String(m.replication.lagEntries),
      ]),
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
  return runAdmin(flags, async (admin) => {
    const status = await call(admin);
    process.stdout.write(`${flags.json ? toJson(statusJson(status)) : formatStatus(status)}\n`);
  });
}

/** Registers `forelock status`. */
export function registerStatusCommand(program: Command): void {
  withEndpoints(program.command('status'))
    .description("show the cluster's leader, term, commit index and members")
    .option(
      '--json',
      'print JSON: {"id","leader","term","commitIndex","appliedIndex","members":[{"id","address","role","reachable","matchIndex","lagEntries"}]}',
    )
    .action((flags: StatusFlags) => printStatusAfter(flags, (admin) => admin.status()));
}
