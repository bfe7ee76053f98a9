// The scale benchmark's own logic (issue 13, its targets): the command line refuses bad values before anything
// starts, the targets table gives each target its verdict (MET/MISS, marked when measured below the target's size,
// n/a when not run), leader changes are counted from the nodes' /metrics as the node that saw most of them counts,
// and the timed runs and the steady churn do each task once. The figures themselves are the benchmark's, not asserted.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { leaderChangesSince, markLeadership } from '../../bench/leadership-watch.js';
import type { DistinctNamesRow } from '../../bench/scale-distinct-names.js';
import type { HeldLocksRow } from '../../bench/scale-held-locks.js';
import type { IdleSessionsRow } from '../../bench/scale-idle-sessions.js';
import { churn, runTimed } from '../../bench/scale-load.js';
import { parseScaleOptions } from '../../bench/scale-options.js';
import type { RestartOutcome } from '../../bench/scale-restart.js';
import { checkScaleTargets, formatScaleTargets } from '../../bench/scale-targets.js';
import type { Client } from '../../src/client/client.js';
import type { LocalNode } from '../../src/server/local-cluster.js';

describe('parseScaleOptions', () => {
  it('keeps the single-node held-locks run as the default', () => {
    const options = parseScaleOptions([]);
    expect(options).toMatchObject({ nodes: 1, locks: [1_000, 10_000], sessions: 100, restarts: ['leader'] });
    expect(options).toMatchObject({ steadyMs: 0, idleSessions: 0, distinctNames: 0, targets: false });
  });

  it('gives 3 nodes a 30 s steady load, and restarts a follower then the leader (none with --no-restart)', () => {
    expect(parseScaleOptions(['--nodes', '3']).restarts).toEqual(['follower', 'leader']);
    expect(parseScaleOptions(['--nodes', '3']).steadyMs).toBe(30_000);
    expect(parseScaleOptions(['--nodes', '3', '--steady-ms', '0']).steadyMs).toBe(0);
    expect(parseScaleOptions(['--nodes', '3', '--no-restart']).restarts).toEqual([]);
    expect(parseScaleOptions(['--nodes', '3', '--restart', 'leader']).restarts).toEqual(['leader']);
  });

  it('runs only what is asked for when another run is named', () => {
    expect(parseScaleOptions(['--idle-sessions', '50_000']).locks).toEqual([]);
    expect(parseScaleOptions(['--distinct-names', '1000000']).locks).toEqual([]);
    const both = parseScaleOptions(['--distinct-names', '20000', '--locks', '2000']);
    expect(both).toMatchObject({ locks: [2_000], distinctNames: 20_000 });
  });

  it.each([
    [['--nodes', '2'], '--nodes must be 1 or 3, got 2'],
    [['--locks', '1000,ten'], '--locks must be an integer >= 1, got "ten"'],
    [['--sessions', '0'], '--sessions must be an integer >= 1, got "0"'],
    [['--idle-sessions=-5'], '--idle-sessions must be an integer >= 0, got "-5"'],
    [['--steady-ms', '1.5'], '--steady-ms must be an integer >= 0, got "1.5"'],
    [['--restart', 'follower'], '--restart follower needs --nodes 3'],
    [['--nodes', '3', '--restart', 'candidate'], '--restart takes leader and/or follower'],
    [['--preemption', 'maybe'], '--preemption must be on or off, got "maybe"'],
    [['--base-port', '80'], '--base-port must be an integer >= 1024, got "80"'],
  ])('refuses %j', (args, message) => {
    expect(() => parseScaleOptions(args)).toThrow(message);
  });
});

const restart = (role: 'leader' | 'follower', readyMs: number, sessionsLost: number): RestartOutcome => ({
  role,
  readyMs,
  settledMs: readyMs,
  sessionsResumed: 1_000 - sessionsLost,
  sessionsLost,
  locksKept: 100_000,
  locksLost: 0,
  cpuMs: 1_000,
  leadership: { leaderChanges: role === 'leader' ? 1 : 0, terms: role === 'leader' ? 1 : 0 },
  lossReasons: {},
});

const heldLocks = (overrides: Partial<HeldLocksRow> = {}): HeldLocksRow => ({
  nodes: 3,
  locks: 100_000,
  sessions: 1_000,
  preemption: 'on',
  fillRatesPerSecond: [6_000, 5_500, 7_000],
  fillErrors: 0,
  fillFirstError: null,
  restCpuPercent: 4,
  rssMb: 420,
  listMs: 3_000,
  listOutcome: 'ok',
  steady: {
    durationMs: 600_000,
    churn: { pairsPerSecond: 200, errors: 0, firstError: null },
    leadership: { leaderChanges: 0, terms: 0 },
    leaderCpuPercent: 12,
    sessionsLost: 0,
  },
  leadership: { leaderChanges: 0, terms: 0 },
  restarts: [restart('follower', 3_000, 0), restart('leader', 12_000, 0)],
  ...overrides,
});

const idle = (overrides: Partial<IdleSessionsRow> = {}): IdleSessionsRow => ({
  nodes: 3,
  sessions: 50_000,
  processes: 5,
  openFailures: 0,
  openError: null,
  openMs: 30_000,
  restCpuPercent: 35,
  clientsCpuPercent: 60,
  rssMb: 300,
  clientsRssMb: 900,
  sessionsLost: 0,
  lossReasons: {},
  leadership: { leaderChanges: 0, terms: 0 },
  ...overrides,
});

const distinct = (overrides: Partial<DistinctNamesRow> = {}): DistinctNamesRow => ({
  nodes: 3,
  names: 1_000_000,
  sessions: 100,
  wave: 10_000,
  rssBeforeMb: 100,
  rssPeakMb: 400,
  rssAfterMb: 230,
  namesPerSecond: 3_000,
  errors: 0,
  firstError: null,
  leadership: { leaderChanges: 0, terms: 0 },
  ...overrides,
});

const verdicts = (checks: ReturnType<typeof checkScaleTargets>) =>
  checks.map((check) => [check.target, check.met, check.atTargetSize]);

describe('checkScaleTargets', () => {
  it('gives every issue-13 target its verdict at the targets sizes', () => {
    const checks = checkScaleTargets({ heldLocks: [heldLocks()], idleSessions: idle(), distinctNames: distinct() });
    expect(verdicts(checks)).toEqual([
      [expect.stringContaining('leader CPU at rest <= 10%'), true, true],
      [expect.stringContaining('leader RSS <= 500 MB'), true, true],
      [expect.stringContaining('acquire rate while filling >= 5,000/s'), true, true],
      [expect.stringContaining('no leader change in 10 minutes'), true, true],
      [expect.stringContaining('restarted follower'), true, true],
      // Ready after 12 s: more than the 10 s the target allows.
      [expect.stringContaining('restarted leader'), false, true],
      [expect.stringContaining('<= 40% of a core'), true, true],
      [expect.stringContaining('no session lost'), true, true],
      // 230 MB after, 100 MB before: 130 MB kept.
      [expect.stringContaining('1,000,000 distinct names'), false, true],
    ]);
    expect(checks[8]!.measured).toContain('100 MB before, 400 MB at the peak, 230 MB after the rest (+130 MB)');
  });

  it('misses on the lowest tenth, a failed acquire, a leader change, a lost session', () => {
    const checks = checkScaleTargets({
      heldLocks: [
        heldLocks({
          fillRatesPerSecond: [9_000, 4_999, 9_000],
          steady: { ...heldLocks().steady!, leadership: { leaderChanges: 1, terms: 2 } },
        }),
      ],
      idleSessions: idle({ sessionsLost: 1 }),
      distinctNames: distinct({ rssAfterMb: 150 }),
    });
    expect(checks.find((check) => check.target.includes('acquire rate'))).toMatchObject({
      measured: expect.stringContaining('lowest tenth 4,999/s'),
      met: false,
    });
    expect(checks.find((check) => check.target.includes('leader change'))?.met).toBe(false);
    expect(checks.find((check) => check.target.includes('no session lost'))?.met).toBe(false);
    expect(checks.find((check) => check.target.includes('distinct names'))?.met).toBe(true);
    const failedFill = checkScaleTargets({
      heldLocks: [heldLocks({ fillErrors: 3 })],
      idleSessions: null,
      distinctNames: null,
    });
    expect(failedFill.find((check) => check.target.includes('acquire rate'))?.met).toBe(false);
  });

  it('marks verdicts from smaller runs, judges the largest held-locks run, and gives n/a to what did not run', () => {
    const small = heldLocks({
      nodes: 1,
      locks: 2_000,
      sessions: 20,
      steady: null,
      restarts: [restart('leader', 1_000, 0)],
    });
    const checks = checkScaleTargets({
      heldLocks: [heldLocks({ nodes: 1, locks: 1_000, sessions: 20, restCpuPercent: 50 }), small],
      idleSessions: null,
      distinctNames: null,
    });
    expect(verdicts(checks)).toEqual([
      [expect.stringContaining('leader CPU at rest'), true, false],
      [expect.stringContaining('leader RSS'), true, false],
      [expect.stringContaining('acquire rate'), true, false],
      [expect.stringContaining('steady load'), null, false],
      [expect.stringContaining('restarted follower'), null, false],
      [expect.stringContaining('restarted leader'), true, false],
      [expect.stringContaining('40% of a core'), null, false],
      [expect.stringContaining('no session lost'), null, false],
      [expect.stringContaining('distinct names'), null, false],
    ]);
    expect(checks[0]!.measured).toBe('4% (2,000 locks, 20 sessions, one node)');
    const table = formatScaleTargets(checks);
    expect(table).toContain('| MET* |');
    expect(table).toContain('| not run | n/a |');
    expect(table).toContain("measured below the target's size");
    const fullSize = formatScaleTargets(
      checkScaleTargets({ heldLocks: [heldLocks()], idleSessions: idle(), distinctNames: distinct() }),
    );
    expect(fullSize).toContain('| MISS |');
    expect(fullSize).not.toContain('*');
  });
});

describe('leader changes from the nodes', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  /** A node's HTTP endpoint answering /metrics and /v1/status from `state`. */
  async function fakeNode(id: string, state: { changes: number | null; term: number }): Promise<LocalNode> {
    const server = createServer((request, response) => {
      if (request.url === '/metrics' && state.changes !== null) {
        response.end(`# HELP forelock_leader_changes_total x\nforelock_leader_changes_total ${state.changes}\n`);
      } else if (request.url === '/v1/status') {
        response.end(JSON.stringify({ id, leader: 'node1', term: state.term, commitIndex: 1, appliedIndex: 1 }));
      } else {
        response.statusCode = 404;
        response.end();
      }
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { id, listen: '127.0.0.1:1', http: `127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it('counts what the node that saw most changes counted, a restarted node from 0, and new terms', async () => {
    const states = [
      { changes: 3, term: 4 },
      { changes: 5, term: 4 },
      { changes: 2 as number | null, term: 3 },
    ];
    const nodes = await Promise.all(states.map((state, i) => fakeNode(`node${i + 1}`, state)));
    const mark = await markLeadership(nodes);
    expect(await leaderChangesSince(nodes, mark)).toEqual({ leaderChanges: 0, terms: 0 });
    // node3 restarted: its counter began again below its mark, and all of it is new (the one leader it has seen).
    states[2]!.changes = 1;
    expect(await leaderChangesSince(nodes, mark)).toEqual({ leaderChanges: 1, terms: 0 });
    // Two more leaders and two terms, seen by node1 and node2 alike: each counts every change, so not added up.
    states[0]!.changes = 5;
    states[1]!.changes = 7;
    states[1]!.term = 6;
    expect(await leaderChangesSince(nodes, mark)).toEqual({ leaderChanges: 2, terms: 2 });
    states[0]!.changes = 7;
    expect((await leaderChangesSince(nodes, mark)).leaderChanges).toBe(4);
    // A node that does not answer adds nothing.
    states[0]!.changes = null;
    expect((await leaderChangesSince(nodes, mark)).leaderChanges).toBe(2);
    // Nor does one that did not answer at the mark (it has no baseline; the others count the same changes).
    const laterMark = await markLeadership(nodes);
    states[0]!.changes = 9;
    expect(await leaderChangesSince(nodes, laterMark)).toEqual({ leaderChanges: 0, terms: 0 });
  });
});

describe('the load', () => {
  it('runTimed runs each task once, times every tenth and counts failures with the first reason', async () => {
    const seen: number[] = [];
    const run = await runTimed(100, 2, async (n) => {
      seen.push(n);
      await Promise.resolve();
      if (n % 25 === 7) throw new Error(`task ${n} failed`);
    });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(run.ratesPerSecond).toHaveLength(10);
    expect(run).toMatchObject({ errors: 4, firstError: 'task 7 failed' });
  });

  it('runTimed gives a run too short for a tenth the rate of the whole run', async () => {
    const run = await runTimed(5, 4, async () => {
      await new Promise((resolve) => setImmediate(resolve));
    });
    expect(run.ratesPerSecond).toHaveLength(1);
    expect(run.ratesPerSecond[0]).toBeGreaterThan(0);
    expect(Number.isFinite(run.ratesPerSecond[0])).toBe(true);
    expect(await runTimed(0, 4, async () => {})).toMatchObject({ ratesPerSecond: [], errors: 0 });
  });

  it('churn releases every lock it takes, from a bounded pool of names, over the clients in turn', async () => {
    const taken = new Map<string, number>();
    const names = new Set<string>();
    let released = 0;
    const fakeClient = (index: number) =>
      ({
        acquire: async (name: string) => {
          if (taken.has(name)) throw new Error(`${name} taken twice`);
          taken.set(name, index);
          names.add(name);
          return {
            release: async () => {
              taken.delete(name);
              released++;
            },
          };
        },
      }) as unknown as Client;
    const done = await churn([fakeClient(0), fakeClient(1)], 20, 350, 'steady/');
    expect(done.errors).toBe(0);
    expect(released).toBeGreaterThan(0);
    expect(taken.size).toBe(0);
    // 20 pairs/s: at most 20 in flight, so at most 80 names ever.
    for (const name of names) expect(Number(name.slice('steady/'.length))).toBeLessThan(80);
  });
});
