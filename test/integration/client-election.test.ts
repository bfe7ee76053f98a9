// Leader election on a lock against a real in-process node: campaign, leader(), observe() and resign().
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { useClientFixtures } from './client-harness.js';

const { singleNode, client } = useClientFixtures();

describe('leader election on a lock', () => {
  it('campaign waits for the leadership, observe yields each new leader, resign hands it over', async () => {
    const { endpoint } = await singleNode();
    const [a, b] = await Promise.all([client([endpoint], 'a'), client([endpoint], 'b')]);
    const electionA = a.election('scheduler');
    const electionB = b.election('scheduler');
    expect(await electionA.leader()).toBeUndefined();
    const leadership = await electionA.campaign('worker-a');
    expect(leadership.held).toBe(true);
    expect(electionA.isLeader).toBe(true);
    expect(await electionB.leader()).toBe('worker-a');

    const seen: string[] = [];
    const observing = (async () => {
      for await (const leader of electionB.observe({ intervalMs: 20 })) {
        seen.push(leader);
        if (seen.length === 2) break;
      }
    })();
    const campaignB = electionB.campaign('worker-b');
    await waitFor('b to be queued', async () => (await a.admin().listLocks('election/scheduler'))[0]?.waiters === 1);
    await waitFor('the observer to see worker-a', () => seen.length >= 1);
    await electionA.resign();
    expect(electionA.isLeader).toBe(false);
    await campaignB;
    await observing;
    expect(seen).toEqual(['worker-a', 'worker-b']);
    expect(await electionA.leader()).toBe('worker-b');
  });
});
