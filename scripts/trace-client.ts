// One SDK client process for scripts/record-traces.ts: opens a session and takes and releases locks in a loop
// (a `worker` with short critical sections on a shared pool, or a `leader` that holds one lock for a long time),
// reconnecting with a new session when its session is lost. It prints one JSON line on stdout per session opened
// ({"session": id}) and one when it takes or lets go of a lock ({"holding": bool}), which the recording script uses
// to aim and label its faults. SIGTERM closes it cleanly.
import { type Client, connect } from '../src/index.js';
import { SeededRng } from '../src/util/rng.js';

interface ClientArgs {
  readonly endpoints: string[];
  readonly name: string;
  readonly role: 'worker' | 'leader';
  readonly seed: number;
}

function parseArgs(argv: readonly string[]): ClientArgs {
  const value = (flag: string): string => {
    const index = argv.indexOf(flag);
    const found = index >= 0 ? argv[index + 1] : undefined;
    if (found === undefined) throw new Error(`trace-client: missing ${flag}`);
    return found;
  };
  const role = value('--role');
  if (role !== 'worker' && role !== 'leader') throw new Error(`trace-client: --role must be worker or leader`);
  return { endpoints: value('--endpoints').split(','), name: value('--name'), role, seed: Number(value('--seed')) };
}

const args = parseArgs(process.argv.slice(2));
const rng = new SeededRng(args.seed);
let stopping = false;
let current: Client | null = null;

/** A lognormal duration with the given median (ms) and sigma, clamped to [min, max]. */
function lognormal(medianMs: number, sigma: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, Math.max(minMs, medianMs * Math.exp(sigma * rng.normal())));
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One line for the recording script. */
function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Takes and releases locks until the session is lost or the process is told to stop. */
async function work(client: Client): Promise<void> {
  const signal = client.session.signal;
  while (!stopping && !signal.aborted) {
    const name = args.role === 'leader' ? `election/${args.name}` : `jobs/${rng.int(0, 5)}`;
    const holdMs = args.role === 'leader' ? lognormal(60_000, 0.4, 20_000, 150_000) : lognormal(400, 0.9, 20, 5_000);
    try {
      const lock = await client.acquire(name, { waitMs: args.role === 'leader' ? 30_000 : 5_000, signal });
      report({ holding: true });
      await pause(holdMs, AbortSignal.any([signal, lock.signal]));
      if (!lock.signal.aborted) await lock.release();
      report({ holding: false });
    } catch {
      // Busy, timed out, or the session is gone: the loop checks the session.
    }
    await pause(args.role === 'leader' ? lognormal(2_000, 0.5, 200, 10_000) : lognormal(600, 0.8, 50, 5_000), signal);
  }
}

async function main(): Promise<void> {
  process.on('SIGTERM', () => {
    stopping = true;
    void current?.close().finally(() => process.exit(0));
    if (current === null) process.exit(0);
  });
  while (!stopping) {
    try {
      current = await connect({ endpoints: args.endpoints, name: args.name, ttlMs: 10_000, connectTimeoutMs: 30_000 });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    report({ session: current.session.id });
    await work(current);
    if (!stopping) await current.close().catch(() => {});
  }
}

void main();
