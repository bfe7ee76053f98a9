// `forelock config check FILE` and `forelock config schema`: the serve config file's checks and JSON Schema.
import type { Command } from 'commander';
import { resolveServerConfig, serveConfigJsonSchema } from '../../server/config.js';
import { ConfigError } from '../../server/errors.js';
import { readConfigFileLayer } from './serve-config.js';

/** Exit status of a config file that fails its check (as `forelock serve` exits on bad configuration). */
const EXIT_INVALID_CONFIG = 2;

/** Registers `forelock config`. */
export function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description('check a `forelock serve --config` file, or print its JSON Schema');
  config
    .command('check <file>')
    .description('validate a serve config file as `forelock serve --config` would (flags and environment aside)')
    .option('--json', 'print the resolved configuration as JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      try {
        const resolved = resolveServerConfig(await readConfigFileLayer(file));
        process.stdout.write(flags.json === true ? `${JSON.stringify(resolved, null, 2)}\n` : `${file}: ok\n`);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`forelock config check: ${error.message}\n`);
        process.exitCode = EXIT_INVALID_CONFIG;
      }
    });
  config
    .command('schema')
    .description('print the JSON Schema of the serve config file (for editors and CI checks)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(serveConfigJsonSchema(), null, 2)}\n`);
    });
}
