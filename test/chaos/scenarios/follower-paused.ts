// Scenario 3: a follower is paused (a stop-the-world freeze) past the election timeout, then resumed. It catches up
// as a follower without disrupting the leader: same leader, same term (PreVote keeps its stale timer harmless).

import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'vitest';
import { pause, unpause } from '../harness/faults.js';
import type { ScenarioContext } from '../harness/scenario.js';

/** How long the follower stays frozen: well past the 1-2 s election timeout. */
const PAUSE_MS = 5_000;

/** Freeze a follower, keep serving, resume it, check the leader and term did not change. */
export async function followerPaused(context: ScenarioContext): Promise<void> {
  const { cluster } = context;
  const before = await cluster.waitForLeader();
  const follower = cluster.nodes.find((node) => node.id !== before.id)!;
  const others = cluster.nodes.filter((node) => node !== follower);

  const faultAtMs = Date.now();
  await pause(follower.container);
  await context.measureRecovery('follower paused 5 s', faultAtMs, { among: others });
  // The fault's duration (not a synchronization): keep the follower frozen for the rest of PAUSE_MS.
  await delay(Math.max(0, faultAtMs + PAUSE_MS - Date.now()));
  await unpause(follower.container);
  const after = await cluster.waitForFollowerOf(follower);
  expect(after.id, 'the leader did not change').toBe(before.id);
  expect(after.term, 'the resumed follower did not force a new term').toBe(before.term);
}
