// The caller's credentials for every client command (docs/design.md, "Security"): `--user NAME` with the password
// from FORELOCK_PASSWORD or `--password-stdin`, else a token from `forelock login` in FORELOCK_AUTH_TOKEN; and the
// ways a secret is read: one line of stdin, or typed at a terminal without echo. A secret is never a flag's value
// (a command line is visible to every user of the machine) and never printed.
import { userNameProblem } from '../auth/names.js';
import type { AuthOptions } from '../client/auth-token.js';

/** The environment variable holding the password of `--user`. */
export const PASSWORD_VARIABLE = 'FORELOCK_PASSWORD';
/** The environment variable holding a token from `forelock login`. */
export const AUTH_TOKEN_VARIABLE = 'FORELOCK_AUTH_TOKEN';

/** The credential flags of a client command. */
export interface CredentialFlags {
  readonly user?: string;
  readonly passwordStdin?: boolean;
}

/** Where secrets are read from: stdin and the environment (process's by default; tests give their own). */
export interface SecretSources {
  readonly env: NodeJS.ProcessEnv;
  /** All of stdin, as text. */
  readStdin(): Promise<string>;
}

/** The longest stdin a secret is read from: a password is at most 1 KiB, a token shorter. */
const MAX_STDIN_BYTES = 64 * 1024;

/** The process's own stdin and environment. */
export const processSecretSources: SecretSources = {
  env: process.env,
  readStdin: () => readAll(process.stdin),
};

/** All of `input` as UTF-8 text, refusing more than MAX_STDIN_BYTES. */
export async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    bytes += buffer.length;
    if (bytes > MAX_STDIN_BYTES) throw new RangeError(`stdin holds more than ${MAX_STDIN_BYTES} bytes; give one line`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The first line of `text` (a password piped with its newline), refusing an empty one with `what` named. */
export function firstLine(text: string, what: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw new RangeError(`${what}: stdin held no password (give it as the first line)`);
  return line;
}

/**
 * The auth of a client command from its flags and the environment: `--user` with its password (FORELOCK_PASSWORD,
 * or the first line of stdin with --password-stdin), else FORELOCK_AUTH_TOKEN, else none (a cluster with auth off,
 * or a client certificate naming the user).
 */
export async function authFromFlags(
  flags: CredentialFlags,
  sources: SecretSources = processSecretSources,
): Promise<AuthOptions | undefined> {
  if (flags.user !== undefined) {
    const problem = userNameProblem(flags.user);
    if (problem !== null) throw new RangeError(`--user: ${problem}`);
    if (flags.passwordStdin)
      return { user: flags.user, password: firstLine(await sources.readStdin(), '--password-stdin') };
    const password = sources.env[PASSWORD_VARIABLE];
    if (password === undefined || password === '') {
      throw new RangeError(
        `--user ${flags.user} needs its password: set ${PASSWORD_VARIABLE} or give --password-stdin`,
      );
    }
    return { user: flags.user, password };
  }
  if (flags.passwordStdin) throw new RangeError('--password-stdin is the password of --user NAME; give --user too');
  const token = sources.env[AUTH_TOKEN_VARIABLE];
  return token === undefined || token === '' ? undefined : { token };
}

/** A terminal input as promptHidden uses it. */
export interface TerminalInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/**
 * Asks `question` on `output` and reads one line typed at the terminal `input` without echoing it (raw mode):
 * backspace erases, Enter ends, Ctrl-C or Ctrl-D on an empty line aborts.
 */
export function promptHidden(question: string, input: TerminalInput, output: NodeJS.WritableStream): Promise<string> {
  output.write(question);
  input.setRawMode?.(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error: Error | null) => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish(null);
        if (char === '\u0003' || (char === '\u0004' && typed === '')) return finish(new RangeError('aborted'));
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else if (char >= ' ') typed += char;
      }
    };
    input.on('data', onData);
  });
}

/** A new password typed twice at the terminal without echo, refused when the two differ or it is empty. */
export async function promptNewPassword(
  name: string,
  input: TerminalInput,
  output: NodeJS.WritableStream,
): Promise<string> {
  const first = await promptHidden(`New password for ${name}: `, input, output);
  if (first === '') throw new RangeError('the password must not be empty');
  const second = await promptHidden(`Type it again: `, input, output);
  if (second !== first) throw new RangeError('the two passwords differ; nothing was changed');
  return first;
}
