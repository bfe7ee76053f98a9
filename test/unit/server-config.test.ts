// Server configuration: one schema for the --config file, FORELOCK_SERVE_* variables and flags; precedence,
// defaults, durations with units, the generated JSON Schema and clear errors.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  configFileLayer,
  environmentLayer,
  flagsLayer,
  formatHostPort,
  parseHostPort,
  parsePeers,
  resolveServerConfig,
  SERVE_CONFIG_ENV,
  serveConfigJsonSchema,
  serveEnvName,
  serveFlagSettings,
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
    ['bad id=127.0.0.1:7400', '--peers: a node id must be'],
    ['node1=nowhere', '--peers address of node1 must be host:port'],
  ])('refuses %s', (text, message) => {
    expect(() => parsePeers(text)).toThrow(message);
  });
});

const file = (values: Record<string, unknown>) => configFileLayer(values, 'node.json');
const resolveFile = (values: Record<string, unknown>) => resolveServerConfig(file(values));

describe('resolveServerConfig', () => {
  it('applies the defaults of `forelock serve`', () => {
    expect(resolveServerConfig()).toMatchObject({
      id: 'node1',
      listen: { host: '127.0.0.1', port: 7400 },
      http: { host: '127.0.0.1', port: 7480 },
      dataDir: './.forelock/node1',
      peers: {},
      join: false,
      logLevel: 'info',
      testFaultInjection: false,
      maxMessageBytes: 65536,
      lockDelayMs: 0,
      preemption: 'on',
      recordTrace: null,
    });
  });

  it('lets flags win over the environment, and the environment over the --config file', () => {
    const config = resolveServerConfig(
      file({ id: 'file', listen: '127.0.0.1:1', logLevel: 'warn', peers: { file: '127.0.0.1:1', other: 'b.dns:2' } }),
      environmentLayer({ FORELOCK_SERVE_LISTEN: '127.0.0.1:5', FORELOCK_SERVE_LOG_LEVEL: 'error', HOME: '/root' }),
      flagsLayer({ id: 'file', listen: '127.0.0.1:9', logLevel: undefined }),
    );
    expect(config).toMatchObject({ id: 'file', listen: { port: 9 }, logLevel: 'error', dataDir: './.forelock/file' });
    expect(config.peers).toEqual({ file: '127.0.0.1:1', other: 'b.dns:2' });
  });

  it('requires --peers to include this node unless it joins', () => {
    expect(() => resolveServerConfig(flagsLayer({ id: 'node3', peers: 'node1=127.0.0.1:1' }))).toThrow(
      '--peers must include this node (node3)',
    );
    expect(resolveServerConfig(flagsLayer({ id: 'node3', peers: 'node1=127.0.0.1:1', join: true })).join).toBe(true);
    expect(() => resolveServerConfig(flagsLayer({ id: 'node3', join: true }))).toThrow(
      /--join needs --peers naming the current members/,
    );
  });

  it.each([
    [{ logLevel: 'loud' }, '--log-level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
    [{ preemption: 'maybe' }, '--preemption must be one of on, warn-only, off, got "maybe"'],
    [{ maxMessageBytes: '10' }, '--max-message-bytes must be an integer >= 1024'],
    [{ maxMessageBytes: 'lots' }, '--max-message-bytes must be a number, got "lots"'],
    [{ listen: 'nowhere' }, '--listen must be host:port (e.g. 127.0.0.1:7400), got "nowhere"'],
    [{ id: 'bad id' }, "--id must be 1-64 letters, digits, '.', '_' or '-'"],
    [{ lockDelayMs: '10 seconds' }, '--lock-delay-ms must be a number with a unit'],
    [{ recordTrace: '' }, '--record-trace must name a file'],
  ])('refuses the flags %j, naming the flag', (flags, message) => {
    expect(() => resolveServerConfig(flagsLayer(flags))).toThrow(ConfigError);
    expect(() => resolveServerConfig(flagsLayer(flags))).toThrow(message);
  });

  it('reads every flag from its FORELOCK_SERVE_ variable, switches as true/false', () => {
    const config = resolveServerConfig(
      environmentLayer({
        FORELOCK_SERVE_ID: 'n2',
        FORELOCK_SERVE_PEERS: 'n1=forelock-0.forelock:7400,n2=forelock-1.forelock:7400',
        FORELOCK_SERVE_JOIN: 'false',
        FORELOCK_SERVE_MAX_WAITERS_PER_LOCK: '12',
        FORELOCK_SERVE_LOCK_DELAY_MS: '1.5s',
        FORELOCK_SERVE_TEST_FAULT_INJECTION: '1',
        FORELOCK_SERVE_DATA: '',
      }),
    );
    expect(config).toMatchObject({
      id: 'n2',
      join: false,
      maxWaitersPerLock: 12,
      lockDelayMs: 1500,
      testFaultInjection: true,
      dataDir: './.forelock/n2',
      peers: { n1: 'forelock-0.forelock:7400', n2: 'forelock-1.forelock:7400' },
    });
    for (const { name } of serveFlagSettings()) expect(serveEnvName(name)).toMatch(/^FORELOCK_SERVE_[A-Z_]+$/);
    expect(serveFlagSettings().map(({ name }) => serveEnvName(name))).toContain(
      'FORELOCK_SERVE_RECORD_TRACE_MAX_BYTES',
    );
  });

  it('refuses an unknown FORELOCK_SERVE_ variable and a switch that is not true or false', () => {
    expect(() => environmentLayer({ FORELOCK_SERVE_LISTN: '127.0.0.1:1' })).toThrow(
      'unknown environment variable FORELOCK_SERVE_LISTN (known: FORELOCK_SERVE_ID,',
    );
    expect(() => environmentLayer({ FORELOCK_SERVE_JOIN: 'maybe' })).toThrow(
      'FORELOCK_SERVE_JOIN must be true or false, got "maybe"',
    );
    expect(() => resolveServerConfig(environmentLayer({ FORELOCK_SERVE_LISTEN: 'x' }))).toThrow(
      'FORELOCK_SERVE_LISTEN must be host:port',
    );
  });

  it('takes SPM settings and ladder timings from the --config file, durations with units', () => {
    const defaults = resolveServerConfig();
    expect(defaults.spm).toEqual(defaultSpmConfig);
    expect(defaults.ladder).toMatchObject({ ackTimeoutMs: 2_000, graceMs: 3_000 });
    expect(defaults.ladder).not.toHaveProperty('mode');
    const tuned = resolveFile({
      lockDelayMs: '10s',
      spm: { warningThreshold: 0.8, model: 'arima', arimaOrder: { p: 2, d: 1, q: 1 }, gMinMs: '2.5s' },
      ladder: { graceMs: '1m30s', ackTimeoutMs: 1_500 },
    });
    expect(tuned.lockDelayMs).toBe(10_000);
    expect(tuned.spm).toMatchObject({ warningThreshold: 0.8, model: 'arima', arimaOrder: { p: 2, d: 1, q: 1 } });
    expect(tuned.spm.gMinMs).toBe(2_500);
    expect(tuned.spm.ttlMs).toBe(defaultSpmConfig.ttlMs);
    expect(tuned.ladder).toMatchObject({ graceMs: 90_000, ackTimeoutMs: 1_500 });
  });

  it.each([
    [{ spm: 0.7 }, 'node.json: spm must be an object, got 0.7'],
    [{ spm: { warningThreshhold: 0.8 } }, 'node.json: spm: unknown setting "warningThreshhold" (known: model, ttlMs,'],
    [{ spm: { warningThreshold: '0.8' } }, 'node.json: spm.warningThreshold must be a number, got "0.8"'],
    [{ spm: { gMinMs: -1 } }, 'node.json: spm.gMinMs'],
    [{ spm: { gMinMs: '3 seconds' } }, 'node.json: spm.gMinMs must be a number with a unit'],
    [{ spm: { model: 'lstm' } }, 'node.json: spm.model must be one of ewma, arima, sma, got "lstm"'],
    [{ spm: { arimaOrder: { p: 1, d: 1 } } }, 'node.json: spm.arimaOrder.q must be a number'],
    [{ spm: { warningThreshold: 0.95 } }, 'spm: warning threshold 0.95 must lie within [0.6, 0.9]'],
    [{ spm: { preemptionScoreThreshold: 120 } }, 'spm: preemptionScoreThreshold must be in (0, 100], got 120'],
    [{ ladder: { mode: 'off' } }, 'node.json: ladder: unknown setting "mode" (known: ackTimeoutMs, graceMs,'],
    [{ ladder: { graceMs: 0 } }, 'ladder: ackTimeoutMs and graceMs must be > 0, got 2000 and 0'],
    [{ ladder: { missedKeepaliveFactor: 2 } }, 'ladder: missedKeepaliveFactor must be in (0, 1], got 2'],
    [{ lisen: 'x' }, 'node.json: unknown setting "lisen" (known: id, listen, http,'],
    [{ listen: 7400 }, 'node.json: listen must be a string, got 7400'],
    [{ maxMessageBytes: 10 }, 'node.json: maxMessageBytes must be an integer >= 1024'],
    [{ peers: { n1: 'nowhere' } }, 'node.json: peers: --peers address of n1 must be host:port'],
  ])('refuses a --config file with %j, naming the setting', (values, message) => {
    expect(() => resolveFile(values)).toThrow(ConfigError);
    expect(() => resolveFile(values)).toThrow(message);
  });

  it('names every problem of a file at once', () => {
    expect(() => resolveFile({ listen: 'x', logLevel: 'loud' })).toThrow(
      /node\.json: listen must be host:port.*; node\.json: logLevel must be one of/,
    );
  });

  it('refuses a --config file that is not a JSON object', () => {
    expect(() => configFileLayer([1], 'node.json')).toThrow('node.json must hold a JSON object');
  });
});

describe('the JSON Schema of the config file', () => {
  it('comes from the same schema: every setting, durations as ms or strings, unknown keys refused', () => {
    const schema = serveConfigJsonSchema() as {
      properties: Record<string, { anyOf?: { type: string }[]; description?: string }>;
      additionalProperties: boolean;
    };
    expect(schema.additionalProperties).toBe(false);
    for (const { name } of serveFlagSettings()) expect(schema.properties).toHaveProperty(name);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['spm', 'ladder']));
    expect(schema.properties.lockDelayMs?.anyOf?.map((option) => option.type)).toEqual(['number', 'string']);
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

describe('the README', () => {
  it('lists every FORELOCK_SERVE_ variable', async () => {
    const readme = await readFile('README.md', 'utf8');
    const names = [...serveFlagSettings().map(({ name }) => serveEnvName(name)), SERVE_CONFIG_ENV];
    expect(names.filter((name) => !readme.includes(`| \`${name}\` |`))).toEqual([]);
  });
});
