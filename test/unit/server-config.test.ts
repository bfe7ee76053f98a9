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
