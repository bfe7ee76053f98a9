// Which inbound peer streams a node admits (docs/design.md, principle 8), and which messages on an admitted stream it
// delivers: the cluster id and the sending member on every stream, a joining node adopting the first cluster id, the
// transport identity asked whether it speaks for the member, and messages only from that member while it is one.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { encodeMessages } from '../../src/raft/codec.js';
import {
  CLUSTER_ID_METADATA,
  type InboundPeerCall,
  PEER_ID_METADATA,
  type PeerAuthenticator,
  type PeerMembership,
  PeerTransport,
} from '../../src/raft/transport.js';
import type { Message } from '../../src/raft/types.js';

/** An inbound call carrying `metadata` (what admit() reads of it). */
function callWith(metadata: Record<string, string>): InboundPeerCall {
  const values = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) values.set(key, value);
  return {
    metadata: values,
    getPeer: () => 'ipv4:127.0.0.1:1',
    getAuthContext: () => ({}),
  } as unknown as InboundPeerCall;
}

/** A membership of `members` in cluster `clusterId` ('' while joining), recording adoptions. */
function membershipOf(clusterId: string, members: readonly string[]): PeerMembership & { adopted: string[] } {
  let current = clusterId;
  const adopted: string[] = [];
  return {
    adopted,
    clusterId: () => current,
    adoptClusterId: async (id) => {
      adopted.push(id);
      current = id;
    },
    isMember: (peer) => members.length === 0 || members.includes(peer),
  };
}

function transportWith(
  membership: PeerMembership,
  delivered: Message[] = [],
  authenticator?: PeerAuthenticator,
): PeerTransport {
  return new PeerTransport({
    selfId: 'a',
    membership,
    onMessage: (message) => delivered.push(message),
    ...(authenticator === undefined ? {} : { authenticator }),
  });
}

const stream = (sender: string, clusterId: string) =>
  callWith({ [PEER_ID_METADATA]: sender, [CLUSTER_ID_METADATA]: clusterId });

describe('admitting an inbound peer stream', () => {
  it.each([
    ['a member of this cluster', stream('b', 'c1'), { sender: 'b' }],
    ['another cluster', stream('b', 'c2'), { refused: 'b belongs to cluster c2, this node to cluster c1' }],
    ['a non-member', stream('z', 'c1'), { refused: 'z is not a member of cluster c1' }],
    [
      'a stream naming no member',
      callWith({ [CLUSTER_ID_METADATA]: 'c1' }),
      { refused: expect.stringMatching(/names no sending member/) },
    ],
    [
      'a stream naming no cluster',
      callWith({ [PEER_ID_METADATA]: 'b' }),
      { refused: expect.stringMatching(/b names no cluster id/) },
    ],
  ])('%s', async (_what, call, verdict) => {
    const transport = transportWith(membershipOf('c1', ['a', 'b', 'c']));
    try {
      expect(await transport.admit(call)).toEqual(verdict);
    } finally {
      transport.close();
    }
  });

  it('asks the transport identity before anything else, and refuses with its reason', async () => {
    const membership = membershipOf('', []);
    const transport = transportWith(membership, [], {
      channelCredentials: () => grpc.credentials.createInsecure(),
      refusal: (_call, peer) => `no certificate for ${peer}`,
    });
    try {
      expect(await transport.admit(stream('b', 'c1'))).toEqual({ refused: 'no certificate for b' });
      expect(membership.adopted).toEqual([]);
    } finally {
      transport.close();
    }
  });

  it('lets a joining node adopt the first cluster id, then holds it to that id', async () => {
    const membership = membershipOf('', []);
    const transport = transportWith(membership);
    try {
      expect(await transport.admit(stream('leader', 'c1'))).toEqual({ sender: 'leader' });
      expect(await transport.admit(stream('other', 'c2'))).toEqual({
        refused: 'other belongs to cluster c2, this node to cluster c1',
      });
      expect(membership.adopted).toEqual(['c1']);
    } finally {
      transport.close();
    }
  });
});

describe('messages on an admitted stream', () => {
  it('delivers only those from the admitted member, while it is a member', () => {
    const members = ['a', 'b', 'c'];
    const delivered: Message[] = [];
    const membership = membershipOf('c1', members);
    const transport = transportWith(membership, delivered);
    const from = (sender: string, to = 'a'): Message => ({ type: 'timeout-now', from: sender, to, term: 9 });
    try {
      transport.receive(encodeMessages([from('b'), from('c'), from('b', 'c')]), 'b');
      expect(delivered).toEqual([from('b')]);
      members.splice(members.indexOf('b'), 1);
      transport.receive(encodeMessages([from('b')]), 'b');
      expect(delivered).toHaveLength(1);
      expect(transport.droppedMessages).toBe(2);
    } finally {
      transport.close();
    }
  });
});
