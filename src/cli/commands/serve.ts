// `forelock serve`: runs one node (single-node cluster by default) until SIGINT/SIGTERM.
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { checkConfigFile, resolveServerConfig, SERVER_DEFAULTS, type ServerConfigInput } from '../../server/config.js';
import { ConfigError } from '../../server/errors.js';
import { type NodeServer, startNodeServer } from '../../server/node-server.js';

/** The flags of `forelock serve` as commander parses them. */
interface ServeFlags {
  id?: string;
  listen?: string;
  http?: string;
  data?: string;
  peers?: string;
  join?: boolean;
  config?: string;
  logLevel?: string;
  preemption?: string;
  testFaultInjection?: boolean;
  recordTrace?: string;
  recordTraceMaxBytes?: string;
}

/** `--record-trace-max-bytes` as a number (resolveServerConfig checks its range). */
function maxBytesFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value)) {
    throw new ConfigError(`--record-trace-max-bytes must be an integer number of bytes, got "${text}"`);
  }
  return value;
}

async function readConfigFile(path: string): Promise<ServerConfigInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read --config ${path}: ${(error as Error).message}`);
  }
  try {
    return checkConfigFile(JSON.parse(text), `--config ${path}`);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`--config ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

async function serve(flags: ServeFlags): Promise<void> {
  const fromFile = flags.config === undefined ? {} : await readConfigFile(flags.config);
  const config = resolveServerConfig(fromFile, {
    id: flags.id,
    listen: flags.listen,
    http: flags.http,
    data: flags.data,
    peers: flags.peers,
    join: flags.join,
    logLevel: flags.logLevel,
    preemption: flags.preemption,
    testFaultInjection: flags.testFaultInjection,
    recordTrace: flags.recordTrace,
    recordTraceMaxBytes: maxBytesFlag(flags.recordTraceMaxBytes),
  });
  let node: NodeServer | undefined;
  let stopping = false;
  /** Closes the node once and exits with `code` (1 when the close itself fails). */
  const stop = (reason: string, code: number): void => {
    if (stopping) return;
    stopping = true;
    if (node === undefined) process.exit(code);
    node.log.info({ reason }, 'shutting down');
    node.close().then(
      () => process.exit(code),
      (error: unknown) => {
        node?.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // A node whose storage failed must not keep serving with an unknown disk state.
  node = await startNodeServer(config, { onFatal: () => stop('storage failure', 1) });
  process.on('SIGINT', () => stop('SIGINT', 0));
  process.on('SIGTERM', () => stop('SIGTERM', 0));
}

/** Registers `forelock serve`. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run a Forelock node (with no --peers: a single-node cluster that bootstraps itself)')
    .option('--id <id>', `this node's id (default ${SERVER_DEFAULTS.id})`)
    .option('--listen <host:port>', `gRPC address for clients and peers (default ${SERVER_DEFAULTS.listen})`)
    .option('--http <host:port>', `HTTP address for /healthz, /metrics, /v1/* (default ${SERVER_DEFAULTS.http})`)
    .option('--data <dir>', 'data directory (default ./.forelock/<id>)')
    .option('--peers <id=host:port,...>', 'the initial cluster, this node included')
    .option('--join', 'start empty and wait to be added by the cluster (forelock members add)')
    .option('--config <file>', 'JSON file with the same keys (id, listen, http, data, peers, logLevel, ...); flags win')
    .option(
      '--log-level <level>',
      `trace, debug, info, warn, error, fatal or silent (default ${SERVER_DEFAULTS.logLevel})`,
    )
    .option(
      '--preemption <mode>',
      `staleness warnings and pre-emption: on, warn-only or off (default ${SERVER_DEFAULTS.preemption})`,
    )
    .option(
      '--record-trace <file>',
      "the leader records the SPM's inputs to this JSONL file, for `forelock eval --trace` (default: off)",
    )
    .option(
      '--record-trace-max-bytes <bytes>',
      `rotate the recorded trace to <file>.1 beyond this size (default ${SERVER_DEFAULTS.recordTraceMaxBytes})`,
    )
    .addOption(new Option('--test-fault-injection', 'test only: enable POST /test/faults on --http').hideHelp())
    .action(async (flags: ServeFlags) => {
      try {
        await serve(flags);
      } catch (error) {
        // Bad flags exit 2; a node that cannot start (port in use, unreadable data) exits 1, with one clear line.
        process.stderr.write(`forelock serve: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(error instanceof ConfigError ? 2 : 1);
      }
    });
}
