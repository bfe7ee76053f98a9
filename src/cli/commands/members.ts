// `forelock members [add ID=ADDR [--voter] | promote ID | remove ID [--force]]`: list or change the cluster's
// membership, safely by default (etcd's strict reconfiguration: a new member starts as a learner).
import type { Command } from 'commander';
import { parseEndpoint } from '../../client/endpoints.js';
import { withEndpoints } from '../client-options.js';
import { printStatusAfter, type StatusFlags } from './status.js';

/** Splits "ID=host:port", checking both halves. */
export function parseMemberSpec(spec: string): { id: string; address: string } {
  const at = spec.indexOf('=');
  const id = at > 0 ? spec.slice(0, at) : '';
  const address = at > 0 ? spec.slice(at + 1) : '';
  if (id === '' || address === '') throw new RangeError(`a member is ID=host:port, got "${spec}"`);
  parseEndpoint(address);
  return { id, address };
}

type MemberFlags = StatusFlags;

/** Registers `forelock members` and its subcommands. */
export function registerMembersCommand(program: Command): void {
  const members = withEndpoints(program.command('members'))
    .description('list the cluster members, or change them (add, promote, remove)')
    // Its own flags only before a subcommand: after one, --endpoints and --json belong to the subcommand.
    .enablePositionalOptions()
    .option('--json', 'print the status as JSON')
    .action((flags: MemberFlags) => printStatusAfter(flags, (admin) => admin.status()));
  withEndpoints(members.command('add'))
    .description(
      'add a member by the address it serves clients and peers on: a non-voting learner, to promote once caught up',
    )
    .argument('<spec>', 'ID=host:port')
    .option('--learner', 'add as a non-voting learner (the default; kept as an alias)')
    .option('--voter', 'add as a voter at once (refused when the cluster would lose its quorum if it never started)')
    .option('--json', 'print the resulting status as JSON')
    .action((spec: string, flags: MemberFlags & { learner?: boolean; voter?: boolean }) =>
      printStatusAfter(flags, (admin) => {
        if (flags.learner && flags.voter) throw new RangeError('--learner and --voter exclude each other');
        const { id, address } = parseMemberSpec(spec);
        return admin.addMember(id, address, { voter: flags.voter ?? false });
      }),
    );
  withEndpoints(members.command('promote'))
    .description('promote a learner to voter (refused until it has caught up with the leader)')
    .argument('<id>', 'the member')
    .option('--json', 'print the resulting status as JSON')
    .action((id: string, flags: MemberFlags) => printStatusAfter(flags, (admin) => admin.promoteMember(id)));
  withEndpoints(members.command('remove'))
    .description('remove a member (refused when fewer than a quorum of the remaining voters are started)')
    .argument('<id>', 'the member')
    .option('--force', 'remove even so: the members that are not started are gone for good')
    .option('--json', 'print the resulting status as JSON')
    .action((id: string, flags: MemberFlags & { force?: boolean }) =>
      printStatusAfter(flags, (admin) => admin.removeMember(id, { force: flags.force ?? false })),
    );
}
