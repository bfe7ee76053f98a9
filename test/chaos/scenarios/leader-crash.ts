// Scenario 1: the leader crashes under load. A new leader serves, the clients (given only the endpoint list) find it
// by leader discovery, no acknowledged grant is lost; the old leader restarts with its data and rejoins.

import { crash, startAgain } from '../harness/faults.js';
import type { ScenarioContext } from '../harness/scenario.js';

/** Crash the leader, measure recovery, restart it with its data kept. */
export async function leaderCrash(context: ScenarioContext): Promise<void> {
  const { cluster } = context;
  const leader = cluster.node(context.initialLeader.id);
  const survivors = cluster.nodes.filter((node) => node !== leader);
  const faultAtMs = Date.now();
  await crash(leader.container);
  await context.measureRecovery('leader killed', faultAtMs, {
    accept: (next) => next.id !== leader.id,
    among: survivors,
  });
  await startAgain(leader.container);
  await cluster.waitForFollowerOf(leader);
}
