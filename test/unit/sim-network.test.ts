// The simulator's in-memory network links (hashicorp/raft's InmemTransport Connect/Disconnect/Partition).
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/raft/types.js';
import { RaftNetwork } from '../../src/sim/raft-network.js';
import { SeededRng } from '../../src/util/rng.js';

const vote = (from: string, to: string): Message => ({
  type: 'vote',
  from,
  to,
  term: 1,
  lastLogIndex: 0,
  lastLogTerm: 0,
});

describe('the simulated network between Raft nodes', () => {
  it('disconnects and connects one direction of a link', () => {
    const network = new RaftNetwork(new SeededRng(1));
    network.disconnect('a', 'b');
    expect([network.connected('a', 'b'), network.connected('b', 'a')]).toEqual([false, true]);
    network.connect('a', 'b');
    expect(network.connected('a', 'b')).toBe(true);
  });

  it('partitions groups both ways until healed, and loses what is sent over a cut link', () => {
    const network = new RaftNetwork(new SeededRng(1));
    network.partition(['a'], ['b', 'c']);
    expect([network.connected('a', 'c'), network.connected('c', 'a'), network.connected('b', 'c')]).toEqual([
      false,
      false,
      true,
    ]);
    expect(network.route(vote('a', 'b'))).toEqual([]);
    network.heal();
    expect(network.route(vote('a', 'b'))).toHaveLength(1);
  });
});
