#!/usr/bin/env node
// The `forelock` command: one subcommand per module in ./commands, registered here.
import { Command } from 'commander';
import { registerServeCommand } from './commands/serve.js';

const program = new Command('forelock')
  .description('Forelock: a distributed lock manager with fencing tokens and staleness prediction')
  .showHelpAfterError();

// Each command module exports register<Name>Command(program); add one line here per module.
registerServeCommand(program);

await program.parseAsync(process.argv);
