// What every client-side command shares: the --endpoints option (FORELOCK_ENDPOINTS), the TLS options
// (FORELOCK_TLS_CA, _CERT, _KEY), the caller's credentials (--user with FORELOCK_PASSWORD or --password-stdin, or
// FORELOCK_AUTH_TOKEN: credentials.ts), printing results (tables and --json with bigints as decimal strings), and
// turning failures into a message and an exit status.
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { AdminClient } from '../client/admin.js';
import { UnauthenticatedError } from '../client/errors.js';
import type { TlsOptions } from '../security/client-tls.js';
import { ForelockError } from '../util/errors.js';
import { AUTH_TOKEN_VARIABLE, authFromFlags, type CredentialFlags, PASSWORD_VARIABLE } from './credentials.js';
import { parseDurationMs } from './duration.js';

/** The default endpoint of every client command. */
export const DEFAULT_ENDPOINTS = '127.0.0.1:7400';

/** The flags every client command has (withEndpoints). */
export interface ClientFlags extends CredentialFlags {
  readonly endpoints: string;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

/**
 * Adds `--endpoints host:port,...` (env FORELOCK_ENDPOINTS), `--tls-ca`, `--tls-cert`, `--tls-key` (env
 * FORELOCK_TLS_CA, FORELOCK_TLS_CERT, FORELOCK_TLS_KEY), and `--user NAME` with `--password-stdin` to `command`.
 */
export function withEndpoints(command: Command): Command {
  return command
    .addOption(
      new Option('--endpoints <list>', 'cluster members to contact, host:port,...')
        .env('FORELOCK_ENDPOINTS')
        .default(DEFAULT_ENDPOINTS),
    )
    .addOption(new Option('--tls-ca <file>', 'the cluster CA (PEM): connect over TLS').env('FORELOCK_TLS_CA'))
    .addOption(
      new Option('--tls-cert <file>', "this client's certificate (PEM), for mutual TLS").env('FORELOCK_TLS_CERT'),
    )
    .addOption(new Option('--tls-key <file>', 'the private key of --tls-cert (PEM)').env('FORELOCK_TLS_KEY'))
    .addOption(
      new Option(
        '--user <name>',
        `log in as this user, with the password in ${PASSWORD_VARIABLE} or --password-stdin (else the token in ${AUTH_TOKEN_VARIABLE}, from forelock login)`,
      ),
    )
    .addOption(new Option('--password-stdin', 'read the password of --user from the first line of stdin'));
}

/** Reads the TLS files the flags name; undefined (plaintext) when none is given. */
export async function tlsFromFlags(flags: ClientFlags): Promise<TlsOptions | undefined> {
  const files = { ca: flags.tlsCa, cert: flags.tlsCert, key: flags.tlsKey };
  if (Object.values(files).every((file) => file === undefined)) return undefined;
  const read = async (file: string | undefined, flag: string): Promise<Buffer | undefined> => {
    if (file === undefined) return undefined;
    try {
      return await readFile(file);
    } catch (error) {
      throw new RangeError(`cannot read ${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  };
  const [ca, cert, key] = await Promise.all([
    read(files.ca, '--tls-ca'),
    read(files.cert, '--tls-cert'),
    read(files.key, '--tls-key'),
  ]);
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
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

/** How to log in, said after an UNAUTHENTICATED refusal. */
export const LOGIN_HINT = `log in with --user NAME and the password in ${PASSWORD_VARIABLE} or --password-stdin, or set ${AUTH_TOKEN_VARIABLE} to a token from 'forelock login --user NAME'`;

/**
 * Runs a command body; a failure prints "forelock: <message> [CODE]" on stderr (and, when unauthenticated, how to
 * log in) and sets exit status 1.
 */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const code = err instanceof ForelockError ? ` [${err.code}]` : '';
    process.stderr.write(`forelock: ${err instanceof Error ? err.message : String(err)}${code}\n`);
    if (err instanceof UnauthenticatedError) process.stderr.write(`forelock: ${LOGIN_HINT}\n`);
    process.exitCode = 1;
  }
}

/** Runs an admin command body with an AdminClient on the flags' endpoints and TLS, closed afterwards (see runCommand). */
export function runAdmin(flags: ClientFlags, body: (admin: AdminClient) => Promise<void>): Promise<void> {
  return runCommand(async () => {
    const tls = await tlsFromFlags(flags);
    const auth = await authFromFlags(flags);
    const admin = new AdminClient({
      endpoints: endpointList(flags.endpoints),
      ...(tls && { tls }),
      ...(auth && { auth }),
    });
    try {
      await body(admin);
    } finally {
      admin.close();
    }
  });
}
