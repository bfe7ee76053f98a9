// Issue 5's pre-emption paths end to end on a real 3-process cluster (`node dist/src/cli/main.js serve`, pre-emption
// on), each on its own lock: acknowledged and recovered, ignored up to a forced revocation (ordinary and fenced), a
// cooperative release, a checkpoint then release, and a missed heartbeat shortening the ladder. Every path checks
// that no lock was revoked before its promise (ordinary) or deadline (fenced), and that the holder's safe period had
// ended first. How each warning is provoked is said in the test.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedCluster } from '../../src/demo/embedded-cluster.js';
import { FencedStore } from '../../src/demo/fenced-store.js';
import { type Client, connect, type Lock, type StalenessWarning } from '../../src/index.js';
import {
  CLUSTER_TIMEOUT_MS,
  clusterCounter,
  eventually,
  expectSafeRevocation,
  RawHolder,
  startProcessCluster,
} from './preemption-harness.js';

let cluster: EmbeddedCluster;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  cluster = await startProcessCluster();
}, CLUSTER_TIMEOUT_MS + 10_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await cluster?.destroy();
});

async function client(name: string, ttlMs = 4_000): Promise<Client> {
  const c = await connect({ endpoints: [...cluster.endpoints], name, ttlMs, connectTimeoutMs: 30_000 });
  cleanups.push(() => c.close());
  return c;
}

async function leaderAddress(): Promise<string> {
  return (await cluster.waitForLeader(CLUSTER_TIMEOUT_MS)).listen;
}

async function rawHolder(name: string, ttlMs: number): Promise<RawHolder> {
  const holder = await RawHolder.open(await leaderAddress(), name, ttlMs);
  cleanups.push(() => holder.close());
  return holder;
}

/** Gives `lock` a hold history (40 short holds) so that the SPM trusts its p99 and can see a holder stuck past it. */
async function holdHistory(name: string, fenced: boolean): Promise<void> {
  const warm = await client(`${name}-history`);
  for (let i = 0; i < 40; i++) await (await warm.acquire(name, { fenced })).release();
}

/** A queued waiter: the acquire's promise, and a check that it is queued (the holder has the lock). */
async function queueWaiter(name: string, fenced: boolean): Promise<{ client: Client; granted: Promise<Lock> }> {
  const waiter = await client(`${name}-waiter`, 10_000);
  const granted = waiter.acquire(name, { fenced, waitMs: 120_000 });
  granted.catch(() => {});
  await eventually('the waiter to be queued', async () => {
    const [info] = await waiter.admin().listLocks(name);
    return (info?.waiters ?? 0) > 0;
  });
  return { client: waiter, granted };
}

/** The holder kept its lock with no Pre-emption Request or forced revocation, and its release served the waiter. */
async function expectKeptThenHandedOver(
  lock: Lock,
  waiter: { granted: Promise<Lock> },
  requests: unknown[],
  forcedBefore: number,
): Promise<void> {
  expect(requests).toEqual([]);
  expect(lock.held).toBe(true);
  await lock.release();
  const next = await waiter.granted;
  expect(next.token).toBeGreaterThan(lock.token);
  expect(await clusterCounter(cluster, 'forelock_forced_revocations_total')).toBe(forcedBefore);
}

type Request = { revokeAtMs: number; graceMs: number; token: string; warningId: string; reason: string };

describe('pre-emption paths on a 3-process cluster', () => {
  it('a warning acknowledged: the client recovers and is not pre-empted', async () => {
    // Mechanism: the holder's SDK stops sending (simulatePause, the SDK's test-only hook) until a keepalive-late
    // warning arrives; it then resumes and acknowledges.
    const forcedBefore = await clusterCounter(cluster, 'forelock_forced_revocations_total');
    const holder = await client('ack-holder', 6_000);
    const lock = await holder.acquire('paths/ack', { waitMs: 0 });
    const waiter = await queueWaiter('paths/ack', false);
    const warnings: { warning: StalenessWarning; atMs: number }[] = [];
    const requests: unknown[] = [];
    lock.onPreemption((notice) => requests.push(notice));
    lock.onWarning((warning) => {
      warnings.push({ warning, atMs: Date.now() });
      holder.simulatePause(false);
      return { kind: 'ack' };
    });
    await eventually('three renewals before the pause', () => lock.safeUntil > lock.grantedAtMs + 3_000);
    holder.simulatePause(true);
    const { warning, atMs } = await eventually('a warning', () => warnings[0]);
    expect(warning.reasons.length).toBeGreaterThan(0);
    // Watch past the point where an unanswered ladder would have sent its request (answer window 2 s, then one
    // acknowledgement of 2 s), with the session renewed all along.
    await eventually(
      '5 s of renewals after the warning',
      () => Date.now() > atMs + 5_000 && holder.session.safeUntil > Date.now(),
    );
    await expectKeptThenHandedOver(lock, waiter, requests, forcedBefore);
  }, 150_000);

  it('warning and request ignored: an ordinary lock is revoked at its promise, the waiter gets a higher token and the late writer is rejected', async () => {
    // Mechanism: a holder stuck in its critical section (keepalives go on) past the lock's p99 hold while a waiter
    // queues; it answers nothing.
    await holdHistory('paths/ordinary', false);
    const holder = await rawHolder('ordinary-holder', 6_000);
    holder.startKeepalives(1_000);
    await eventually('four keepalives', () => holder.keepalivesSent >= 4);
    const token = await holder.acquire('paths/ordinary', false);
    const store = new FencedStore();
    expect(store.write(BigInt(token)).accepted).toBe(true);
    const waiter = await queueWaiter('paths/ordinary', false);
    const warning = (await holder.next('warning', 60_000)).warning as { reasons: string[] };
    expect(warning.reasons).toContain('hold-too-long');
    const requestFrame = await holder.next('preemption', 60_000);
    const request = requestFrame.preemption as Request;
    expect(request.token).toBe(token);
    const revoked = (await holder.next('revoked', 30_000)).revoked as { cause: string; token: string };
    expect(revoked).toMatchObject({ cause: 'preemption', token });
    const next = await waiter.granted;
    expect(next.token).toBeGreaterThan(BigInt(token));
    expectSafeRevocation(holder, { name: 'paths/ordinary', token, fenced: false }, next.grantedAtMs, {
      revokeAtMs: request.revokeAtMs,
      sentAtMs: requestFrame.serverTimeMs,
    });
    expect(store.write(next.token).accepted).toBe(true);
    expect(store.write(BigInt(token))).toEqual({ accepted: false, highestToken: next.token });
  }, 150_000);

  it('warning and request ignored: a fenced lock is revoked at the end of the grace period, before the promise', async () => {
    // Mechanism: as above (stuck past p99, keepalives go on), on a fenced lock.
    await holdHistory('paths/fenced', true);
    const holder = await rawHolder('fenced-holder', 6_000);
    holder.startKeepalives(1_000);
    await eventually('four keepalives', () => holder.keepalivesSent >= 4);
    const token = await holder.acquire('paths/fenced', true);
    const store = new FencedStore();
    store.write(BigInt(token));
    const waiter = await queueWaiter('paths/fenced', true);
    await holder.next('warning', 60_000);
    const requestFrame = await holder.next('preemption', 60_000);
    const request = requestFrame.preemption as Request;
    // A fenced lock's revocation time is the grace deadline itself.
    expect(request.revokeAtMs).toBeCloseTo(requestFrame.serverTimeMs + request.graceMs, -2);
    const revoked = (await holder.next('revoked', 30_000)).revoked as { cause: string };
    expect(revoked.cause).toBe('preemption');
    const next = await waiter.granted;
    expect(next.token).toBeGreaterThan(BigInt(token));
    expectSafeRevocation(holder, { name: 'paths/fenced', token, fenced: true }, next.grantedAtMs, {
      revokeAtMs: request.revokeAtMs,
      sentAtMs: requestFrame.serverTimeMs,
    });
    // The renewing session's promise was still ahead: only the fencing token protects the store now.
    expect(holder.promiseAt(next.grantedAtMs)).toBeGreaterThan(next.grantedAtMs);
    store.write(next.token);
    expect(store.write(BigInt(token)).accepted).toBe(false);
  }, 150_000);

  it('a cooperative release after a warning', async () => {
    // Mechanism: the SDK pauses until a keepalive-late warning; the holder resumes, answers "releasing", releases.
    const forcedBefore = await clusterCounter(cluster, 'forelock_forced_revocations_total');
    const holder = await client('coop-holder', 6_000);
    const lock = await holder.acquire('paths/coop', { waitMs: 0 });
    const waiter = await queueWaiter('paths/coop', false);
    let warned: (warning: StalenessWarning) => void = () => {};
    const warning = new Promise<StalenessWarning>((resolve) => {
      warned = resolve;
    });
    lock.onWarning((w) => {
      holder.simulatePause(false);
      warned(w);
      return { kind: 'releasing' };
    });
    await eventually('three renewals before the pause', () => lock.safeUntil > lock.grantedAtMs + 3_000);
    holder.simulatePause(true);
    await warning;
    await lock.release();
    const next = await waiter.granted;
    expect(next.token).toBeGreaterThan(lock.token);
    expect(await clusterCounter(cluster, 'forelock_forced_revocations_total')).toBe(forcedBefore);
  }, 150_000);

  it('checkpoint then release: the time asked for holds off the Pre-emption Request', async () => {
    // Mechanism: as above (SDK paused until a keepalive-late warning); the holder asks for 4 s to checkpoint.
    const forcedBefore = await clusterCounter(cluster, 'forelock_forced_revocations_total');
    const holder = await client('checkpoint-holder', 6_000);
    const lock = await holder.acquire('paths/checkpoint', { waitMs: 0 });
    const waiter = await queueWaiter('paths/checkpoint', false);
    const store = new FencedStore();
    const requests: unknown[] = [];
    lock.onPreemption((notice) => requests.push(notice));
    let warnedAtMs = 0;
    lock.onWarning(() => {
      holder.simulatePause(false);
      warnedAtMs ||= Date.now();
      return { kind: 'checkpointing', checkpointMs: 4_000 };
    });
    await eventually('three renewals before the pause', () => lock.safeUntil > lock.grantedAtMs + 3_000);
    holder.simulatePause(true);
    await eventually('a warning', () => warnedAtMs > 0);
    // The checkpoint takes longer than one acknowledgement period (2 s) but less than the 4 s asked for.
    store.write(lock.token);
    await eventually(
      '3 s of checkpointing, renewed',
      () => Date.now() > warnedAtMs + 3_000 && holder.session.safeUntil > Date.now(),
    );
    await expectKeptThenHandedOver(lock, waiter, requests, forcedBefore);
  }, 150_000);

  it('heartbeats missed during the warning shorten the answer window and the grace period', async () => {
    // Mechanism: the holder stops sending keepalives after four (a crash that keeps the connection open).
    const holder = await rawHolder('silent-holder', 6_000);
    holder.startKeepalives(1_000);
    await eventually('four keepalives', () => holder.keepalivesSent >= 4);
    const token = await holder.acquire('paths/silent', true);
    const waiter = await queueWaiter('paths/silent', true);
    holder.stopKeepalives();
    const warningFrame = await holder.next('warning', 60_000);
    expect((warningFrame.warning as { reasons: string[] }).reasons).toContain('keepalive-late');
    const requestFrame = await holder.next('preemption', 60_000);
    const request = requestFrame.preemption as Request;
    // Default grace 3 s, cut to 30% per missed keepalive; the request came sooner than the 2 s answer window.
    expect(request.graceMs).toBeLessThan(3_000);
    expect(requestFrame.serverTimeMs - warningFrame.serverTimeMs).toBeLessThan(2_000);
    const revoked = (await holder.next('revoked', 30_000)).revoked as { cause: string };
    expect(revoked.cause).toBe('preemption');
    const next = await waiter.granted;
    expect(next.token).toBeGreaterThan(BigInt(token));
    // Keepalives still missed after the request shorten the remaining grace again (the ladder's design), so the
    // revocation may come before the revokeAtMs announced; the holder's safe period, counted from its last
    // keepalive's send time, had ended all the same.
    expect(next.grantedAtMs).toBeLessThanOrEqual(request.revokeAtMs + 1_000);
    expectSafeRevocation(holder, { name: 'paths/silent', token, fenced: true }, next.grantedAtMs, {
      sentAtMs: requestFrame.serverTimeMs,
    });
    // It went sooner than its session's promise: the shortened ladder beat the TTL.
    expect(next.grantedAtMs).toBeLessThan(holder.promisedUntilMs);
    expect(waiter.client.session.signal.aborted).toBe(false);
  }, 150_000);
});
