// `forelock demo --serve-config FILE`: the `forelock serve` config file the demo gives every embedded node, checked
// before any node starts so that a bad file is refused with its own error instead of three failed processes.
import { resolve } from 'node:path';
import { resolveServerConfig, type ServeSettingName } from '../../server/config.js';
import { ConfigError } from '../../server/errors.js';
import { readConfigFileLayer } from './serve-config.js';

/**
 * Settings the demo gives each node itself: its id, addresses, data folder and peers, quiet logs, pre-emption on;
 * and plaintext, which its clients speak (so no TLS files). A file that sets one of them is refused rather than
 * silently overridden.
 */
export const DEMO_NODE_SETTINGS: readonly ServeSettingName[] = [
  'id',
  'listen',
  'http',
  'data',
  'peers',
  'join',
  'forceNewCluster',
  'logLevel',
  'preemption',
  'tlsCert',
  'tlsKey',
  'tlsCa',
];

/**
 * Reads and checks a `forelock serve` config file for the demo's nodes (the same keys as `serve --config`, but none
 * of DEMO_NODE_SETTINGS); returns its absolute path for the nodes' `--config`. Throws ConfigError naming the file.
 */
export async function checkDemoServeConfig(path: string): Promise<string> {
  const layer = await readConfigFileLayer(path);
  // Every setting checked as `serve` checks it, e.g. an SPM threshold out of range (an error that does not name the
  // file yet, such as that one, is given its name).
  try {
    resolveServerConfig(layer);
  } catch (error) {
    if (error instanceof ConfigError && !error.message.includes(path))
      throw new ConfigError(`${path}: ${error.message}`);
    throw error;
  }
  const demoOwned = DEMO_NODE_SETTINGS.filter((setting) => layer.values[setting] !== undefined);
  if (demoOwned.length > 0) {
    throw new ConfigError(
      `${path}: ${demoOwned.map((setting) => `"${setting}"`).join(', ')} cannot be set for the demo's nodes (the demo sets ${DEMO_NODE_SETTINGS.join(', ')} itself); keep the other settings, such as spm and ladder`,
    );
  }
  return resolve(path);
}
