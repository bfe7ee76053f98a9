// `forelock lock NAME [--ttl] [--wait] [--shared] [--fenced] [--kill-after] -- COMMAND [ARGS...]`: runs a command
// while holding a lock (FORELOCK_TOKEN and FORELOCK_LOCK in its environment); stops it if the lock is lost.
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { type Client, connect } from '../../client/client.js';
import { LockBusyError, TimeoutError } from '../../client/errors.js';
import type { Lock } from '../../client/lock.js';
import { durationFlag, endpointList, runCommand, withEndpoints } from '../client-options.js';
import { formatDurationMs } from '../duration.js';

/** Exit status when the lock was not granted within --wait (EX_TEMPFAIL). */
export const EXIT_WAIT_TIMEOUT = 75;
/** Exit status when the lock was lost while the command ran (EX_SOFTWARE). */
export const EXIT_LOCK_LOST = 70;

interface LockFlags {
  endpoints: string;
  ttl: number;
  wait: number;
  shared?: boolean;
  fenced?: boolean;
  killAfter: number;
}

/** The exit status a shell would report for a child that ended with `code` or `signal`. */
function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (signal ? (signalNumbers[signal] ?? 1) : 1);
}

/** Runs `argv` holding `lock`; resolves with the exit status to use. */
function runHolding(lock: Lock, argv: readonly string[], killAfterMs: number): Promise<number> {
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, {
    stdio: 'inherit',
    env: { ...process.env, FORELOCK_TOKEN: lock.token.toString(), FORELOCK_LOCK: lock.name },
  });
  return new Promise((resolve) => {
    let lost = false;
    let killTimer: NodeJS.Timeout | null = null;
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onSigint = forward('SIGINT');
    const onSigterm = forward('SIGTERM');
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    const onLost = () => {
      if (lock.signal.reason?.code === 'LOCK_RELEASED') return;
      lost = true;
      const why = lock.signal.reason instanceof Error ? lock.signal.reason.message : String(lock.signal.reason);
      process.stderr.write(
        `forelock: lost lock "${lock.name}" (${why}); sending SIGTERM, SIGKILL in ${formatDurationMs(killAfterMs)}\n`,
      );
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    };
    lock.signal.addEventListener('abort', onLost, { once: true });
    const done = (status: number) => {
      if (killTimer) clearTimeout(killTimer);
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      lock.signal.removeEventListener('abort', onLost);
      resolve(lost ? EXIT_LOCK_LOST : status);
    };
    child.on('error', (err) => {
      process.stderr.write(`forelock: cannot run ${file}: ${err.message}\n`);
      done(127);
    });
    child.on('exit', (code, signal) => done(exitStatusOf(code, signal)));
  });
}

/** Registers `forelock lock`. */
export function registerLockCommand(program: Command): void {
  withEndpoints(program.command('lock'))
    .description(
      `run a command while holding a lock (FORELOCK_TOKEN and FORELOCK_LOCK in its environment); exits with its status, ${EXIT_WAIT_TIMEOUT} if the lock was not granted in time, ${EXIT_LOCK_LOST} if the lock was lost`,
    )
    .argument('<name>', 'the lock')
    .argument('<command...>', 'the command and its arguments (after --)')
    .addOption(durationFlag('--ttl <duration>', 'session TTL', '10s'))
    .addOption(durationFlag('--wait <duration>', 'how long to wait for the lock (0: try once)', '30s'))
    .option('--shared', 'take the lock in shared mode')
    .option('--fenced', 'declare that every resource the command touches checks FORELOCK_TOKEN')
    .addOption(durationFlag('--kill-after <duration>', 'SIGKILL this long after SIGTERM on lock loss', '10s'))
    .action((name: string, argv: string[], flags: LockFlags) =>
      runCommand(async () => {
        let client: Client | null = null;
        try {
          client = await connect({
            endpoints: endpointList(flags.endpoints),
            ttlMs: flags.ttl,
            name: `forelock-cli@${hostname()}:${process.pid}`,
          });
          let lock: Lock;
          try {
            lock = await client.acquire(name, {
              mode: flags.shared ? 'shared' : 'exclusive',
              waitMs: flags.wait,
              fenced: flags.fenced ?? false,
            });
          } catch (err) {
            if (err instanceof TimeoutError || err instanceof LockBusyError) {
              process.stderr.write(
                `forelock: lock "${name}" was not granted within ${formatDurationMs(flags.wait)} (${err.message})\n`,
              );
              process.exitCode = EXIT_WAIT_TIMEOUT;
              return;
            }
            throw err;
          }
          const status = await runHolding(lock, argv, flags.killAfter);
          await lock.release().catch(() => {});
          process.exitCode = status;
        } finally {
          await client?.close();
        }
      }),
    );
}
