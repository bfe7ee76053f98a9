// Reading `forelock serve`'s configuration from its three sources: the --config file, FORELOCK_SERVE_* and flags.
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import {
  type ConfigLayer,
  configFileLayer,
  environmentLayer,
  flagsLayer,
  kebabCase,
  resolveServerConfig,
  SERVE_CONFIG_ENV,
  type ServerConfig,
  serveEnvName,
  serveFlagSettings,
} from '../../server/config.js';
import { ConfigError } from '../../server/errors.js';

/** Reads and parses a --config JSON file; the errors name the file. */
export async function readConfigFileLayer(path: string): Promise<ConfigLayer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  return configFileLayer(raw, path);
}

/** Adds one option per setting in the schema's serveFlagRegistry, each naming its FORELOCK_SERVE_* variable. */
export function addServeSettingOptions(command: Command): Command {
  for (const { name, description, info } of serveFlagSettings()) {
    const flag = `--${kebabCase(name)}${info.placeholder === undefined ? '' : ` <${info.placeholder}>`}`;
    const option = new Option(flag, `${description} [env ${serveEnvName(name)}]`);
    command.addOption(info.hidden === true ? option.hideHelp() : option);
  }
  return command.option(
    '--config <file>',
    `JSON file with the same settings (forelock config schema prints its JSON Schema); the environment and flags win [env ${SERVE_CONFIG_ENV}]`,
  );
}

/**
 * The configuration of one `forelock serve`: the --config file (or FORELOCK_SERVE_CONFIG), then the environment,
 * then the flags, each winning over the one before.
 */
export async function loadServeConfig(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ServerConfig> {
  const configPath = typeof flags.config === 'string' ? flags.config : env[SERVE_CONFIG_ENV] || undefined;
  const layers: ConfigLayer[] = [];
  if (configPath !== undefined) layers.push(await readConfigFileLayer(configPath));
  layers.push(environmentLayer(env), flagsLayer(flags));
  return resolveServerConfig(...layers);
}
