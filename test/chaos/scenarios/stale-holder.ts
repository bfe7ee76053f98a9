// Scenarios 4 and 5: a lock holder goes stale while the cluster is healthy. Its client runs in its own container and
// is either paused past its lease (4) or cut off from every node longer than its lease (5). Either way the lock is
// freed (expiry, or pre-emption when the ladder fires first), a load client gets it next with a higher token and
// writes to the token-checking resource, and the stale holder's late write - checked before the fault, sent after -
// is refused. In 5, where the holder's process keeps running, its SDK must report the loss through `lock.signal` no
// later than its safe deadline.

import { expect } from 'vitest';
import { waitFor } from '../../support/wait-for.js';
import { SIGNAL_LAG_TOLERANCE_MS } from '../harness/checks.js';
import type { EnvContainer } from '../harness/env.js';
import { healDrops, partition, pause, unpause } from '../harness/faults.js';
import {
  type HolderClient,
  type HolderState,
  replayPromiseFrames,
  startHolderClient,
} from '../harness/holder-client.js';
import type { ScenarioContext } from '../harness/scenario.js';
import { CHAOS_POLL } from '../harness/wait.js';

/** The stale holder's lease: short, so the scenario does not wait long for it to pass. */
const HOLDER_TTL_MS = 3_000;
/** Host number of the holder's container. */
const HOLDER_HOST_NUMBER = 60;
/** A lock the load clients use too, so one of them is queued for it when the holder goes stale. */
const CONTESTED_LOCK = 'chaos/a';

/** How the holder is made stale, and how it is brought back. */
interface StaleFault {
  readonly description: string;
  apply(holder: EnvContainer, nodeIps: readonly string[]): Promise<void>;
  heal(holder: EnvContainer): Promise<void>;
  /** Checks on what the holder's SDK reported once it can run again. */
  checkReport(state: HolderState): void;
}

async function staleHolder(context: ScenarioContext, fault: StaleFault): Promise<void> {
  const { cluster, workload, resource, env } = context;
  const holder: HolderClient = await startHolderClient(env, {
    hostNumber: HOLDER_HOST_NUMBER,
    endpoints: cluster.endpoints(),
    resource,
    ttlMs: HOLDER_TTL_MS,
    name: 'stale-holder',
  });
  const { session } = await holder.state();
  const record = workload.history.invokeAcquire('stale-holder', session, CONTESTED_LOCK);
  const grant = await holder.acquire(CONTESTED_LOCK, false);
  record.outcome = { kind: 'granted', token: grant.token, grantedAtMs: grant.grantedAtMs, ackAtMs: Date.now() };
  expect(await holder.prepareWrite(CONTESTED_LOCK), 'the holder is safe right after its grant').toBe(true);
  expect(await holder.commitWrite('holder: on time'), 'the holder writes while it holds the lock').toBe(200);
  // The hazard fencing exists for: the holder checks it still holds the lock, then stalls before writing.
  expect(await holder.prepareWrite(CONTESTED_LOCK)).toBe(true);

  // Its belief cannot grow while it is stale (no answer reaches it), so its safe deadline now bounds it.
  const beforeFault = await holder.state();
  record.lastSafeUntilMs = beforeFault.lastSafeUntil ?? undefined;
  record.lastSafeSampleAtMs = beforeFault.lastSafeSampleAtMs ?? undefined;
  const leader = await cluster.waitForLeader();
  const faultAtMs = Date.now();
  await fault.apply(
    holder.container,
    cluster.nodes.map((node) => node.container.ip),
  );
  await context.measureRecovery(`holder ${fault.description}`, faultAtMs, {
    lock: CONTESTED_LOCK,
    leaderBefore: leader.id,
  });
  const next = workload.history
    .granted()
    .find((other) => other.lock === CONTESTED_LOCK && other.outcome.grantedAtMs >= faultAtMs)!;
  expect(next.outcome.token, 'the next holder has a higher token').toBeGreaterThan(grant.token);
  await waitFor(
    'the next holder wrote with its token',
    async () => (await resource.acceptedWrites()).some((write) => BigInt(write.token) > grant.token),
    30_000,
    CHAOS_POLL,
  );

  await fault.heal(holder.container);
  expect(await holder.commitWrite('holder: late'), 'the resource refuses the stale holder').toBe(409);
  const state = await waitFor(
    'the holder SDK reports the loss',
    async () => {
      const current = await holder.state();
      return current.lost === null ? undefined : current;
    },
    30_000,
    CHAOS_POLL,
  );
  record.lost = { atMs: state.lost!.atMs, cause: state.lost!.cause };
  // Its hold ended before the next holder wrote: every frame that bore on that hold's promise is in this state.
  replayPromiseFrames(state, workload.history.recordPromises(session));
  if (state.lastSafeUntil !== null && state.lastSafeSampleAtMs !== null) {
    record.lastSafeUntilMs = state.lastSafeUntil;
    record.lastSafeSampleAtMs = state.lastSafeSampleAtMs;
  }
  fault.checkReport(state);
  const writes = await resource.acceptedWrites();
  expect(
    writes.filter((write) => write.value === 'holder: late'),
    'no late write accepted',
  ).toEqual([]);
}

/** Scenario 4: the holder's client is frozen past its lease, then resumed. */
export function holderPaused(context: ScenarioContext): Promise<void> {
  return staleHolder(context, {
    description: 'paused past its lease',
    apply: (holder) => pause(holder),
    heal: (holder) => unpause(holder),
    // A frozen process learns of the loss only when it runs again; that it learns of it at all is the check.
    checkReport: (state) => expect(state.held, 'the resumed SDK no longer claims the lock').toBe(false),
  });
}

/** Scenario 5: the holder's client is cut off from every node longer than its lease, then healed. */
export function holderPartitioned(context: ScenarioContext): Promise<void> {
  return staleHolder(context, {
    description: 'partitioned past its lease',
    apply: (holder, nodeIps) => partition([holder], nodeIps),
    heal: (holder) => healDrops(holder),
    checkReport: (state) => {
      expect(state.held, 'the SDK no longer claims the lock').toBe(false);
      expect(state.lost!.lastSafeUntil, 'the SDK had a safe deadline').not.toBeNull();
      expect(
        state.lost!.atMs,
        'lock.signal aborted no later than the safe deadline (plus timer lag)',
      ).toBeLessThanOrEqual(state.lost!.lastSafeUntil! + SIGNAL_LAG_TOLERANCE_MS);
    },
  });
}
