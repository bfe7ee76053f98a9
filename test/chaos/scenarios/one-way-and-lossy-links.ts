// Scenario 6: a one-way partition between the leader and one follower (what the leader sends that follower is
// dropped, the other direction flows), then the same link degraded through the server's own transport fault hook
// (delay, jitter and drops, as the kernel here has no netem). The cluster keeps a leader and keeps granting.

import { setTimeout as delay } from 'node:timers/promises';
import { dropOutgoing, healDrops, setTransportFault } from '../harness/faults.js';
import type { ScenarioContext } from '../harness/scenario.js';

/** How long each fault is held (its duration, not a synchronization). */
const FAULT_HOLD_MS = 5_000;

/** One-way drop leader -> follower, heal; then delayed and lossy peer traffic both ways on that link, clear. */
export async function oneWayAndLossyLinks(context: ScenarioContext): Promise<void> {
  const { cluster } = context;
  const before = await cluster.waitForLeader();
  const leader = cluster.node(before.id);
  const follower = cluster.nodes.find((node) => node !== leader)!;

  let faultAtMs = Date.now();
  await dropOutgoing(leader.container, [follower.container.ip]);
  await context.measureRecovery(`one-way drop ${leader.id} -> ${follower.id}`, faultAtMs, { leaderBefore: before.id });
  await delay(FAULT_HOLD_MS);
  await healDrops(leader.container);
  const healed = await cluster.waitForFollowerOf(follower);

  const lossy = { delayMs: 200, jitterMs: 150, dropRate: 0.3 };
  const current = cluster.node(healed.id);
  const peer = cluster.nodes.find((node) => node !== current)!;
  faultAtMs = Date.now();
  await setTransportFault(current.httpUrl, { peer: peer.id, ...lossy });
  await setTransportFault(peer.httpUrl, { peer: current.id, ...lossy });
  await context.measureRecovery(`lossy link ${current.id} <-> ${peer.id} (200±150 ms, 30% drop)`, faultAtMs, {
    leaderBefore: healed.id,
  });
  await delay(FAULT_HOLD_MS);
  const clear = { delayMs: 0, jitterMs: 0, dropRate: 0 };
  await setTransportFault(current.httpUrl, { peer: peer.id, ...clear });
  await setTransportFault(peer.httpUrl, { peer: current.id, ...clear });
  await cluster.waitForFollowerOf(peer);
}
