// Server configuration: address and peer parsing, --config keys, flag precedence, defaults and clear errors.
import { describe, expect, it } from 'vitest';
import {
  checkConfigFile,
  formatHostPort,
  parseHostPort,
  parsePeers,
  resolveServerConfig,
} from '../../src/server/config.js';
import { ConfigError } from '../../src/server/errors.js';
import { clusterLayout, peersFlag } from '../../src/server/local-cluster.js';
import { defaultSpmConfig } from '../../src/spm/config.js';

describe('addresses', () => {
  it.each([
    ['127.0.0.1:7400', { host: '127.0.0.1', port: 7400 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:7401', { host: '::1', port: 7401 }],
    ['node-1.example:65535', { host: 'node-1.example', port: 65535 }],
  ])('parses %s', (text, expected) => {
    expect(parseHostPort(text, '--listen')).toEqual(expected);
    expect(formatHostPort(expected)).toBe(text);
  });

  it.each(['nowhere', '127.0.0.1', ':7400', '127.0.0.1:65536', '127.0.0.1:port', 'a b:1'])('refuses %s', (text) => {
    expect(() => parseHostPort(text, '--listen')).toThrow(
      new ConfigError(`--listen must be host:port (e.g. 127.0.0.1:7400), got "${text}"`),
    );
  });
});

describe('--peers', () => {
  it('parses id=host:port pairs', () => {
    expect(parsePeers('node1=127.0.0.1:7400, node2=127.0.0.1:7401')).toEqual({
      node1: '127.0.0.1:7400',
      node2: '127.0.0.1:7401',
    });
  });

  it.each([
    ['node1', '--peers entries must be id=host:port, got "node1"'],
    ['node1=127.0.0.1:7400,node1=127.0.0.1:7401', '--peers names node1 twice'],
    ['bad id=127.0.0.1:7400', 'a node id must be'],
    ['node1=nowhere', '--peers address of node1 must be host:port'],
  ])('refuses %s', (text, message) => {
    expect(() => parsePeers(text)).toThrow(message);
  });
});

describe('resolveServerConfig', () => {
  it('applies the defaults of `forelock serve`', () => {
    expect(resolveServerConfig({}, {})).toMatchObject({
      id: 'node1',
      listen: { host: '127.0.0.1', port: 7400 },
      http: { host: '127.0.0.1', port: 7480 },
      dataDir: './.forelock/node1',
      peers: {},
      join: false,
      logLevel: 'info',
      testFaultInjection: false,
      maxMessageBytes: 65536,
      preemption: 'on',
    });
  });

  it('lets flags win over the --config file, and ignores flags that were not given', () => {
    const config = resolveServerConfig(
      { id: 'file', listen: '127.0.0.1:1', logLevel: 'warn', peers: { file: '127.0.0.1:1', other: '127.0.0.1:2' } },
      { id: 'file', listen: '127.0.0.1:9', logLevel: undefined },
    );
    expect(config).toMatchObject({ id: 'file', listen: { port: 9 }, logLevel: 'warn', dataDir: './.forelock/file' });
    expect(config.peers).toEqual({ file: '127.0.0.1:1', other: '127.0.0.1:2' });
  });

  it('requires --peers to include this node unless it joins', () => {
    expect(() => resolveServerConfig({}, { id: 'node3', peers: 'node1=127.0.0.1:1' })).toThrow(
      '--peers must include this node (node3)',
    );
    expect(resolveServerConfig({}, { id: 'node3', peers: 'node1=127.0.0.1:1', join: true }).join).toBe(true);
  });

  it('refuses an unknown log level, pre-emption mode and a too small message limit', () => {
    expect(() => resolveServerConfig({}, { logLevel: 'loud' })).toThrow('--log-level must be one of');
    expect(() => resolveServerConfig({}, { preemption: 'maybe' })).toThrow(
      '--preemption must be one of on, warn-only, off, got "maybe"',
    );
    expect(resolveServerConfig({ preemption: 'warn-only' }, {}).preemption).toBe('warn-only');
    expect(() => resolveServerConfig({ maxMessageBytes: 10 }, {})).toThrow(
      'maxMessageBytes must be an integer >= 1024',
    );
  });

  it('takes SPM settings and ladder timings from the --config file, the defaults otherwise', () => {
    const defaults = resolveServerConfig({}, {});
    expect(defaults.spm).toEqual(defaultSpmConfig);
    expect(defaults.ladder).toMatchObject({ ackTimeoutMs: 2_000, graceMs: 3_000 });
    expect(defaults.ladder).not.toHaveProperty('mode');
    const tuned = resolveServerConfig(
      { spm: { warningThreshold: 0.8, model: 'arima', arimaOrder: { p: 2, d: 1, q: 1 } }, ladder: { graceMs: 5_000 } },
      {},
    );
    expect(tuned.spm).toMatchObject({ warningThreshold: 0.8, model: 'arima', arimaOrder: { p: 2, d: 1, q: 1 } });
    expect(tuned.spm.gMinMs).toBe(defaultSpmConfig.gMinMs);
    expect(tuned.ladder).toMatchObject({ graceMs: 5_000, ackTimeoutMs: 2_000 });
  });

  it.each([
    [{ spm: 0.7 }, 'spm must be a JSON object of settings, got 0.7'],
    [{ spm: { warningThreshhold: 0.8 } }, 'spm: unknown setting "warningThreshhold" (known: model, ttlMs,'],
    [{ spm: { warningThreshold: '0.8' } }, 'spm.warningThreshold must be a number >= 0, got "0.8"'],
    [{ spm: { gMinMs: -1 } }, 'spm.gMinMs must be a number >= 0, got -1'],
    [{ spm: { model: 'lstm' } }, 'spm.model must be one of ewma, arima, sma, got "lstm"'],
    [{ spm: { arimaOrder: { p: 1, d: 1 } } }, 'spm.arimaOrder must be { "p", "d", "q" } integers >= 0'],
    [{ spm: { warningThreshold: 0.95 } }, 'spm: warning threshold 0.95 must lie within [0.6, 0.9]'],
    [{ spm: { preemptionScoreThreshold: 120 } }, 'spm: preemptionScoreThreshold must be in (0, 100], got 120'],
    [{ ladder: { mode: 'off' } }, 'ladder: unknown setting "mode" (known: ackTimeoutMs, graceMs,'],
    [{ ladder: { graceMs: 0 } }, 'ladder: ackTimeoutMs and graceMs must be > 0, got 2000 and 0'],
    [{ ladder: { missedKeepaliveFactor: 2 } }, 'ladder: missedKeepaliveFactor must be in (0, 1], got 2'],
  ])('refuses bad settings %j with a clear error', (file, message) => {
    expect(() => resolveServerConfig(file as never, {})).toThrow(ConfigError);
    expect(() => resolveServerConfig(file as never, {})).toThrow(message);
  });

  it('refuses unknown keys and non-objects in a --config file', () => {
    expect(() => checkConfigFile({ lisen: 'x' }, 'node.json')).toThrow('node.json: unknown key "lisen"');
    expect(() => checkConfigFile([1], 'node.json')).toThrow('node.json must hold a JSON object');
  });
});

describe('forelock cluster layout', () => {
  it('numbers nodes from the base port, HTTP 80 above', () => {
    const nodes = clusterLayout(3, 7400);
    expect(nodes).toEqual([
      { id: 'node1', listen: '127.0.0.1:7400', http: '127.0.0.1:7480' },
      { id: 'node2', listen: '127.0.0.1:7401', http: '127.0.0.1:7481' },
      { id: 'node3', listen: '127.0.0.1:7402', http: '127.0.0.1:7482' },
    ]);
    expect(peersFlag(nodes)).toBe('node1=127.0.0.1:7400,node2=127.0.0.1:7401,node3=127.0.0.1:7402');
  });

  it('accepts 3 or 5 nodes and ports that fit', () => {
    expect(clusterLayout(5, 7400)).toHaveLength(5);
    expect(() => clusterLayout(4, 7400)).toThrow('--nodes must be 3 or 5, got 4');
    expect(() => clusterLayout(3, 65500)).toThrow('--base-port must be an integer from 1024 to 65453');
  });
});
