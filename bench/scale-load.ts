// The load a scale benchmark puts on the cluster through the SDK, as users would: sessions, a fill of acquires timed
// per tenth, and a steady churn of acquire + release at a fixed rate.
import { type Client, connect } from '../src/client/client.js';

/** Opens `count` sessions (one SDK client each, multiplexed over one stream per node), `inFlight` opens at a time. */
export async function connectSessions(
  endpoints: readonly string[],
  count: number,
  namePrefix: string,
  inFlight = 64,
): Promise<Client[]> {
  const clients: Client[] = new Array(count);
  let next = 0;
  const opener = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      clients[i] = await connect({ endpoints, name: `${namePrefix}-${i}`, connectTimeoutMs: 60_000 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, opener));
  return clients;
}

/** What a timed run of tasks did. */
export interface TimedRun {
  /**
   * Tasks per second over each tenth of the run (the last, partial tenth when it is large enough to mean much), or over
   * the whole run when it is too short for one tenth.
   */
  readonly ratesPerSecond: number[];
  readonly errors: number;
  /** The first error's message, when there was one. */
  readonly firstError: string | null;
  readonly elapsedMs: number;
}

/**
 * Runs task(0) .. task(count - 1) with `inFlight` at a time and times each tenth of them. A tenth is at least four
 * rounds of the tasks in flight, since their answers arrive in batches.
 */
export async function runTimed(count: number, inFlight: number, task: (n: number) => Promise<void>): Promise<TimedRun> {
  const ratesPerSecond: number[] = [];
  const started = performance.now();
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | null = null;
  let tenthStarted = started;
  const tenth = Math.max(4 * inFlight, Math.floor(count / 10));
  const worker = async (): Promise<void> => {
    for (let n = next++; n < count; n = next++) {
      try {
        await task(n);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
      done++;
      if (done % tenth === 0) {
        const now = performance.now();
        ratesPerSecond.push((tenth * 1000) / (now - tenthStarted));
        tenthStarted = now;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  const ended = performance.now();
  if (done % tenth >= inFlight) ratesPerSecond.push(((done % tenth) * 1000) / (ended - tenthStarted));
  // A run too short for a tenth of its own still has a rate: the whole run's.
  if (ratesPerSecond.length === 0 && done > 0) ratesPerSecond.push((done * 1000) / (ended - started));
  return { ratesPerSecond, errors, firstError, elapsedMs: ended - started };
}

/** What a steady churn did. */
export interface Churn {
  /** Acquire + release pairs completed per second. */
  readonly pairsPerSecond: number;
  readonly errors: number;
  readonly firstError: string | null;
}

/** How often the churn starts its next batch of pairs. */
const CHURN_TICK_MS = 100;

/**
 * For `durationMs`, acquires and releases names `${prefix}<k>` at `pairsPerSecond` (spread round-robin over the
 * clients), on top of whatever the clients already hold. The names come from a pool four times the most pairs in
 * flight, so the churn adds no new names as it runs. A tick whose pairs would exceed a second's worth in flight is
 * skipped: the churn never piles up on a slow cluster.
 */
export async function churn(
  clients: readonly Client[],
  pairsPerSecond: number,
  durationMs: number,
  prefix: string,
): Promise<Churn> {
  let started = 0;
  let completed = 0;
  let inFlight = 0;
  let errors = 0;
  let firstError: string | null = null;
  const perTick = Math.max(1, Math.round((pairsPerSecond * CHURN_TICK_MS) / 1000));
  const mostInFlight = Math.max(perTick, pairsPerSecond);
  const namePool = 4 * mostInFlight;
  const pair = async (k: number): Promise<void> => {
    inFlight++;
    try {
      const lock = await clients[k % clients.length]!.acquire(`${prefix}${k % namePool}`, { waitMs: 0 });
      await lock.release();
      completed++;
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    } finally {
      inFlight--;
    }
  };
  const pending = new Set<Promise<void>>();
  const begun = performance.now();
  while (performance.now() - begun < durationMs) {
    if (inFlight + perTick <= mostInFlight) {
      for (let i = 0; i < perTick; i++) {
        const running = pair(started++);
        pending.add(running);
        void running.then(() => pending.delete(running));
      }
    }
    await new Promise((resolve) => setTimeout(resolve, CHURN_TICK_MS));
  }
  await Promise.all(pending);
  return { pairsPerSecond: (completed * 1000) / (performance.now() - begun), errors, firstError };
}
