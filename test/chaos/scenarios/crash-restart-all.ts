// Scenario 7: every node crashes and restarts in turn with its data kept, then all nodes crash at once and restart.
// The cluster comes back each time with its committed state (acknowledged grants still held) and tokens continue
// upward (checked after the scenario by a fresh acquire of every lock).

import { crash, startAgain } from '../harness/faults.js';
import type { ScenarioContext } from '../harness/scenario.js';

/** Crash/restart each node in turn, then all of them at once. */
export async function crashRestartAll(context: ScenarioContext): Promise<void> {
  const { cluster } = context;
  for (const node of cluster.nodes) {
    const before = await cluster.waitForLeader();
    const others = cluster.nodes.filter((other) => other !== node);
    const faultAtMs = Date.now();
    await crash(node.container);
    await context.measureRecovery(`crash ${node.id}${node.id === before.id ? ' (leader)' : ''}`, faultAtMs, {
      accept: (leader) => leader.id !== node.id,
      among: others,
      leaderBefore: before.id,
    });
    await startAgain(node.container);
    await cluster.waitForFollowerOf(node);
  }

  const before = await cluster.waitForLeader();
  const faultAtMs = Date.now();
  await Promise.all(cluster.nodes.map((node) => crash(node.container)));
  await Promise.all(cluster.nodes.map((node) => startAgain(node.container)));
  await context.measureRecovery('crash all nodes, restart', faultAtMs, { leaderBefore: before.id });
  await Promise.all(cluster.nodes.map((node) => cluster.waitForFollowerOf(node)));
}
