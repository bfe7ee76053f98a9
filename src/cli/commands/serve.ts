// `forelock serve`: runs one node (single-node cluster by default) until SIGINT/SIGTERM; SIGHUP re-reads TLS files.
import type { Command } from 'commander';
import { ConfigError } from '../../server/errors.js';
import { handOffLeadership } from '../../server/leadership-handoff.js';
import { type NodeServer, startNodeServer } from '../../server/node-server.js';
import { stopWithNpmLauncher } from '../parent-watch.js';
import { addServeSettingOptions, loadServeConfig } from './serve-config.js';

async function serve(flags: Record<string, string | boolean | undefined>): Promise<void> {
  const config = await loadServeConfig(flags, process.env);
  let node: NodeServer | undefined;
  let stopping = false;
  /** Closes the node once and exits with `code` (1 when the close itself fails). */
  const stop = (reason: string, code: number): void => {
    if (stopping) return;
    stopping = true;
    if (node === undefined) process.exit(code);
    node.log.info({ reason }, 'shutting down');
    const closing = node;
    // A leader stopped on purpose hands leadership off first (Raft thesis §3.10); a node whose
    // storage failed just stops.
    const handOff = code === 0 ? handOffLeadership(closing.raft, closing.log) : Promise.resolve(null);
    handOff
      .then(() => closing.close())
      .then(
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
  // Launched through npx, whose `sh -c` does not pass signals on: stop with the launcher.
  stopWithNpmLauncher();
  // Certificate rotation without a restart; a failed re-read is logged by the node and the old material stays.
  const running = node;
  process.on('SIGHUP', () => {
    running.reloadTls().catch(() => {});
  });
}

/** Registers `forelock serve`. */
export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description(
      'run a Forelock node (with no --peers: a single-node cluster that bootstraps itself); every flag can also be set by its FORELOCK_SERVE_* variable',
    );
  addServeSettingOptions(command).action(async (flags: Record<string, string | boolean | undefined>) => {
    try {
      await serve(flags);
    } catch (error) {
      // Bad flags exit 2; a node that cannot start (port in use, unreadable data) exits 1, with one clear line.
      process.stderr.write(`forelock serve: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    }
  });
}
