// `forelock members [add ID=ADDR [--learner] | promote ID | remove ID]`: list or change the cluster's membership.
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
    .description('add a member by the address it serves clients and peers on')
    .argument('<spec>', 'ID=host:port')
    .option('--learner', 'add as a non-voting learner (promote it once caught up)')
    .option('--json', 'print the resulting status as JSON')
    .action((spec: string, flags: MemberFlags & { learner?: boolean }) =>
      printStatusAfter(flags, (admin) => {
        const { id, address } = parseMemberSpec(spec);
        return admin.addMember(id, address, { learner: flags.learner ?? false });
      }),
    );
  withEndpoints(members.command('promote'))
    .description('promote a learner to voter')
    .argument('<id>', 'the member')
    .option('--json', 'print the resulting status as JSON')
    .action((id: string, flags: MemberFlags) => printStatusAfter(flags, (admin) => admin.promoteMember(id)));
  withEndpoints(members.command('remove'))
    .description('remove a member')
    .argument('<id>', 'the member')
    .option('--json', 'print the resulting status as JSON')
    .action((id: string, flags: MemberFlags) => printStatusAfter(flags, (admin) => admin.removeMember(id)));
}
