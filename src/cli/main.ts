#!/usr/bin/env node
// The `forelock` command: one subcommand per module in ./commands, registered here.
import { Command } from 'commander';
import { forelockVersion } from '../util/version.js';
import { registerAuthCommands } from './commands/auth.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerCertsCommand } from './commands/certs.js';
import { registerClusterCommand } from './commands/cluster.js';
import { registerConfigCommand } from './commands/config.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerLeaderCommand } from './commands/leader.js';
import { registerLockCommand } from './commands/lock.js';
import { registerLocksCommand } from './commands/locks.js';
import { registerMembersCommand } from './commands/members.js';
import { registerRevokeCommand } from './commands/revoke.js';
import { registerRoleCommand } from './commands/role.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSnapshotCommand } from './commands/snapshot.js';
import { registerStatusCommand } from './commands/status.js';
import { registerUserCommand } from './commands/user.js';
import { dropIpServerNameNotice } from './ip-server-name-notice.js';

dropIpServerNameNotice();

const program = new Command('forelock')
  .description('Forelock: a distributed lock manager with fencing tokens and staleness prediction')
  .version(forelockVersion(), '-V, --version', 'print the version and exit')
  .showHelpAfterError()
  // Options belong to the command they follow: `members add ... --endpoints X` is the subcommand's flag, not its parent's.
  .enablePositionalOptions();

// Each command module exports register<Name>Command(program); add one line here per module.
registerServeCommand(program);
registerConfigCommand(program);
registerClusterCommand(program);
registerLockCommand(program);
registerStatusCommand(program);
registerLocksCommand(program);
registerRevokeCommand(program);
registerMembersCommand(program);
registerSnapshotCommand(program);
registerLeaderCommand(program);
registerBenchCommand(program);
registerDemoCommand(program);
registerEvalCommand(program);
registerCertsCommand(program);
registerAuthCommands(program);
registerUserCommand(program);
registerRoleCommand(program);

await program.parseAsync(process.argv);
