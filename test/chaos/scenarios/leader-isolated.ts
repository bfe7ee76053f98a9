// Scenario 2: the leader is cut off in a minority partition (alone of 3; with one follower of 5). It steps down
// (CheckQuorum), the majority elects a new leader and serves; after healing, the old leader rejoins as a follower
// without disrupting the new one (PreVote: the term does not move). The checker verifies no two exclusive holders
// at once by token order over the whole history.

import { expect } from 'vitest';
import { waitFor } from '../../support/wait-for.js';
import { fetchStatus } from '../harness/cluster.js';
import { healDrops, partition } from '../harness/faults.js';
import type { ScenarioContext } from '../harness/scenario.js';
import { CHAOS_POLL } from '../harness/wait.js';

/** Isolate the leader (with a follower on 5 nodes), measure, heal, check the old leader rejoins quietly. */
export async function leaderIsolated(context: ScenarioContext): Promise<void> {
  const { cluster } = context;
  const leader = cluster.node(context.initialLeader.id);
  const followers = cluster.nodes.filter((node) => node !== leader);
  const minority = [leader, ...followers.slice(0, Math.floor(cluster.size / 2) - 1)];
  const majority = cluster.nodes.filter((node) => !minority.includes(node));

  const faultAtMs = Date.now();
  await partition(
    minority.map((node) => node.container),
    majority.map((node) => node.container.ip),
  );
  const next = await context.measureRecovery('leader in minority partition', faultAtMs, {
    accept: (candidate) => majority.some((node) => node.id === candidate.id),
    among: majority,
  });
  // CheckQuorum: the old leader, still reachable from the host, no longer calls itself leader.
  await waitFor(
    `${leader.id} steps down`,
    async () => {
      const status = await fetchStatus(leader);
      return status.members.find((member) => member.id === leader.id)?.role !== 'leader';
    },
    30_000,
    CHAOS_POLL,
  );

  const newLeader = cluster.node(next.leaderAfter);
  const termBeforeHeal = (await fetchStatus(newLeader)).term;
  for (const node of minority) await healDrops(node.container);
  await Promise.all(minority.map((node) => cluster.waitForFollowerOf(node)));
  const after = await cluster.waitForLeader();
  expect(after.id, 'the majority leader keeps leading after the heal').toBe(newLeader.id);
  expect(after.term, 'the rejoining minority did not force a new term (PreVote)').toBe(termBeforeHeal);
}
