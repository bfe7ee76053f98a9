// Scenario 8: replace a node under load with the `forelock members` commands, as an operator would: start the new
// node from its join config (cluster/config/3-node/node4.json), add it as a learner, promote it once it has caught
// up, remove the old node, stop it. The leader keeps serving throughout and the membership ends as planned.

import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { waitFor } from '../../support/wait-for.js';
import { fetchStatus } from '../harness/cluster.js';
import { runHost } from '../harness/docker.js';
import { stopGracefully } from '../harness/faults.js';
import type { ScenarioContext } from '../harness/scenario.js';
import { CHAOS_POLL } from '../harness/wait.js';

const cli = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));

/**
 * Runs `forelock members ...` against the cluster from the host, as an operator would. The endpoints go through
 * FORELOCK_ENDPOINTS: `members add ... --endpoints X` is taken by the parent `members` command and the subcommand
 * dials its default 127.0.0.1:7400 instead (reported to the CLI's owner).
 */
function members(endpoints: readonly string[], args: readonly string[]): Promise<string> {
  return runHost('env', [`FORELOCK_ENDPOINTS=${endpoints.join(',')}`, 'node', cli, 'members', ...args]);
}

/** Add node4 as a learner, promote it, remove a follower, stop that follower. */
export async function replaceMember(context: ScenarioContext): Promise<void> {
  const { cluster } = context;
  const before = await cluster.waitForLeader();
  const leader = cluster.node(before.id);
  const old = cluster.nodes.find((node) => node !== leader)!;
  const endpoints = cluster.endpoints();

  const added = await cluster.startNode(4);
  await members(endpoints, ['add', `${added.id}=${added.address}`, '--learner']);
  await waitFor(
    `${added.id} catches up as a learner`,
    async () => {
      const [mine, leaders] = await Promise.all([fetchStatus(added), fetchStatus(leader)]);
      return mine.leader === leader.id && mine.commitIndex >= leaders.commitIndex - 5;
    },
    60_000,
    CHAOS_POLL,
  );
  await members(endpoints, ['promote', added.id]);
  const faultAtMs = Date.now();
  await members(endpoints, ['remove', old.id]);
  await stopGracefully(old.container);
  cluster.forget(old.id);
  await context.measureRecovery(`remove ${old.id} (replaced by ${added.id}), stop it`, faultAtMs, {
    leaderBefore: before.id,
  });

  const status = await fetchStatus(cluster.node((await cluster.waitForLeader()).id));
  expect(
    status.members.map((member) => `${member.id}:${member.role === 'learner' ? 'learner' : 'voter'}`).sort(),
    'the membership after the replacement',
  ).toEqual(cluster.nodes.map((node) => `${node.id}:voter`).sort());
}
