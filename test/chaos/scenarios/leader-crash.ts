// Scenario 1: the leader crashes under load. A new leader serves, the clients find it by leader discovery, no
// acknowledged grant is lost; the old leader restarts with its data and rejoins. One more load client is given only
// the old leader's address and one follower's: when the other follower wins, it can reach it only through a
// not-leader answer's hint.

import { crash, startAgain } from '../harness/faults.js';
import { RECOVERY_BOUND_MS, recordRecovery } from '../harness/results.js';
import type { ScenarioContext } from '../harness/scenario.js';

const DISCOVERY_LOCK = 'chaos/discovery';

/** Crash the leader, measure recovery (also of the client with a partial endpoint list), restart the old leader. */
export async function leaderCrash(context: ScenarioContext): Promise<void> {
  const { cluster, workload } = context;
  const leader = cluster.node(context.initialLeader.id);
  const survivors = cluster.nodes.filter((node) => node !== leader);
  const partial = [leader, survivors[0]!];
  await workload.addClient(
    'discovery-client',
    partial.map((node) => node.address),
    [DISCOVERY_LOCK],
  );
  await workload.nextGrantAfter(Date.now(), RECOVERY_BOUND_MS, DISCOVERY_LOCK);

  const faultAtMs = Date.now();
  await crash(leader.container);
  // The old leader goes on granting until the kill lands (its grants came 90-200 ms after faultAtMs, before any
  // election): only a grant made after `docker kill` returned comes from the new leader.
  const crashedAtMs = Date.now();
  const recovery = await context.measureRecovery('leader killed', faultAtMs, {
    accept: (next) => next.id !== leader.id,
    among: survivors,
    grantsFromMs: crashedAtMs,
  });
  // A grant made after the crash can only come from the new leader, so the client found it.
  const discoveredAtMs = await workload.nextGrantAfter(crashedAtMs, RECOVERY_BOUND_MS, DISCOVERY_LOCK);
  const hinted = !partial.some((node) => node.id === recovery.leaderAfter);
  recordRecovery({
    ...recovery,
    fault: `leader killed: client knowing ${partial.map((node) => node.id).join('+')} only${hinted ? ' (via hint)' : ''}`,
    nextGrantMs: discoveredAtMs - faultAtMs,
  });

  await startAgain(leader.container);
  await cluster.waitForFollowerOf(leader);
}
