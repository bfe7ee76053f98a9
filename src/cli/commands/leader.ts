// `forelock leader transfer ID`: hand the Raft leadership to another voter.
import type { Command } from 'commander';
import { withEndpoints } from '../client-options.js';
import { printStatusAfter, type StatusFlags } from './status.js';

/** Registers `forelock leader transfer`. */
export function registerLeaderCommand(program: Command): void {
  const leader = program.command('leader').description('leadership operations');
  withEndpoints(leader.command('transfer'))
    .description('transfer the leadership to member ID')
    .argument('<id>', 'the voter to lead')
    .option('--json', 'print the resulting status as JSON')
    .action((id: string, flags: StatusFlags) => printStatusAfter(flags, (admin) => admin.transferLeadership(id)));
}
