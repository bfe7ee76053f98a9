// etcd's strict reconfiguration as a table: which membership changes the leader refuses, with which code and advice.
import { describe, expect, it } from 'vitest';
import { checkReconfigSafety, type ReconfigView } from '../../src/raft/reconfig-safety.js';
import type { ConfChange, NodeId } from '../../src/raft/types.js';

function view(
  voters: NodeId[],
  learners: NodeId[],
  active: NodeId[],
  matches: Record<NodeId, number> = {},
): ReconfigView {
  const addresses = Object.fromEntries([...voters, ...learners].map((id) => [id, `127.0.0.1:${id.length}`]));
  return {
    conf: { voters, learners, addresses },
    active: new Set(active),
    lastIndex: 1_000,
    matchIndex: (id) => matches[id],
  };
}

function refusal(v: ReconfigView, change: ConfChange, force = false): { code: string; message: string } | null {
  try {
    checkReconfigSafety(v, change, { force });
    return null;
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
}

const add = (id: string): ConfChange => ({ kind: 'add-voter', id, address: '127.0.0.1:9198' });

describe('strict reconfiguration', () => {
  it.each([
    ['a learner to any cluster', view(['a'], [], ['a']), { kind: 'add-learner', id: 'n5', address: 'x:1' }, null],
    ['a voter to a lone node (the issue: 1 of 2 started)', view(['a'], [], ['a']), add('n5'), 'INVALID_CONF_CHANGE'],
    ['a voter to 3 started voters (3 of 4)', view(['a', 'b', 'c'], [], ['a', 'b', 'c']), add('d'), null],
    [
      'a voter to 3 voters with one down (2 of 4)',
      view(['a', 'b', 'c'], [], ['a', 'b']),
      add('d'),
      'INVALID_CONF_CHANGE',
    ],
    ['a voter to 2 started voters (2 of 3)', view(['a', 'b'], [], ['a', 'b']), add('c'), null],
  ] as const)('adding %s', (_, v, change, code) => {
    expect(refusal(v, change as ConfChange)?.code ?? null).toBe(code);
  });

  it('says why and what to do when it refuses a voter', () => {
    expect(refusal(view(['a'], [], ['a']), add('n5'))?.message).toMatch(
      /would need 2 of 2 voters for a quorum, and only 1 is started.*Add it as a learner/,
    );
  });

  it.each([
    ['a follower of 3 started voters', view(['a', 'b', 'c'], [], ['a', 'b', 'c']), 'c', false, null],
    ['a follower when the other is down', view(['a', 'b', 'c'], [], ['a', 'b']), 'b', false, 'INVALID_CONF_CHANGE'],
    ['the same, with --force', view(['a', 'b', 'c'], [], ['a', 'b']), 'b', true, null],
    ['the member that is down', view(['a', 'b', 'c'], [], ['a', 'b']), 'c', false, null],
    ['a learner, even when voters are down', view(['a', 'b', 'c'], ['d'], ['a']), 'd', false, null],
    ['an unknown member', view(['a', 'b', 'c'], [], ['a', 'b', 'c']), 'n9', false, 'MEMBER_NOT_FOUND'],
    ['an unknown member, even with --force', view(['a'], [], ['a']), 'n9', true, 'MEMBER_NOT_FOUND'],
  ] as const)('removing %s', (_, v, id, force, code) => {
    expect(refusal(v, { kind: 'remove', id }, force)?.code ?? null).toBe(code);
  });

  it('names the members not heard from when it refuses a removal, and the way out', () => {
    expect(refusal(view(['a', 'b', 'c'], [], ['a', 'b']), { kind: 'remove', id: 'b' })?.message).toMatch(
      /of which only 1 is started \(not heard from: c\).*--force/,
    );
  });

  it.each([
    ['a caught-up learner', view(['a'], ['d'], ['a', 'd'], { d: 995 }), 'd', null],
    ['a learner at 50% of the log', view(['a'], ['d'], ['a', 'd'], { d: 500 }), 'd', 'INVALID_CONF_CHANGE'],
    ['a learner never heard from', view(['a'], ['d'], ['a'], { d: 0 }), 'd', 'INVALID_CONF_CHANGE'],
    ['a learner that stopped answering', view(['a'], ['d'], ['a'], { d: 1_000 }), 'd', 'INVALID_CONF_CHANGE'],
    ['a voter', view(['a', 'b'], [], ['a', 'b']), 'b', 'INVALID_CONF_CHANGE'],
    ['an unknown member', view(['a'], [], ['a']), 'n9', 'MEMBER_NOT_FOUND'],
  ] as const)('promoting %s', (_, v, id, code) => {
    expect(refusal(v, { kind: 'promote', id })?.code ?? null).toBe(code);
  });

  it('says how far behind a learner is and what to do', () => {
    expect(refusal(view(['a'], ['d'], ['a', 'd'], { d: 500 }), { kind: 'promote', id: 'd' })?.message).toMatch(
      /learner d has not caught up: it holds the log up to 500 of 1000.*promote it again/,
    );
  });
});
