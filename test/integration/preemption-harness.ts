// Fixtures for the pre-emption paths on a real 3-process cluster: `node dist/src/cli/main.js serve` processes (the
// demo's embedded cluster), a raw session holder that knows its exact promise and the SDK's safe period computed from
// the same frames, and the safety checks every path makes.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { SafePeriodTracker } from '../../src/client/safe-period.js';
import { type EmbeddedCluster, startEmbeddedCluster } from '../../src/demo/embedded-cluster.js';
import type { ForelockCommand, LocalNode } from '../../src/server/local-cluster.js';
import type { SpmConfig } from '../../src/spm/types.js';
import { LOAD_INDEPENDENT_SPM } from '../support/load-independent-spm.js';
import { waitFor } from '../support/wait-for.js';
import { type Frame, RawSession } from './server-harness.js';

/** The built CLI (`npm test` builds dist first). */
export const DIST_FORELOCK: ForelockCommand = { executable: process.execPath, args: ['dist/src/cli/main.js'] };

/** Process start-up and first election on a loaded 2-core machine take seconds: generous deadlines, never sleeps. */
export const CLUSTER_TIMEOUT_MS = 60_000;

/**
 * The SPM settings of these clusters (a --config file's `spm`): a stuck-hold prior of 1% instead of the default 0.03%.
 * The paths provoke a holder stuck past its lock's p99 hold; the history behind that p99 is 40 holds of a few ms each,
 * measured on a shared 2-core machine, where one fsync or scheduling hiccup in it makes the tail look heavy enough
 * that the default prior needs minutes to call the hold stuck (a CI run saw no warning within 60 s). With 1% it takes
 * a few p99s whatever the history's tail, so the tests exercise the ladder, not the machine's noise.
 */
export const TEST_SPM_SETTINGS = { stuckPriorPerHold: 0.01, ...LOAD_INDEPENDENT_SPM };

/**
 * Starts 3 `forelock serve` processes with pre-emption on and TEST_SPM_SETTINGS (`spm` overrides them); the caller
 * destroys it.
 */
export async function startProcessCluster(
  serveArgs: readonly string[] = [],
  spm: Partial<SpmConfig> = {},
): Promise<EmbeddedCluster> {
  if (!existsSync(DIST_FORELOCK.args[0] as string)) {
    throw new Error('dist/src/cli/main.js is missing: run `npm run build` (npm test does) before these tests');
  }
  const configDir = await mkdtemp(join(tmpdir(), 'forelock-test-config-'));
  const configFile = join(configDir, 'spm.json');
  await writeFile(configFile, JSON.stringify({ spm: { ...TEST_SPM_SETTINGS, ...spm } }));
  const cluster = await startEmbeddedCluster({
    command: DIST_FORELOCK,
    serveArgs: ['--log-level', 'warn', '--preemption', 'on', '--config', configFile, ...serveArgs],
  });
  const destroy = async (graceMs?: number): Promise<void> => {
    await cluster.destroy(graceMs);
    await rm(configDir, { recursive: true, force: true });
  };
  try {
    await cluster.waitForLeader(CLUSTER_TIMEOUT_MS);
  } catch (error) {
    await destroy();
    throw error;
  }
  return { ...cluster, destroy };
}

/** Sum of one counter over its labels on a node's /metrics (0 when the node does not answer). */
export async function counterOn(node: LocalNode, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://${node.http}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return total;
  } catch {
    return 0;
  }
}

/** A counter summed over every running node (each counts what it did as leader). */
export async function clusterCounter(cluster: EmbeddedCluster, name: string): Promise<number> {
  let total = 0;
  for (const node of cluster.nodes) if (cluster.cluster.running(node)) total += await counterOn(node, name);
  return total;
}

type AcquireFrame = { status: string; token: string; grantedAtMs: number; name: string };

/**
 * A lock holder on a raw session stream, so that the test sees every frame: it paces its own keepalives, records the
 * session's promise exactly as the leader makes it (the open's TTL, then receive time + guarantee of every answer),
 * and feeds the SDK's SafePeriodTracker with the same frames, so `lockSafeUntilMs` is what `lock.safeUntil` would say.
 */
export class RawHolder {
  readonly safe = new SafePeriodTracker();
  /** Latest promise the leader made to the session (epoch ms, server clock). */
  promisedUntilMs = Number.NEGATIVE_INFINITY;
  /** Every promise with the server time of the frame that carried it, in order. */
  private readonly promises: { serverTimeMs: number; promisedUntilMs: number }[] = [];
  private seq = 0;
  private requestSeq = 0;
  private timer: NodeJS.Timeout | null = null;
  private draining = true;

  private constructor(
    readonly stream: RawSession,
    readonly sessionId: string,
    readonly ttlMs: number,
  ) {}

  /** Opens a session on `address` (which must be the leader) with `ttlMs`. */
  static async open(address: string, clientName: string, ttlMs: number): Promise<RawHolder> {
    const stream = new RawSession(address);
    const safeOpenedAt = Date.now();
    stream.send({ open: { clientName, ttlMs } });
    const frame = await stream.next('opened', () => true, 20_000);
    const opened = frame.opened as { sessionId: string; guaranteeMs: number };
    const holder = new RawHolder(stream, opened.sessionId, ttlMs);
    holder.safe.streamOpened(safeOpenedAt);
    holder.safe.guaranteeReceived(Number(frame.lastKeepaliveSeq), opened.guaranteeMs);
    // The open's promise was made at or before the frame left: its server time bounds it from above.
    holder.promisedUntilMs = frame.serverTimeMs + ttlMs;
    holder.promises.push({ serverTimeMs: frame.serverTimeMs, promisedUntilMs: holder.promisedUntilMs });
    void holder.drainKeepaliveAnswers();
    return holder;
  }

  /** Sends a keepalive every `intervalMs` until `stopKeepalives()` (the client's pacing, not synchronization). */
  startKeepalives(intervalMs: number): void {
    this.stopKeepalives();
    const beat = (): void => {
      this.seq += 1;
      this.safe.keepaliveSent(this.seq, Date.now());
      this.stream.send({ keepalive: { seq: String(this.seq), clientTimeMs: Date.now(), rttMs: 0 } });
    };
    beat();
    this.timer = setInterval(beat, intervalMs);
  }

  stopKeepalives(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * The session's promise as it stood when the server sent a frame at `serverTimeMs` (e.g. a Pre-emption Request:
   * an ordinary lock keeps the promise in force then). Answers are sent in order, so it is the latest promise
   * carried by a frame sent no later.
   */
  promiseAt(serverTimeMs: number): number {
    let promise = Number.NEGATIVE_INFINITY;
    for (const entry of this.promises) if (entry.serverTimeMs <= serverTimeMs) promise = entry.promisedUntilMs;
    return promise;
  }

  /** Keepalives sent so far. */
  get keepalivesSent(): number {
    return this.seq;
  }

  /** Acquires `name` (granted at once, the test makes sure it is free); returns the token. */
  async acquire(name: string, fenced: boolean, preemptible = true): Promise<string> {
    if (fenced) this.fencedLocks.add(name);
    this.requestSeq += 1;
    this.stream.send({
      acquire: { requestSeq: String(this.requestSeq), name, waitMs: 0, fenced, neverPreempt: !preemptible },
    });
    const result = (await this.stream.next('acquire', () => true, 20_000)).acquire as AcquireFrame;
    expect(result.status).toBe('GRANTED');
    return result.token;
  }

  /** The next frame of `kind` (warning, preemption, revoked, ...). */
  async next(kind: string, timeoutMs = 20_000): Promise<Frame> {
    const frame = await this.stream.next(kind, () => true, timeoutMs);
    if (kind === 'preemption') {
      const request = frame.preemption as { resourceId: string; token: string; graceMs: number };
      this.safe.preemptionReceived(
        request.resourceId,
        BigInt(request.token),
        Number(frame.lastKeepaliveSeq),
        request.graceMs,
        this.fencedLocks.has(request.resourceId),
      );
    }
    return frame;
  }

  /** Locks acquired fenced (for the safe period of a Pre-emption Request). */
  readonly fencedLocks = new Set<string>();

  /** What `lock.safeUntil` would be for `name` at `token` now (epoch ms). */
  lockSafeUntilMs(name: string, token: string): number {
    return this.safe.lockSafeUntilMs(name, BigInt(token));
  }

  /** Frames received and not taken, by kind (for assertions that something did NOT arrive). */
  unreadKinds(): string[] {
    return this.stream.unread().map((frame) => frame.frame);
  }

  close(): void {
    this.stopKeepalives();
    this.draining = false;
    this.stream.cancel();
  }

  private async drainKeepaliveAnswers(): Promise<void> {
    while (this.draining) {
      let frame: Frame;
      try {
        frame = await this.stream.next('keepalive', () => true, 500);
      } catch {
        continue;
      }
      const answer = frame.keepalive as { serverReceiveMs: number; guaranteeMs: number };
      this.promisedUntilMs = Math.max(this.promisedUntilMs, answer.serverReceiveMs + answer.guaranteeMs);
      this.promises.push({ serverTimeMs: frame.serverTimeMs, promisedUntilMs: this.promisedUntilMs });
      this.safe.guaranteeReceived(Number(frame.lastKeepaliveSeq), answer.guaranteeMs);
    }
  }
}

/**
 * The checks every path makes on a revoked lock: an ordinary lock is revoked no sooner than its session's promise;
 * one no sooner than the deadline it was sent (`revokeAtMs`, when the ladder was not shortened after the request);
 * and the holder's safe period had ended by then.
 */
export function expectSafeRevocation(
  holder: RawHolder,
  lock: { name: string; token: string; fenced: boolean },
  revokedAtMs: number,
  request: { revokeAtMs?: number; sentAtMs: number },
): void {
  // The promise an ordinary lock keeps is the session's when the request was sent (later renewals do not extend it).
  if (!lock.fenced) expect(revokedAtMs).toBeGreaterThanOrEqual(holder.promiseAt(request.sentAtMs));
  if (request.revokeAtMs !== undefined) expect(revokedAtMs).toBeGreaterThanOrEqual(request.revokeAtMs);
  expect(holder.lockSafeUntilMs(lock.name, lock.token)).toBeLessThanOrEqual(revokedAtMs);
}

/** Waits for `what` with the generous deadline of these tests. */
export function eventually<T>(
  what: string,
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  return waitFor(what, condition, timeoutMs);
}
