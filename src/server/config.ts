// The server's configuration: one schema for every `forelock serve` setting, from which come the --config file's
// checks, the flags, the FORELOCK_SERVE_* environment variables and the JSON Schema (pure, no I/O).
import { z } from 'zod';
import { AUTH_TOKEN_TTL_MS } from '../auth/tokens.js';
import { formatDurationMs, parseDurationMs } from '../cli/duration.js';
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
  /** The HTTP address of /livez, /readyz, /healthz, /metrics, /v1/status and /v1/locks. */
  readonly http: HostPort;
  /** Where the Raft log, hard state and snapshots live. */
  readonly dataDir: string;
  /** The initial cluster (id -> address, this node included); empty for a single node that bootstraps itself. */
  readonly peers: Readonly<Record<string, string>>;
  /** True: start with no membership and wait to be added by the cluster's leader. */
  readonly join: boolean;
  /** True: recover from quorum loss, as the only member of a cluster kept from this node's log (--force-new-cluster). */
  readonly forceNewCluster: boolean;
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
  /** TLS on the one port (clients and peers, mutual) and on HTTP; null: plaintext (docs/design.md, principle 8). */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly caFile: string } | null;
  /** Mixed into the founders' cluster id (etcd's initial cluster token); '' when not given. */
  readonly clusterToken: string;
  /** True: serve plaintext on a non-loopback address anyway (--insecure). */
  readonly insecure: boolean;
  /** How long a login token lives, in ms (AUTH_TOKEN_TTL_MS by default). */
  readonly authTokenTtlMs: number;
  /** True: with auth enabled, GET /metrics needs a root caller (it is open otherwise). */
  readonly metricsAuth: boolean;
}

/** Whether `host` is a loopback address or name, where plaintext is acceptable without --insecure. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

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

/**
 * The bounds of `authTokenTtl`: long enough for a token to outlive the clock skew between the node that issues it and
 * the one that checks it, short enough that a stolen token does not live for days.
 */
export const AUTH_TOKEN_TTL_BOUNDS_MS = { min: 5_000, max: 24 * 3_600_000 } as const;
const AUTH_TOKEN_TTL_RANGE = `${AUTH_TOKEN_TTL_BOUNDS_MS.min / 1_000}s to ${AUTH_TOKEN_TTL_BOUNDS_MS.max / 3_600_000}h`;

/** The smallest `recordTraceMaxBytes` accepted (a rotated file must hold its header and the sessions it carries). */
export const MIN_RECORD_TRACE_BYTES = 64 * 1024;

/** The prefix of the environment variables that set `forelock serve`'s flags: FORELOCK_SERVE_LISTEN, ... */
export const SERVE_ENV_PREFIX = 'FORELOCK_SERVE_';

const PREEMPTION_MODES = ['on', 'warn-only', 'off'] as const satisfies readonly PreemptionMode[];
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const SPM_MODELS = ['ewma', 'arima', 'sma'] as const satisfies readonly SpmConfig['model'][];
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const NODE_ID_RULE = "a node id must be 1-64 letters, digits, '.', '_' or '-'";

/**
 * How a setting appears on the command line: the placeholder of its value, or that it is a switch, and whether
 * --help hides it. Every top-level setting with an entry here is a `forelock serve` flag and a FORELOCK_SERVE_* variable.
 */
export interface ServeFlagInfo {
  /** `<placeholder>` in --help; a switch (true/false) has none. */
  readonly placeholder?: string;
  readonly switch?: true;
  readonly hidden?: true;
}

/** The settings that are flags (and environment variables), with how --help shows them. */
export const serveFlagRegistry = z.registry<ServeFlagInfo>();

/** Parses `host:port` (or `[v6]:port`); the host may be a DNS name; port 0 asks the OS for a free one. */
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
    if (!NODE_ID.test(id)) throw new ConfigError(`--peers: ${NODE_ID_RULE}, got "${id}"`);
    if (peers[id] !== undefined) throw new ConfigError(`--peers names ${id} twice`);
    peers[id] = formatHostPort(parseHostPort(item.slice(at + 1), `--peers address of ${id}`));
  }
  return peers;
}

/** Runs a parser that throws ConfigError (or RangeError) inside a schema transform, as an issue of that value. */
function parsedBy<T>(parse: (text: string) => T) {
  return (text: string, ctx: z.RefinementCtx): T => {
    try {
      return parse(text);
    } catch (error) {
      if (!(error instanceof ConfigError || error instanceof RangeError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message.trim(), input: text });
      return z.NEVER;
    }
  };
}

/** A duration: milliseconds as a number, or a string with units as on the command line ("10s", "500ms", "1m30s"). */
function duration(description: string) {
  return z
    .union([z.number().min(0), z.string()])
    .transform((value, ctx) =>
      typeof value === 'number' ? value : parsedBy((text) => parseDurationMs(text, ''))(value, ctx),
    )
    .describe(`${description}; milliseconds, or a string with units ("10s", "500ms", "1m30s")`);
}

const integerAtLeast = (min: number, description: string) =>
  z
    .number({ error: `must be an integer >= ${min}` })
    .int({ error: `must be an integer >= ${min}` })
    .min(min, { error: `must be an integer >= ${min}` })
    .describe(description);

const hostPort = (description: string) =>
  z
    .string()
    .transform(parsedBy((text) => parseHostPort(text, '')))
    .describe(description);

/** A settings object (`spm`, `ladder`) derived from its defaults: durations for `...Ms`, numbers >= 0 otherwise. */
function settingsSchema<T extends object>(defaults: T, description: string) {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, value] of Object.entries(defaults)) {
    if (name === 'model') shape[name] = z.enum(SPM_MODELS);
    else if (name === 'arimaOrder') {
      const order = z.number().int().min(0);
      shape[name] = z.strictObject({ p: order, d: order, q: order });
    } else if (name.endsWith('Ms')) shape[name] = duration(`default ${value}`);
    else shape[name] = z.number().min(0).describe(`default ${value}`);
  }
  return z.strictObject(shape).partial().describe(description) as unknown as z.ZodType<
    Partial<T>,
    Record<string, unknown>
  >;
}

const { mode: _mode, ...LADDER_TIMING_DEFAULTS } = defaultLadderConfig;

/**
 * Every `forelock serve` setting, defined once. A --config file holds any of these keys (unknown keys are
 * refused); the ones registered in serveFlagRegistry are also flags (`--log-level`) and environment variables
 * (`FORELOCK_SERVE_LOG_LEVEL`). Precedence: flags, then the environment, then the file, then the defaults.
 */
const settingsShape = {
  id: z
    .string()
    .regex(NODE_ID, { error: NODE_ID_RULE.replace('a node id ', '') })
    .describe(`this node's id (default ${SERVER_DEFAULTS.id})`)
    .register(serveFlagRegistry, { placeholder: 'id' }),
  listen: hostPort(`gRPC address for clients and peers (default ${SERVER_DEFAULTS.listen})`).register(
    serveFlagRegistry,
    { placeholder: 'host:port' },
  ),
  http: hostPort(
    `HTTP address for /livez, /readyz, /healthz, /metrics, /v1/* (default ${SERVER_DEFAULTS.http})`,
  ).register(serveFlagRegistry, { placeholder: 'host:port' }),
  data: z
    .string()
    .min(1)
    .describe('data directory (default ./.forelock/<id>)')
    .register(serveFlagRegistry, { placeholder: 'dir' }),
  peers: z
    .union([z.string(), z.record(z.string(), z.string())])
    .transform((value, ctx) =>
      parsedBy(parsePeers)(
        typeof value === 'string'
          ? value
          : Object.entries(value)
              .map(([peerId, address]) => `${peerId}=${address}`)
              .join(','),
        ctx,
      ),
    )
    .describe(
      'the initial cluster, this node included: "id=host:port,..." or { "id": "host:port" }; hosts may be DNS names',
    )
    .register(serveFlagRegistry, { placeholder: 'id=host:port,...' }),
  join: z
    .boolean()
    .describe('start empty and wait to be added by the cluster (forelock members add)')
    .register(serveFlagRegistry, { switch: true }),
  forceNewCluster: z
    .boolean()
    .describe(
      "recover from losing a quorum: start as the only member of a cluster kept from this node's log (every entry it has, committed); add the others back with forelock members add",
    )
    .register(serveFlagRegistry, { switch: true }),
  logLevel: z
    .enum(LOG_LEVELS)
    .describe(`${LOG_LEVELS.join(', ')} (default ${SERVER_DEFAULTS.logLevel})`)
    .register(serveFlagRegistry, { placeholder: 'level' }),
  preemption: z
    .enum(PREEMPTION_MODES)
    .describe(`staleness warnings and pre-emption: on, warn-only or off (default ${SERVER_DEFAULTS.preemption})`)
    .register(serveFlagRegistry, { placeholder: 'mode' }),
  maxMessageBytes: integerAtLeast(
    1024,
    `the largest client frame accepted, in bytes (default ${SERVER_DEFAULTS.maxMessageBytes})`,
  ).register(serveFlagRegistry, { placeholder: 'bytes' }),
  maxWaitersPerLock: integerAtLeast(
    1,
    `most queued acquires per lock (default ${SERVER_DEFAULTS.maxWaitersPerLock})`,
  ).register(serveFlagRegistry, { placeholder: 'n' }),
  maxSessionsPerClient: integerAtLeast(
    1,
    `most open sessions per client name (default ${SERVER_DEFAULTS.maxSessionsPerClient})`,
  ).register(serveFlagRegistry, { placeholder: 'n' }),
  lockDelayMs: duration('how long a lock stays ungranted after a forced revocation or an expiry (default 0)').register(
    serveFlagRegistry,
    { placeholder: 'duration' },
  ),
  snapshotEveryEntries: integerAtLeast(
    1,
    `applied entries between automatic Raft snapshots (default ${SERVER_DEFAULTS.snapshotEveryEntries})`,
  ).register(serveFlagRegistry, { placeholder: 'n' }),
  recordTrace: z
    .string()
    .min(1, { error: 'must name a file' })
    .describe("the leader records the SPM's inputs to this JSONL file, for `forelock eval --trace` (default: off)")
    .register(serveFlagRegistry, { placeholder: 'file' }),
  recordTraceMaxBytes: integerAtLeast(
    MIN_RECORD_TRACE_BYTES,
    `rotate the recorded trace to <file>.1 beyond this size (default ${SERVER_DEFAULTS.recordTraceMaxBytes})`,
  ).register(serveFlagRegistry, { placeholder: 'bytes' }),
  tlsCert: z
    .string()
    .min(1, { error: 'must name a file' })
    .describe(
      "this node's certificate (PEM), for clients and peers; with --tls-key and --tls-ca (forelock certs create)",
    )
    .register(serveFlagRegistry, { placeholder: 'file' }),
  tlsKey: z
    .string()
    .min(1, { error: 'must name a file' })
    .describe("this node's private key (PEM); re-read with the certificate on SIGHUP")
    .register(serveFlagRegistry, { placeholder: 'file' }),
  tlsCa: z
    .string()
    .min(1, { error: 'must name a file' })
    .describe('the cluster CA (PEM): every client and peer must present a certificate it issued')
    .register(serveFlagRegistry, { placeholder: 'file' }),
  clusterToken: z
    .string()
    .min(1, { error: 'must not be empty' })
    .describe("mixed into a new cluster's id, so clusters founded on the same addresses refuse each other")
    .register(serveFlagRegistry, { placeholder: 'token' }),
  insecure: z
    .boolean()
    .describe('serve plaintext on a non-loopback address (anyone who reaches the port can take any lock)')
    .register(serveFlagRegistry, { switch: true }),
  authTokenTtl: duration(
    `how long a login token lives, ${AUTH_TOKEN_TTL_RANGE} (default ${AUTH_TOKEN_TTL_MS / 60_000}m)`,
  )
    .refine((ms) => ms >= AUTH_TOKEN_TTL_BOUNDS_MS.min && ms <= AUTH_TOKEN_TTL_BOUNDS_MS.max, {
      error: (issue) => `must be from ${AUTH_TOKEN_TTL_RANGE}, got ${formatDurationMs(issue.input as number)}`,
    })
    .register(serveFlagRegistry, { placeholder: 'duration' }),
  metricsAuth: z
    .boolean()
    .describe('with auth enabled, GET /metrics needs a root caller (default: open, like the probes)')
    .register(serveFlagRegistry, { switch: true }),
  testFaultInjection: z
    .boolean()
    .describe('test only: enable POST /test/faults on --http')
    .register(serveFlagRegistry, { switch: true, hidden: true }),
  spm: settingsSchema(defaultSpmConfig, 'SPM settings by name, e.g. { "warningThreshold": 0.8 }'),
  ladder: settingsSchema(LADDER_TIMING_DEFAULTS, 'pre-emption ladder timings by name, e.g. { "graceMs": "5s" }'),
};

/**
 * The one definition of `forelock serve`'s settings (see settingsShape): every key optional, unknown keys refused.
 */
export const serveSettingsSchema = z
  .strictObject(settingsShape)
  .partial()
  .describe('forelock serve --config FILE: any of these keys; flags and FORELOCK_SERVE_* variables win');

/** The keys a --config file may hold, with the types it writes them in (durations as ms or "10s"). */
export type ServerConfigInput = z.input<typeof serveSettingsSchema>;
/** One source's settings, checked and parsed (addresses split, durations in ms). */
export type ServerSettings = z.output<typeof serveSettingsSchema>;
/** A top-level setting's name. */
export type ServeSettingName = keyof ServerConfigInput;

/** One source of settings, and how its errors name a setting (`--listen`, `FORELOCK_SERVE_LISTEN`, `node.json: listen`). */
export interface ConfigLayer {
  readonly values: ServerConfigInput;
  readonly nameOf: (setting: string) => string;
}

/** `logLevel` -> `log-level`. */
export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** The environment variable of a setting: `logLevel` -> `FORELOCK_SERVE_LOG_LEVEL`. */
export function serveEnvName(setting: string): string {
  return SERVE_ENV_PREFIX + kebabCase(setting).replaceAll('-', '_').toUpperCase();
}

/** The settings that are flags and environment variables, in the schema's order, with how --help shows them. */
export function serveFlagSettings(): { name: ServeSettingName; description: string; info: ServeFlagInfo }[] {
  return Object.entries(settingsShape).flatMap(([name, schema]: [string, z.ZodType]) => {
    const info = serveFlagRegistry.get(schema);
    return info === undefined ? [] : [{ name: name as ServeSettingName, description: schema.description ?? '', info }];
  });
}

/** The --config file's JSON Schema (draft 2020-12), generated from serveSettingsSchema. */
export function serveConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(serveSettingsSchema, { io: 'input' }) as Record<string, unknown>;
}

/** The keys of the top-level settings and of each settings object, for "unknown setting" errors. */
const KNOWN_KEYS: Readonly<Record<string, object>> = {
  '': settingsShape,
  spm: defaultSpmConfig,
  ladder: LADDER_TIMING_DEFAULTS,
};

/** One schema issue in the words of the other checks: "must be ..., got ...". */
function issueText(issue: z.core.$ZodIssue): string {
  const got = issue.input === undefined ? '' : `, got ${JSON.stringify(issue.input)}`;
  if (issue.code === 'custom') return issue.message;
  if (issue.message.startsWith('must')) return `${issue.message}${got}`;
  if (issue.code === 'invalid_type')
    return `must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}${got}`;
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.join(', ')}${got}`;
  if (issue.code === 'too_small') return `must be >= ${issue.minimum}${got}`;
  return `${issue.message}${got}`;
}

/** Turns a schema failure into one ConfigError that names every bad setting as its source spells it. */
function configErrorOf(error: z.ZodError, nameOf: (setting: string) => string): ConfigError {
  const problems = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length === 0 ? nameOf('') : `${nameOf(issue.path.join('.'))}: `;
      const known = Object.keys(KNOWN_KEYS[String(issue.path[0] ?? '')] ?? {});
      return `${where}unknown setting ${issue.keys.map((key) => `"${key}"`).join(', ')} (known: ${known.join(', ')})`;
    }
    const [top, ...rest] = issue.path.map(String);
    const name = top === undefined ? nameOf('') : [nameOf(top), ...rest].join('.');
    const text = issueText(issue);
    return text.startsWith('must') ? `${name} ${text}` : `${name}: ${text}`;
  });
  return new ConfigError(problems.join('; '));
}

/** Checks one source's settings against the schema; the error names each bad setting by `nameOf`. */
export function parseSettings(layer: ConfigLayer): ServerSettings {
  const result = serveSettingsSchema.safeParse(layer.values, { reportInput: true });
  if (!result.success) throw configErrorOf(result.error, layer.nameOf);
  return result.data;
}

/** A parsed --config file's settings; `source` names the file in errors. */
export function configFileLayer(raw: unknown, source: string): ConfigLayer {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source} must hold a JSON object`);
  }
  return { values: raw as ServerConfigInput, nameOf: (setting) => `${source}: ${setting}` };
}

/** Reads a flag's or variable's text as the setting's type: a switch takes true/false/1/0, a number its digits. */
function settingFromText(name: ServeSettingName, text: string, label: string): unknown {
  const schema: z.ZodType = settingsShape[name];
  const json = z.toJSONSchema(schema, { io: 'input' }) as { type?: string; anyOf?: { type?: string }[] };
  const types = json.anyOf?.map((option) => option.type) ?? [json.type];
  if (types.includes('string')) return text;
  if (types.includes('boolean')) {
    if (/^(true|1|yes|on)$/i.test(text)) return true;
    if (/^(false|0|no|off)$/i.test(text)) return false;
    throw new ConfigError(`${label} must be true or false, got "${text}"`);
  }
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new ConfigError(`${label} must be a number, got "${text}"`);
  return value;
}

/** The settings given by FORELOCK_SERVE_* variables (empty ones count as unset); an unknown one is refused. */
export function environmentLayer(env: Readonly<Record<string, string | undefined>>): ConfigLayer {
  const byEnvName = new Map(serveFlagSettings().map(({ name }) => [serveEnvName(name), name]));
  const values: Record<string, unknown> = {};
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith(SERVE_ENV_PREFIX) || text === undefined || text === '') continue;
    if (variable === SERVE_CONFIG_ENV) continue;
    const name = byEnvName.get(variable);
    if (name === undefined) {
      throw new ConfigError(
        `unknown environment variable ${variable} (known: ${[...byEnvName.keys(), SERVE_CONFIG_ENV].join(', ')})`,
      );
    }
    values[name] = settingFromText(name, text, variable);
  }
  return { values: values as ServerConfigInput, nameOf: serveEnvName };
}

/** The variable that names the --config file. */
export const SERVE_CONFIG_ENV = `${SERVE_ENV_PREFIX}CONFIG`;

/** The settings given as flags: commander's strings (and switches' booleans), read as each setting's type. */
export function flagsLayer(flags: Readonly<Record<string, string | boolean | undefined>>): ConfigLayer {
  const values: Record<string, unknown> = {};
  for (const { name } of serveFlagSettings()) {
    const given = flags[name];
    if (given === undefined) continue;
    values[name] = typeof given === 'boolean' ? given : settingFromText(name, given, `--${kebabCase(name)}`);
  }
  return { values: values as ServerConfigInput, nameOf: (setting) => `--${kebabCase(setting)}` };
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

/**
 * Resolves the configuration from its sources, later ones winning (file, environment, flags), applying defaults.
 * Throws ConfigError with a message naming each bad setting as its source spells it.
 */
export function resolveServerConfig(...layers: readonly ConfigLayer[]): ServerConfig {
  const settings: ServerSettings = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(parseSettings(layer))) {
      if (value !== undefined) (settings as Record<string, unknown>)[key] = value;
    }
  }
  const id = settings.id ?? SERVER_DEFAULTS.id;
  const peers = settings.peers ?? {};
  const join = settings.join ?? false;
  const forceNewCluster = settings.forceNewCluster ?? false;
  if (join && forceNewCluster) {
    throw new ConfigError('--force-new-cluster recovers a member from its own log; it cannot be given with --join');
  }
  if (join && Object.keys(peers).length === 0) {
    throw new ConfigError(
      '--join needs --peers naming the current members: a joining node answers the leader before the log has given it their addresses',
    );
  }
  if (Object.keys(peers).length > 0 && peers[id] === undefined && !join) {
    throw new ConfigError(`--peers must include this node (${id}), or start it with --join to be added later`);
  }
  const tlsFiles = [settings.tlsCert, settings.tlsKey, settings.tlsCa];
  if (tlsFiles.some((file) => file !== undefined) && tlsFiles.some((file) => file === undefined)) {
    throw new ConfigError(
      'TLS needs all three of --tls-cert, --tls-key and --tls-ca (forelock certs create writes them)',
    );
  }
  const tls =
    settings.tlsCert !== undefined && settings.tlsKey !== undefined && settings.tlsCa !== undefined
      ? { certFile: settings.tlsCert, keyFile: settings.tlsKey, caFile: settings.tlsCa }
      : null;
  const listen = settings.listen ?? parseHostPort(SERVER_DEFAULTS.listen, 'listen');
  const http = settings.http ?? parseHostPort(SERVER_DEFAULTS.http, 'http');
  const insecure = settings.insecure ?? false;
  // docs/design.md, principle 8: plaintext only where nobody else can connect, unless the operator says otherwise.
  const exposed = [listen, http].filter((address) => !isLoopbackHost(address.host));
  if (tls === null && !insecure && exposed.length > 0) {
    throw new ConfigError(
      `refusing to serve plaintext on ${exposed.map(formatHostPort).join(' and ')}: give --tls-cert, --tls-key and --tls-ca (forelock certs create), or --insecure to accept that anyone who reaches the port can take any lock`,
    );
  }
  return {
    id,
    listen,
    http,
    dataDir: settings.data ?? `./.forelock/${id}`,
    peers,
    join,
    forceNewCluster,
    logLevel: settings.logLevel ?? SERVER_DEFAULTS.logLevel,
    testFaultInjection: settings.testFaultInjection ?? false,
    maxMessageBytes: settings.maxMessageBytes ?? SERVER_DEFAULTS.maxMessageBytes,
    maxWaitersPerLock: settings.maxWaitersPerLock ?? SERVER_DEFAULTS.maxWaitersPerLock,
    maxSessionsPerClient: settings.maxSessionsPerClient ?? SERVER_DEFAULTS.maxSessionsPerClient,
    lockDelayMs: settings.lockDelayMs ?? SERVER_DEFAULTS.lockDelayMs,
    snapshotEveryEntries: settings.snapshotEveryEntries ?? SERVER_DEFAULTS.snapshotEveryEntries,
    preemption: settings.preemption ?? SERVER_DEFAULTS.preemption,
    spm: resolveSettings('spm', () => resolveSpmConfig(settings.spm ?? {})),
    ladder: resolveSettings('ladder', () => {
      const { mode: _unused, ...timings } = resolveLadderConfig(settings.ladder ?? {});
      return timings;
    }),
    recordTrace: settings.recordTrace ?? null,
    recordTraceMaxBytes: settings.recordTraceMaxBytes ?? SERVER_DEFAULTS.recordTraceMaxBytes,
    tls,
    clusterToken: settings.clusterToken ?? '',
    insecure,
    authTokenTtlMs: settings.authTokenTtl ?? AUTH_TOKEN_TTL_MS,
    metricsAuth: settings.metricsAuth ?? false,
  };
}
