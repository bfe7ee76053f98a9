// forelock demo --serve-config: a serve config file for every embedded node, checked before any node starts; a bad
// file, or one that sets what the demo sets itself, is refused with an error that names the file and the setting.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDemoServeConfig, DEMO_NODE_SETTINGS } from '../../src/cli/commands/demo-serve-config.js';
import { ConfigError } from '../../src/server/errors.js';

describe('forelock demo --serve-config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'forelock-demo-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configFile(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  it('accepts SPM and ladder settings and returns the absolute path the nodes read', async () => {
    const path = await configFile(
      'good.json',
      JSON.stringify({ spm: { overloadCpu: 1_000, warningThreshold: 0.8 }, ladder: { graceMs: '5s' } }),
    );
    // Given relative to the working folder, as a user types it.
    await expect(checkDemoServeConfig(relative(process.cwd(), path))).resolves.toBe(path);
  });

  it.each([
    ['a missing file', 'missing.json', null, /cannot read config file .*missing\.json/],
    ['a file that is not JSON', 'bad-json.json', '{ "spm": ', /bad-json\.json is not valid JSON/],
    ['an array', 'array.json', '[]', /array\.json must hold a JSON object/],
    ['an unknown setting', 'unknown.json', '{ "spn": {} }', /unknown\.json: unknown setting "spn"/],
    [
      'an unknown SPM setting',
      'unknown-spm.json',
      '{ "spm": { "overloadCPU": 2 } }',
      /unknown-spm\.json: spm: unknown setting "overloadCPU"/,
    ],
    [
      'an SPM threshold out of range',
      'threshold.json',
      '{ "spm": { "warningThreshold": 0.95 } }',
      /threshold\.json: spm: warning threshold 0\.95/,
    ],
  ])('refuses %s, naming the file', async (_what, name, text, message) => {
    const path = text === null ? join(dir, name) : await configFile(name, text);
    const checking = checkDemoServeConfig(path);
    await expect(checking).rejects.toBeInstanceOf(ConfigError);
    await expect(checking).rejects.toThrow(message);
  });

  it.each([
    ['listen', '127.0.0.1:7400'],
    ['peers', 'node1=127.0.0.1:7400'],
    ['preemption', 'warn-only'],
    ['logLevel', 'debug'],
    ['data', '/var/lib/forelock'],
  ])('refuses a file that sets %s, which the demo sets itself', async (setting, value) => {
    expect(DEMO_NODE_SETTINGS).toContain(setting);
    const path = await configFile(`${setting}.json`, JSON.stringify({ [setting]: value, spm: { overloadCpu: 2 } }));
    await expect(checkDemoServeConfig(path)).rejects.toThrow(
      new RegExp(`${setting}\\.json: "${setting}" cannot be set for the demo's nodes`),
    );
  });
});
