// `forelock lock NAME [--ttl] [--wait] [--shared] [--fenced] [--kill-after] [--checkpoint-signal] [--checkpoint-ms]
// -- COMMAND [ARGS...]`: runs a command while holding a lock (FORELOCK_TOKEN and FORELOCK_LOCK in its environment),
// relays the cluster's warnings and Pre-emption Requests to it as signals, and stops it if the lock is lost. Session
// advisories (a condition of the session beginning or ending) are reported on stderr and change nothing else.
import { spawn } from 'node:child_process';
import { constants, hostname } from 'node:os';
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import type { SessionAdvisory } from '../../client/advisory.js';
import { type Client, connect } from '../../client/client.js';
import { LockBusyError, TimeoutError, UnavailableError } from '../../client/errors.js';
import type { Lock, PreemptionNotice, StalenessWarning, WarningAnswer } from '../../client/lock.js';
import {
  type ClientFlags,
  durationFlag,
  endpointList,
  runCommand,
  tlsFromFlags,
  withEndpoints,
} from '../client-options.js';
import { AUTH_TOKEN_VARIABLE, authFromFlags, PASSWORD_VARIABLE } from '../credentials.js';
import { formatDurationMs, parseDurationMs } from '../duration.js';
import { stopWithNpmLauncher } from '../parent-watch.js';

/** Exit status when the lock was not granted within --wait (EX_TEMPFAIL). */
export const EXIT_WAIT_TIMEOUT = 75;
/** Exit status when the lock was lost, or pre-empted, while the command ran (EX_SOFTWARE). */
export const EXIT_LOCK_LOST = 70;
/** Exit status when the command could not be started (as a shell reports a command not found). */
export const EXIT_CANNOT_RUN = 127;

interface LockFlags extends ClientFlags {
  endpoints: string;
  ttl: number;
  wait: number;
  shared?: boolean;
  fenced?: boolean;
  killAfter: number;
  checkpointSignal?: NodeJS.Signals;
  checkpointMs: number;
}

/** How `forelock lock` relays the cluster's notices to its command. */
interface Relay {
  /** Sent to the command on a Staleness Warning, answered "checkpointing"; none: warnings are acknowledged. */
  readonly checkpointSignal?: NodeJS.Signals;
  /** The checkpoint duration asked for with `checkpointSignal`. */
  readonly checkpointMs: number;
  /** SIGKILL this long after SIGTERM once the lock is lost. */
  readonly killAfterMs: number;
}

/** Parses a signal name ("USR1", "SIGUSR1", "sigusr1") for --checkpoint-signal. */
function signalName(value: string): NodeJS.Signals {
  const name = (
    value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`
  ) as NodeJS.Signals;
  if (!(name in constants.signals) || name === 'SIGKILL' || name === 'SIGSTOP') {
    throw new CommanderArgumentError(`--checkpoint-signal must name a catchable signal like SIGUSR1, got "${value}"`);
  }
  return name;
}

/** Parses --checkpoint-ms: a bare number of milliseconds or a duration with a unit ("5s"). */
function checkpointDurationMs(value: string): number {
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  try {
    return parseDurationMs(value, '--checkpoint-ms');
  } catch (err) {
    throw new CommanderArgumentError((err as Error).message);
  }
}

/** An epoch-ms instant as an ISO time of day ("23:01:02.345Z"). */
function timeOfDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(11);
}

/** One stderr line for a Staleness Warning and the answer sent to it. */
function describeWarning(warning: StalenessWarning, nowMs: number, answered: string): string {
  return (
    `forelock: staleness warning for "${warning.name}" (token ${warning.token}): score ${warning.preemptionScore}, ` +
    `probability ${warning.probability.toFixed(2)}, predicted stale in ${formatDurationMs(warning.predictedStalenessMs)} ` +
    `(at ${timeOfDay(nowMs + warning.predictedStalenessMs)}), reasons: ${warning.reasons.join('; ') || 'none given'}; ` +
    `answer due in ${formatDurationMs(warning.ackTimeoutMs)}; ${answered}\n`
  );
}

/** A clock rate error as stderr says it: "clock 3.0% slow", "clock 0.25% fast"; empty when not measured. */
function describeClockRate(rateError: number): string {
  if (rateError === 0 || !Number.isFinite(rateError)) return '';
  const percent = Math.abs(rateError) * 100;
  return `, clock ${percent.toPrecision(2)}% ${rateError < 0 ? 'slow' : 'fast'}`;
}

/** One stderr line for a Session Advisory, at the beginning or the end of its episode. */
function describeAdvisory(advisory: SessionAdvisory): string {
  const state = advisory.active ? 'began' : 'ended';
  return (
    `forelock: session advisory ${advisory.advisoryId} ${state}: ${advisory.condition} ` +
    `(probability ${advisory.probability.toFixed(2)}${describeClockRate(advisory.clockRateError)}, ` +
    `guarantee ${formatDurationMs(advisory.guaranteeMs)}): ${advisory.detail || 'no detail given'}\n`
  );
}

/** One stderr line for a Pre-emption Request (with the warning it follows, if this process saw it). */
function describePreemption(
  notice: PreemptionNotice,
  warning: StalenessWarning | undefined,
  safeUntilMs: number,
): string {
  const after = warning
    ? `after warning ${warning.warningId} (score ${warning.preemptionScore}, probability ${warning.probability.toFixed(2)}, reasons: ${warning.reasons.join('; ') || 'none given'}), `
    : '';
  return (
    `forelock: pre-emption request for "${notice.name}" (token ${notice.token}): ${notice.reason || 'no reason given'}, ` +
    `${after}release within ${formatDurationMs(notice.graceMs)} (safe until ${timeOfDay(safeUntilMs)}); sending SIGTERM\n`
  );
}

/** The exit status a shell would report for a child that ended with `code` or `signal`. */
function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (signal ? (signalNumbers[signal] ?? 1) : 1);
}

/** The caller's credentials, which the held command must not inherit (docs/design.md, principle 8). */
const CREDENTIAL_VARIABLES = [PASSWORD_VARIABLE, AUTH_TOKEN_VARIABLE] as const;

/** `env` without the caller's credentials. */
export function commandEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of CREDENTIAL_VARIABLES) delete copy[name];
  return copy;
}

/** Runs `argv` holding `lock`, relaying the cluster's notices as `relay` says; resolves with the exit status to use. */
function runHolding(lock: Lock, argv: readonly string[], relay: Relay): Promise<number> {
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, {
    stdio: 'inherit',
    env: { ...commandEnvironment(process.env), FORELOCK_TOKEN: lock.token.toString(), FORELOCK_LOCK: lock.name },
  });
  return new Promise((resolve) => {
    // Set when this process stopped the command because the lock was taken away (lost, or pre-empted: a Pre-emption
    // Request announces a revocation): the exit status then says so, whatever status the stopped command returns.
    let lost = false;
    let terminated = false;
    let killTimer: NodeJS.Timeout | null = null;
    const terminate = () => {
      if (terminated) return;
      terminated = true;
      child.kill('SIGTERM');
    };
    const warnings = new Map<string, StalenessWarning>();
    const stopWarnings = lock.onWarning((warning): WarningAnswer => {
      warnings.set(warning.warningId, warning);
      const { checkpointSignal, checkpointMs } = relay;
      if (checkpointSignal) child.kill(checkpointSignal);
      process.stderr.write(
        describeWarning(
          warning,
          Date.now(),
          checkpointSignal
            ? `sent ${checkpointSignal}, answering checkpointing for ${formatDurationMs(checkpointMs)}`
            : 'acknowledged',
        ),
      );
      return checkpointSignal ? { checkpointing: checkpointMs } : 'ack';
    });
    const stopPreemption = lock.onPreemption((notice) => {
      process.stderr.write(describePreemption(notice, warnings.get(notice.warningId), lock.safeUntil));
      lost = true;
      terminate();
    });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onSigint = forward('SIGINT');
    const onSigterm = forward('SIGTERM');
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    const onLost = () => {
      if (lock.signal.reason?.code === 'LOCK_RELEASED') return;
      lost = true;
      const why = lock.signal.reason instanceof Error ? lock.signal.reason.message : String(lock.signal.reason);
      const killIn = `SIGKILL in ${formatDurationMs(relay.killAfterMs)}`;
      process.stderr.write(
        `forelock: lost lock "${lock.name}" (${why}); ${terminated ? killIn : `sending SIGTERM, ${killIn}`}\n`,
      );
      terminate();
      killTimer = setTimeout(() => child.kill('SIGKILL'), relay.killAfterMs);
    };
    lock.signal.addEventListener('abort', onLost, { once: true });
    const done = (status: number) => {
      if (killTimer) clearTimeout(killTimer);
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      lock.signal.removeEventListener('abort', onLost);
      stopWarnings();
      stopPreemption();
      resolve(lost ? EXIT_LOCK_LOST : status);
    };
    child.on('error', (err) => {
      process.stderr.write(`forelock: cannot run ${file}: ${err.message}\n`);
      done(EXIT_CANNOT_RUN);
    });
    child.on('exit', (code, signal) => done(exitStatusOf(code, signal)));
  });
}

/** Registers `forelock lock`. */
export function registerLockCommand(program: Command): void {
  withEndpoints(program.command('lock'))
    .description(
      `run a command while holding a lock (FORELOCK_TOKEN and FORELOCK_LOCK in its environment); on a pre-emption request the command gets SIGTERM, on loss SIGTERM then SIGKILL after --kill-after; exits with its status, ${EXIT_WAIT_TIMEOUT} if the lock was not granted within --wait (a cluster with no leader included), ${EXIT_LOCK_LOST} if the lock was lost or pre-empted, ${EXIT_CANNOT_RUN} if the command could not be started`,
    )
    .argument('<name>', 'the lock')
    .argument('<command...>', 'the command and its arguments (after --)')
    .addOption(durationFlag('--ttl <duration>', 'session TTL', '10s'))
    .addOption(durationFlag('--wait <duration>', 'how long to wait for the lock (0: try once)', '30s'))
    .option('--shared', 'take the lock in shared mode')
    .option('--fenced', 'declare that every resource the command touches checks FORELOCK_TOKEN')
    .addOption(durationFlag('--kill-after <duration>', 'SIGKILL this long after SIGTERM on lock loss', '10s'))
    .addOption(
      new Option(
        '--checkpoint-signal <signal>',
        'on a staleness warning send this signal (e.g. SIGUSR1) to the command and answer "checkpointing" (default: acknowledge)',
      ).argParser(signalName),
    )
    .addOption(
      new Option(
        '--checkpoint-ms <ms>',
        'the checkpoint time asked for with --checkpoint-signal (ms, or a duration like 5s)',
      )
        .argParser(checkpointDurationMs)
        .default(5_000, '5s'),
    )
    .action((name: string, argv: string[], flags: LockFlags) =>
      runCommand(async () => {
        // Launched through npx, a SIGTERM to the launcher never reaches this process: stop with it anyway.
        stopWithNpmLauncher();
        let client: Client | null = null;
        // --wait bounds the whole wait: finding a leader and opening the session count against it too.
        const deadlineMs = Date.now() + flags.wait;
        const notGranted = (why: string) => {
          process.stderr.write(
            `forelock: lock "${name}" was not granted within ${formatDurationMs(flags.wait)} (${why})\n`,
          );
          process.exitCode = EXIT_WAIT_TIMEOUT;
        };
        try {
          const tls = await tlsFromFlags(flags);
          const auth = await authFromFlags(flags);
          try {
            client = await connect({
              endpoints: endpointList(flags.endpoints),
              ...(tls && { tls }),
              ...(auth && { auth }),
              ttlMs: flags.ttl,
              name: `forelock-cli@${hostname()}:${process.pid}`,
              // From the session's start: a condition that began while the lock was awaited still concerns it.
              onAdvisory: (advisory) => process.stderr.write(describeAdvisory(advisory)),
              // --wait 0 (try once) still gives the session the default time to open.
              ...(flags.wait > 0 ? { connectTimeoutMs: flags.wait } : {}),
            });
          } catch (err) {
            if (err instanceof UnavailableError || err instanceof TimeoutError) {
              notGranted(`no session opened: ${err.message}`);
              return;
            }
            throw err;
          }
          let lock: Lock;
          try {
            lock = await client.acquire(name, {
              mode: flags.shared ? 'shared' : 'exclusive',
              waitMs: Math.max(0, deadlineMs - Date.now()),
              fenced: flags.fenced ?? false,
            });
          } catch (err) {
            if (err instanceof TimeoutError || err instanceof LockBusyError) {
              notGranted(err.message);
              return;
            }
            throw err;
          }
          const status = await runHolding(lock, argv, {
            checkpointSignal: flags.checkpointSignal,
            checkpointMs: flags.checkpointMs,
            killAfterMs: flags.killAfter,
          });
          await lock.release().catch(() => {});
          process.exitCode = status;
        } finally {
          await client?.close();
        }
      }),
    );
}
