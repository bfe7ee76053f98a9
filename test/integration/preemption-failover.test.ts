// Issue 5's pre-emption paths that involve the cluster itself, on a real 3-process cluster: the leader killed (SIGKILL)
// in the middle of a ladder, and the leader's own overload (its event loop kept busy by the test-only loop stall, so
// it lags by a known amount) suspending pre-emption. Each checks that the holder lost its lock once, no sooner than its promise, after its
// safe period ended, and that the waiter was granted once with a higher token.

import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedCluster } from '../../src/demo/embedded-cluster.js';
import { type Client, connect, type Lock } from '../../src/index.js';
import type { LocalNode } from '../../src/server/local-cluster.js';
import { defaultSpmConfig } from '../../src/spm/config.js';
import {
  CLUSTER_TIMEOUT_MS,
  counterOn,
  eventually,
  expectSafeRevocation,
  RawHolder,
  startProcessCluster,
} from './preemption-harness.js';

let cluster: EmbeddedCluster | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await cluster?.destroy();
  cluster = undefined;
});

async function client(endpoints: readonly string[], name: string, ttlMs: number): Promise<Client> {
  const c = await connect({ endpoints: [...endpoints], name, ttlMs, connectTimeoutMs: 30_000 });
  cleanups.push(() => c.close());
  return c;
}

async function queueWaiter(
  endpoints: readonly string[],
  name: string,
): Promise<{ client: Client; granted: Promise<Lock> }> {
  const waiter = await client(endpoints, `${name}-waiter`, 10_000);
  const granted = waiter.acquire(name, { waitMs: 120_000 });
  granted.catch(() => {});
  await eventually(
    'the waiter to be queued',
    async () => ((await waiter.admin().listLocks(name))[0]?.waiters ?? 0) > 0,
  );
  return { client: waiter, granted };
}

/** Keeps `node`'s event loop busy `stallMs` out of every `periodMs` (0: stops), through its test-only fault hook. */
async function stallLoop(node: LocalNode, stall: { stallMs: number; periodMs: number }): Promise<void> {
  const response = await fetch(`http://${node.http}/test/faults`, {
    method: 'POST',
    body: JSON.stringify(stall),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`POST /test/faults on ${node.id}: ${response.status} ${await response.text()}`);
}

describe('pre-emption and the cluster', () => {
  it('leader killed in the middle of a ladder: no double revocation, no lost grant', async () => {
    // Mechanism: a silent holder (keepalives stop) of an ordinary lock with a waiter; the leader is SIGKILLed once it
    // has warned. The new leader starts the ladder afresh and may not pre-empt before fresh samples, so the silent
    // holder's lock ends once (its session expires) and the waiter is granted once.
    cluster = await startProcessCluster();
    const leader = await cluster.waitForLeader(CLUSTER_TIMEOUT_MS);
    const holder = await RawHolder.open(leader.listen, 'failover-holder', 6_000);
    cleanups.push(() => holder.close());
    holder.startKeepalives(1_000);
    await eventually('four keepalives', () => holder.keepalivesSent >= 4);
    const token = await holder.acquire('failover/lock', false);
    const waiter = await queueWaiter(cluster.endpoints, 'failover/lock');
    holder.stopKeepalives();
    await holder.next('warning', 60_000);

    await cluster.cluster.stop(leader, 'SIGKILL');
    const next = await waiter.granted;
    expect(next.token).toBeGreaterThan(BigInt(token));
    // The lock outlived both the promise the old leader made and the holder's safe period.
    expectSafeRevocation(holder, { name: 'failover/lock', token, fenced: false }, next.grantedAtMs, {
      sentAtMs: Number.POSITIVE_INFINITY,
    });
    const survivors = cluster.nodes.filter((node) => node.id !== leader.id);
    for (const node of survivors) {
      await eventually(
        `${node.id} to apply the grant`,
        async () => (await counterOn(node, 'forelock_grants_total')) >= 2,
      );
      // Exactly two grants (holder, waiter) and at most one revocation, on every survivor.
      expect(await counterOn(node, 'forelock_grants_total')).toBe(2);
      expect(await counterOn(node, 'forelock_revocations_total')).toBeLessThanOrEqual(1);
    }
    const [info] = await waiter.client.admin().listLocks('failover/lock');
    expect(info?.holders.map((h) => h.token)).toEqual([next.token]);
  }, 120_000);

  it('the leader overloaded: pre-emption is suspended, and resumes once the overload is over', async () => {
    // Mechanism: a holder stuck past the lock's p99 hold (keepalives go on) with a waiter, which is normally asked to
    // release within seconds; meanwhile the leader keeps its own event loop busy 300 ms out of every 500 (a busy loop
    // of that measured length inside the leader: POST /test/faults {stallMs, periodMs}, src/server/loop-stall.ts), so
    // its event-loop delay passes the SPM's overload limit (50 ms) by six times whatever the machine's speed. The
    // gauge is the p99 of 10 ms samples over 1 s windows: each window holds two stalls among at most ~42 samples (5%).
    // A stall stays well under the 1 s minimum election timeout, so the leader keeps its office. (Stopping the process
    // from here with SIGSTOP/SIGCONT pulses depended on this process's timers: on a busy machine the stall was missed.)
    // The overload guard itself under test: its defaults, not the harness's load-independent settings.
    const { overloadLoopDelayMs, overloadCpu } = defaultSpmConfig;
    cluster = await startProcessCluster(['--test-fault-injection'], { overloadLoopDelayMs, overloadCpu });
    const embedded = cluster;
    const leader = await cluster.waitForLeader(CLUSTER_TIMEOUT_MS);
    const history = await client(cluster.endpoints, 'overload-history', 10_000);
    for (let i = 0; i < 40; i++) await (await history.acquire('overload/lock')).release();

    await stallLoop(leader, { stallMs: 300, periodMs: 500 });
    cleanups.push(() => stallLoop(leader, { stallMs: 0, periodMs: 0 }));
    await eventually(
      'the leader to suspend pre-emption for its own overload',
      async () => (await counterOn(leader, 'forelock_preemption_suspended')) === 1,
    );

    const holder = await RawHolder.open(leader.listen, 'overload-holder', 6_000);
    cleanups.push(() => holder.close());
    holder.startKeepalives(1_000);
    await eventually('four keepalives', () => holder.keepalivesSent >= 4);
    const token = await holder.acquire('overload/lock', false);
    const waiter = await queueWaiter(embedded.endpoints, 'overload/lock');
    const forcedBefore = await counterOn(leader, 'forelock_forced_revocations_total');

    // From the moment the waiter is queued, far longer than the ladder takes without overload (answer window 2 s +
    // grace 3 s): no request, no revocation. The window starts only now because, on a loaded machine, queueing the
    // waiter through a leader stopped half the time can itself take seconds (a CI run had a single gauge sample).
    const watchFromMs = Date.now();
    const gauges: number[] = [];
    const suspended: number[] = [];
    const gaugeTimer = setInterval(async () => {
      gauges.push(await counterOn(leader, 'forelock_event_loop_delay_seconds'));
      suspended.push(await counterOn(leader, 'forelock_preemption_suspended'));
    }, 500);
    await eventually(
      '8 s of overloaded holding with the waiter queued',
      () => Date.now() > watchFromMs + 8_000 && holder.promisedUntilMs > Date.now(),
    );
    clearInterval(gaugeTimer);
    // The leader's own event-loop delay (p99 over 1 s windows) did pass the overload limit during the window, and
    // pre-emption stayed suspended throughout it.
    expect(gauges.length).toBeGreaterThanOrEqual(8);
    expect(Math.max(...gauges)).toBeGreaterThanOrEqual(0.05);
    // Each 300 ms busy loop is a stall the minute's longest-stall gauge shows (load only makes it longer).
    expect(await counterOn(leader, 'forelock_event_loop_stall_max_seconds')).toBeGreaterThanOrEqual(0.25);
    expect(
      suspended.every((value) => value === 1),
      `suspended gauge: ${suspended.join(' ')}`,
    ).toBe(true);
    expect(holder.unreadKinds()).not.toContain('preemption');
    expect(holder.unreadKinds()).not.toContain('revoked');
    expect(await counterOn(leader, 'forelock_forced_revocations_total')).toBe(forcedBefore);
    const [info] = await waiter.client.admin().listLocks('overload/lock');
    expect(info?.holders.map((h) => String(h.token))).toEqual([token]);

    // The overload ends; once it has passed (it is held for 10 s after the last overloaded sample), the ladder goes on.
    await stallLoop(leader, { stallMs: 0, periodMs: 0 });
    const requestFrame = await holder.next('preemption', 60_000);
    const request = requestFrame.preemption as { revokeAtMs: number };
    await holder.next('revoked', 30_000);
    const next = await waiter.granted;
    expect(next.token).toBeGreaterThan(BigInt(token));
    expectSafeRevocation(holder, { name: 'overload/lock', token, fenced: false }, next.grantedAtMs, {
      revokeAtMs: request.revokeAtMs,
      sentAtMs: requestFrame.serverTimeMs,
    });
  }, 150_000);
});
