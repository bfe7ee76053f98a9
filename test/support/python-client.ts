// The Python example client (examples/python/) as a test sees it: a python3 process running driver.py, spoken to in
// JSON lines (one request, one answer by id; events in between). Only for interpreters that have Debian's
// python3-grpcio and python3-grpc-tools (or the same modules another way): pythonWithGrpc() finds one or says why not.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.js';

const EXAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'python');

/** Interpreters tried in turn: the one on PATH, then Debian's (a pyenv python3 on PATH lacks Debian's modules). */
const CANDIDATES = ['python3', '/usr/bin/python3'];

/** A python3 that can import grpc and grpc_tools, or the reason none can (to print when a test skips). */
export function pythonWithGrpc(): { python: string } | { missing: string } {
  for (const python of CANDIDATES) {
    const probe = spawnSync(python, ['-c', 'import grpc, grpc_tools'], { encoding: 'utf8', timeout: 30_000 });
    if (probe.status === 0) return { python };
  }
  return {
    missing:
      `none of ${CANDIDATES.join(', ')} can import grpc and grpc_tools; install them with ` +
      '`apt-get install -y python3-grpcio python3-grpc-tools` (.ci/run does)',
  };
}

/** One answer of the driver: ok with the op's fields, or the ForelockError's code and message. */
export type DriverAnswer = { ok: true } & Record<string, unknown>;

/** A failed request of the driver, with the client's stable error code. */
export class DriverRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** A running driver.py: `request()` sends one op and resolves with its answer; `events` collects the rest. */
export class PythonClient {
  readonly events: Record<string, unknown>[] = [];
  private readonly answers = new Map<number, Record<string, unknown>>();
  private nextId = 1;
  private readonly stubsDir = mkdtempSync(join(tmpdir(), 'forelock-py-stubs-'));
  private readonly child;
  private stderr = '';

  constructor(python: string) {
    this.child = spawn(python, ['-u', join(EXAMPLE_DIR, 'driver.py')], {
      cwd: EXAMPLE_DIR,
      env: { ...process.env, FORELOCK_STUBS_DIR: this.stubsDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      if (typeof message.id === 'number') this.answers.set(message.id, message);
      else this.events.push(message);
    });
  }

  /** Resolves once the driver has imported the client (and generated its stubs). */
  ready(timeoutMs = 60_000): Promise<unknown> {
    return this.event('ready', () => true, timeoutMs);
  }

  /** Sends `op`; resolves with its answer, rejects with a DriverRefusal carrying the client's error code. */
  async request(op: string, fields: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<DriverAnswer> {
    const id = this.nextId++;
    this.child.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    const answer = await waitFor(
      `the Python client's answer to ${op} #${id}${this.stderrTail()}`,
      () => this.answers.get(id),
      timeoutMs,
    );
    if (answer.ok !== true) throw new DriverRefusal(String(answer.code), String(answer.message));
    return answer as DriverAnswer;
  }

  /** Sends `op` without waiting; its answer is awaited later with `answer(id)`. */
  send(op: string, fields: Record<string, unknown> = {}): number {
    const id = this.nextId++;
    this.child.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    return id;
  }

  /** The answer to a request sent with `send()`, as `request()` would resolve or reject. */
  async answer(id: number, timeoutMs = 30_000): Promise<DriverAnswer> {
    const answer = await waitFor(
      `the Python client's answer #${id}${this.stderrTail()}`,
      () => this.answers.get(id),
      timeoutMs,
    );
    if (answer.ok !== true) throw new DriverRefusal(String(answer.code), String(answer.message));
    return answer as DriverAnswer;
  }

  /** The first event of `kind` matching `match`, waiting for it. */
  event(kind: string, match: (event: Record<string, unknown>) => boolean = () => true, timeoutMs = 30_000) {
    return waitFor(
      `a "${kind}" event from the Python client${this.stderrTail()}`,
      () => this.events.find((event) => event.event === kind && match(event)),
      timeoutMs,
    );
  }

  /** Ends the process and removes its generated stubs. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill();
      await exited;
    }
    rmSync(this.stubsDir, { recursive: true, force: true });
  }

  private stderrTail(): string {
    return this.stderr === '' ? '' : ` (its stderr: ${this.stderr.slice(-2_000)})`;
  }
}
