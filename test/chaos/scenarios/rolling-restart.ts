// Scenario 9: a rolling restart under load, one node at a time (graceful stop, start with data kept, wait until it
// has rejoined). The clients see no errors: whatever failed during a restart the SDK retried on its own.

import { expect } from 'vitest';
import { restartGracefully } from '../harness/faults.js';
import type { ScenarioContext } from '../harness/scenario.js';

/** Restart every node in turn; the load's clients must not have seen a single failed acquire. */
export async function rollingRestart(context: ScenarioContext): Promise<void> {
  const { cluster, workload } = context;
  for (const node of cluster.nodes) {
    const before = await cluster.waitForLeader();
    const faultAtMs = Date.now();
    await restartGracefully(node.container);
    await context.measureRecovery(`restart ${node.id}${node.id === before.id ? ' (leader)' : ''}`, faultAtMs, {
      leaderBefore: before.id,
    });
    await cluster.waitForFollowerOf(node);
  }
  expect(Object.fromEntries(workload.errorCounts), 'acquire errors surfaced to the clients').toEqual({});
}
