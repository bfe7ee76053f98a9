// The server's configuration: defaults, the --config JSON file, flag parsing and validation (pure, no I/O).
import { defaultLadderConfig, resolveLadderConfig } from '../rph/ladder.js';
import type { LadderConfig, PreemptionMode } from '../rph/types.js';
import { defaultSpmConfig, resolveSpmConfig } from '../spm/config.js';
import type { SpmConfig } from '../spm/types.js';
import { ConfigError } from './errors.js';

/** The pre-emption ladder's timings, which a --config file's `ladder` object may set (the mode is `preemption`). */
export type LadderTimings = Omit<LadderConfig, 'mode'>;

/** A network endpoint as `--listen`, `--http` and `--peers` write it. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Everything one `forelock serve` process needs, validated. */
export interface ServerConfig {
  /** This node's stable id in the cluster. */
  readonly id: string;
  /** The one gRPC address that serves clients and peers alike. */
  readonly listen: HostPort;
  /** The HTTP address of /healthz, /metrics, /v1/status and /v1/locks. */
  readonly http: HostPort;
  /** Where the Raft log, hard state and snapshots live. */
  readonly dataDir: string;
  /** The initial cluster (id -> address, this node included); empty for a single node that bootstraps itself. */
  readonly peers: Readonly<Record<string, string>>;
  /** True: start with no membership and wait to be added by the cluster's leader. */
  readonly join: boolean;
  /** pino level: trace, debug, info, warn, error, fatal, silent. */
  readonly logLevel: string;
  /** Test-only: peer transport fault hook and HTTP POST /test/faults. Never on by default. */
  readonly testFaultInjection: boolean;
  /** The largest client frame accepted, in bytes (bigger ones fail with RESOURCE_EXHAUSTED). */
  readonly maxMessageBytes: number;
  /** Most queued acquires per lock (TOO_MANY_WAITERS beyond). */
  readonly maxWaitersPerLock: number;
  /** Most open sessions per client name (TOO_MANY_SESSIONS beyond). */
  readonly maxSessionsPerClient: number;
  /** How long a lock stays ungranted after a forced revocation or an expiry, in ms (0: no delay). */
  readonly lockDelayMs: number;
  /** Applied entries between automatic Raft snapshots. */
  readonly snapshotEveryEntries: number;
  /** Staleness prediction and pre-emption: `on`, `warn-only` (warn, shorten guarantees), or `off` (TTL only). */
  readonly preemption: PreemptionMode;
  /** The SPM's settings: the defaults, with what the --config file's `spm` object sets (e.g. `warningThreshold`). */
  readonly spm: SpmConfig;
  /** The ladder's timings: the defaults, with what the --config file's `ladder` object sets (e.g. `graceMs`). */
  readonly ladder: LadderTimings;
  /** Where the leader records the SPM's inputs as an evaluation trace (docs/design.md); null: no recording. */
  readonly recordTrace: string | null;
  /** Size bound of the recorded trace file, in bytes: beyond it the file is rotated to `<file>.1`. */
  readonly recordTraceMaxBytes: number;
}

/** The keys a --config JSON file and the command-line flags may set (flags win). */
export type ServerConfigInput = Partial<{
  id: string;
  listen: string;
  http: string;
  data: string;
  peers: string | Record<string, string>;
  join: boolean;
  logLevel: string;
  testFaultInjection: boolean;
  maxMessageBytes: number;
  maxWaitersPerLock: number;
  maxSessionsPerClient: number;
  lockDelayMs: number;
  snapshotEveryEntries: number;
  preemption: string;
  /** SPM settings by name (src/spm/config.ts's defaultSpmConfig), e.g. `{ "warningThreshold": 0.8 }`. */
  spm: Record<string, unknown>;
  /** Ladder timings by name (src/rph/ladder.ts's defaultLadderConfig), e.g. `{ "graceMs": 5000 }`. */
  ladder: Record<string, unknown>;
  /** Records the leader's SPM inputs to this file as an evaluation trace (`forelock eval --trace`). */
  recordTrace: string;
  /** Size bound of the recorded trace, in bytes (rotated to `<file>.1` beyond it). */
  recordTraceMaxBytes: number;
}>;

/** Defaults of `forelock serve` (docs/design.md, "Defaults"). */
export const SERVER_DEFAULTS = {
  id: 'node1',
  listen: '127.0.0.1:7400',
  http: '127.0.0.1:7480',
  logLevel: 'info',
  maxMessageBytes: 64 * 1024,
  maxWaitersPerLock: 1000,
  maxSessionsPerClient: 1000,
  lockDelayMs: 0,
  snapshotEveryEntries: 10_000,
  preemption: 'on',
  recordTraceMaxBytes: 64 * 1024 * 1024,
} as const;

/** The smallest `recordTraceMaxBytes` accepted (a rotated file must hold its header and the sessions it carries). */
export const MIN_RECORD_TRACE_BYTES = 64 * 1024;

const PREEMPTION_MODES: readonly PreemptionMode[] = ['on', 'warn-only', 'off'];

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const CONFIG_KEYS = new Set([
  'id',
  'listen',
  'http',
  'data',
  'peers',
  'join',
  'logLevel',
  'testFaultInjection',
  'maxMessageBytes',
  'maxWaitersPerLock',
  'maxSessionsPerClient',
  'lockDelayMs',
  'snapshotEveryEntries',
  'preemption',
  'spm',
  'ladder',
  'recordTrace',
  'recordTraceMaxBytes',
]);
const { mode: _mode, ...LADDER_TIMING_DEFAULTS } = defaultLadderConfig;
const SPM_MODELS: readonly SpmConfig['model'][] = ['ewma', 'arima', 'sma'];
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Parses `host:port` (or `[v6]:port`); port 0 asks the OS for a free one. */
export function parseHostPort(text: string, what: string): HostPort {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65535) {
    throw new ConfigError(`${what} must be host:port (e.g. 127.0.0.1:7400), got "${text}"`);
  }
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

/** Formats an endpoint back to `host:port`, bracketing IPv6 hosts. */
export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Parses `--peers id=host:port,...` into id -> address. */
export function parsePeers(text: string): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const item of text.split(',').map((part) => part.trim())) {
    if (item === '') continue;
    const at = item.indexOf('=');
    if (at <= 0) throw new ConfigError(`--peers entries must be id=host:port, got "${item}"`);
    const id = item.slice(0, at);
    checkNodeId(id, '--peers');
    if (peers[id] !== undefined) throw new ConfigError(`--peers names ${id} twice`);
    peers[id] = formatHostPort(parseHostPort(item.slice(at + 1), `--peers address of ${id}`));
  }
  return peers;
}

function checkNodeId(id: string, what: string): void {
  if (!NODE_ID.test(id)) {
    throw new ConfigError(`${what}: a node id must be 1-64 letters, digits, '.', '_' or '-', got "${id}"`);
  }
}

function positiveInteger(value: unknown, key: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`${key} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Checks a settings object (`spm`, `ladder`) against its defaults: known names only, numbers finite and >= 0, the
 * SPM's model one of its names, the ARIMA order three integers >= 0. Returns the overrides.
 */
function settingsOverrides<T extends object>(raw: unknown, defaults: T, key: string): Partial<T> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${key} must be a JSON object of settings, got ${JSON.stringify(raw)}`);
  }
  for (const [name, value] of Object.entries(raw)) {
    if (!Object.hasOwn(defaults, name)) {
      throw new ConfigError(`${key}: unknown setting "${name}" (known: ${Object.keys(defaults).join(', ')})`);
    }
    const fail = (expected: string): never => {
      throw new ConfigError(`${key}.${name} must be ${expected}, got ${JSON.stringify(value)}`);
    };
    const isCount = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 0;
    if (name === 'model') {
      if (!SPM_MODELS.includes(value as SpmConfig['model'])) fail(`one of ${SPM_MODELS.join(', ')}`);
    } else if (name === 'arimaOrder') {
      const order = value as Record<string, unknown> | null;
      if (typeof order !== 'object' || order === null || !['p', 'd', 'q'].every((k) => isCount(order[k]))) {
        fail('{ "p", "d", "q" } integers >= 0');
      }
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      fail('a number >= 0');
    }
  }
  return raw as Partial<T>;
}

/** Runs a settings resolver, turning its RangeError into a ConfigError that names the settings object. */
function resolveSettings<T>(key: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (error instanceof RangeError) throw new ConfigError(`${key}: ${error.message}`);
    throw error;
  }
}

/** Checks the shape of a parsed --config file: known keys only, with the right types. */
export function checkConfigFile(raw: unknown, source: string): ServerConfigInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source} must hold a JSON object`);
  }
  for (const key of Object.keys(raw)) {
    if (!CONFIG_KEYS.has(key)) {
      throw new ConfigError(`${source}: unknown key "${key}" (known: ${[...CONFIG_KEYS].join(', ')})`);
    }
  }
  return raw as ServerConfigInput;
}

/**
 * Resolves the configuration from the --config file's keys and the flags (flags win), applying defaults.
 * Throws ConfigError with a message naming the bad setting.
 */
export function resolveServerConfig(fromFile: ServerConfigInput, fromFlags: ServerConfigInput): ServerConfig {
  const input: ServerConfigInput = { ...fromFile };
  for (const [key, value] of Object.entries(fromFlags)) {
    if (value !== undefined) (input as Record<string, unknown>)[key] = value;
  }
  const id = input.id ?? SERVER_DEFAULTS.id;
  checkNodeId(id, '--id');
  const listen = parseHostPort(input.listen ?? SERVER_DEFAULTS.listen, '--listen');
  const http = parseHostPort(input.http ?? SERVER_DEFAULTS.http, '--http');
  const peers =
    typeof input.peers === 'string'
      ? parsePeers(input.peers)
      : parsePeers(
          Object.entries(input.peers ?? {})
            .map(([peerId, address]) => `${peerId}=${address}`)
            .join(','),
        );
  const join = input.join ?? false;
  if (Object.keys(peers).length > 0 && peers[id] === undefined && !join) {
    throw new ConfigError(`--peers must include this node (${id}), or start it with --join to be added later`);
  }
  const preemption = input.preemption ?? SERVER_DEFAULTS.preemption;
  if (!PREEMPTION_MODES.includes(preemption as PreemptionMode)) {
    throw new ConfigError(`--preemption must be one of ${PREEMPTION_MODES.join(', ')}, got "${preemption}"`);
  }
  if (input.recordTrace !== undefined && (typeof input.recordTrace !== 'string' || input.recordTrace === '')) {
    throw new ConfigError(`--record-trace must name a file, got ${JSON.stringify(input.recordTrace)}`);
  }
  const logLevel = input.logLevel ?? SERVER_DEFAULTS.logLevel;
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(`--log-level must be one of ${[...LOG_LEVELS].join(', ')}, got "${logLevel}"`);
  }
  return {
    id,
    listen,
    http,
    dataDir: input.data ?? `./.forelock/${id}`,
    peers,
    join,
    logLevel,
    testFaultInjection: input.testFaultInjection ?? false,
    maxMessageBytes: positiveInteger(input.maxMessageBytes ?? SERVER_DEFAULTS.maxMessageBytes, 'maxMessageBytes', 1024),
    maxWaitersPerLock: positiveInteger(
      input.maxWaitersPerLock ?? SERVER_DEFAULTS.maxWaitersPerLock,
      'maxWaitersPerLock',
      1,
    ),
    maxSessionsPerClient: positiveInteger(
      input.maxSessionsPerClient ?? SERVER_DEFAULTS.maxSessionsPerClient,
      'maxSessionsPerClient',
      1,
    ),
    lockDelayMs: positiveInteger(input.lockDelayMs ?? SERVER_DEFAULTS.lockDelayMs, 'lockDelayMs', 0),
    snapshotEveryEntries: positiveInteger(
      input.snapshotEveryEntries ?? SERVER_DEFAULTS.snapshotEveryEntries,
      'snapshotEveryEntries',
      1,
    ),
    preemption: preemption as PreemptionMode,
    spm: resolveSettings('spm', () => resolveSpmConfig(settingsOverrides(input.spm, defaultSpmConfig, 'spm'))),
    ladder: resolveSettings('ladder', () => {
      const { mode: _unused, ...timings } = resolveLadderConfig(
        settingsOverrides(input.ladder, LADDER_TIMING_DEFAULTS, 'ladder'),
      );
      return timings;
    }),
    recordTrace: input.recordTrace ?? null,
    recordTraceMaxBytes: positiveInteger(
      input.recordTraceMaxBytes ?? SERVER_DEFAULTS.recordTraceMaxBytes,
      'recordTraceMaxBytes',
      MIN_RECORD_TRACE_BYTES,
    ),
  };
}
