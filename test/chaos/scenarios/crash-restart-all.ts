// Scenario 7: every node crashes and restarts in turn with its data kept, then all nodes crash at once and restart.
// The cluster comes back each time with its committed state (acknowledged grants still held) and tokens continue
// upward (checked after the scenario by a fresh acquire of every lock).

import { expect } from 'vitest';
import { crash, startAgain } from '../harness/faults.js';
import type { ScenarioContext } from '../harness/scenario.js';

/** Crash/restart each node in turn, then all of them at once. */
export async function crashRestartAll(context: ScenarioContext): Promise<void> {
  const { cluster, workload } = context;
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

  expect(workload.sessionsLost, 'load-client sessions lost while single nodes (leader included) crashed').toBe(0);
  // With every node down, no leader answers until the containers restart and elect one (about 6 s here), which can
  // outlast a client's safe period (its TTL less the time since its last keepalive): the SDK may then end its
  // session, as it must, and the workload replaces it.
  context.allowSessionLoss('the whole cluster is down for about as long as a session promise');

  const before = await cluster.waitForLeader();
  const faultAtMs = Date.now();
  await Promise.all(cluster.nodes.map((node) => crash(node.container)));
  await Promise.all(cluster.nodes.map((node) => startAgain(node.container)));
  await context.measureRecovery('crash all nodes, restart', faultAtMs, { leaderBefore: before.id });
  await Promise.all(cluster.nodes.map((node) => cluster.waitForFollowerOf(node)));
}
