// `forelock status` for people: the leader's replication view in MATCH and LAG columns, a member the leader cannot
// reach shown as unreachable rather than as a plain follower, and the answering node's applied index.
import { describe, expect, it } from 'vitest';
import { formatStatus, statusJson } from '../../src/cli/commands/status.js';
import type { ClusterStatus } from '../../src/client/admin.js';

const member = (id: string, role: string, reachable: boolean, matchIndex: bigint, lagEntries: bigint) => ({
  id,
  address: `${id}.forelock:7400`,
  role,
  replication: { reachable, matchIndex, lagEntries },
});

const status: ClusterStatus = {
  id: 'n1',
  leader: 'n1',
  leaderAddress: 'n1.forelock:7400',
  term: 4n,
  commitIndex: 120n,
  appliedIndex: 120n,
  members: [
    member('n1', 'leader', true, 120n, 0n),
    member('n2', 'follower', true, 119n, 1n),
    member('n3', 'follower', false, 80n, 40n),
  ],
  sessions: 2,
  locks: 1,
};

describe('forelock status', () => {
  it('shows a member the leader cannot reach as unreachable, with its match and lag', () => {
    const lines = formatStatus(status).split('\n');
    expect(lines[1]).toBe('answered by n1, applied index 120');
    expect(lines.find((line) => line.startsWith('n3'))).toMatch(
      /^n3\s+n3\.forelock:7400\s+follower \(unreachable\)\s+80\s+40$/,
    );
    expect(lines.find((line) => line.startsWith('n2'))).toMatch(/^n2\s+n2\.forelock:7400\s+follower\s+119\s+1$/);
  });

  it('leaves the replication view out when a node other than the leader answered', () => {
    const fromFollower: ClusterStatus = {
      ...status,
      id: 'n2',
      members: status.members.map((each) => ({ ...each, replication: null })),
    };
    expect(statusJson(fromFollower).members.map((each) => [each.reachable, each.matchIndex, each.lagEntries])).toEqual([
      [null, null, null],
      [null, null, null],
      [null, null, null],
    ]);
    expect(formatStatus(fromFollower)).not.toContain('unreachable');
  });
});
