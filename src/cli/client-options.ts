// What every client-side command shares: the --endpoints option (FORELOCK_ENDPOINTS), printing results (tables and
// --json with bigints as decimal strings), and turning failures into a message and an exit status.
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { AdminClient } from '../client/admin.js';
import { ForelockError } from '../util/errors.js';
import { parseDurationMs } from './duration.js';

/** The default endpoint of every client command. */
export const DEFAULT_ENDPOINTS = '127.0.0.1:7400';

/** Adds `--endpoints host:port,...` (env FORELOCK_ENDPOINTS) to `command`. */
export function withEndpoints(command: Command): Command {
  return command.addOption(
    new Option('--endpoints <list>', 'cluster members to contact, host:port,...')
      .env('FORELOCK_ENDPOINTS')
      .default(DEFAULT_ENDPOINTS),
  );
}

/** Splits an --endpoints value into a list, rejecting an empty one. */
export function endpointList(value: string): string[] {
  const endpoints = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (endpoints.length === 0) throw new RangeError(`--endpoints must list at least one host:port, got "${value}"`);
  return endpoints;
}

/** A commander option taking a duration ("10s", "500ms", "2m"), parsed to ms, with a default written the same way. */
export function durationFlag(flags: string, description: string, defaultText: string): Option {
  const name = flags.split(' ')[0] as string;
  return new Option(flags, description)
    .argParser((value: string) => {
      try {
        return parseDurationMs(value, name);
      } catch (err) {
        throw new CommanderArgumentError((err as Error).message);
      }
    })
    .default(parseDurationMs(defaultText, name), defaultText);
}

/** JSON text with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

/** Renders rows as an aligned text table with a header. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Runs a command body; a failure prints "forelock: <message> [CODE]" on stderr and sets exit status 1. */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const code = err instanceof ForelockError ? ` [${err.code}]` : '';
    process.stderr.write(`forelock: ${err instanceof Error ? err.message : String(err)}${code}\n`);
    process.exitCode = 1;
  }
}

/** Runs an admin command body with an AdminClient on `endpoints`, closed afterwards (see runCommand for failures). */
export function runAdmin(endpoints: string, body: (admin: AdminClient) => Promise<void>): Promise<void> {
  return runCommand(async () => {
    const admin = new AdminClient({ endpoints: endpointList(endpoints) });
    try {
      await body(admin);
    } finally {
      admin.close();
    }
  });
}
