// Graceful shutdown (issue 11): SIGTERM to a leader hands leadership to its most up-to-date reachable voter before
// the process stops, so the new leader takes office by transfer while the old one still runs (no election timeout);
// `npm start` is the server process a SIGTERM reaches; `forelock lock` stops its command when its launcher is
// signalled through a shell that does not pass the signal on (as npx runs it).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launchedByNpm } from '../../src/cli/parent-watch.js';
import type { RaftStatus } from '../../src/raft/node-api.js';
import { handOffLeadership, successorOf } from '../../src/server/leadership-handoff.js';
import { type ForelockCommand, LocalCluster, type LocalNode } from '../../src/server/local-cluster.js';
import type { StatusJson } from '../../src/server/wire.js';
import { waitFor } from '../support/wait-for.js';
import { useClientFixtures } from './client-harness.js';
import { freePort, tempDir } from './server-harness.js';

/** The built CLI (`npm run build`), which starts faster than the sources under tsx. */
const FORELOCK: ForelockCommand = { executable: process.execPath, args: ['dist/src/cli/main.js'] };
const START_TIMEOUT_MS = 60_000;

const { singleNode, client, defer } = useClientFixtures();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function statusOf(http: string): Promise<StatusJson | undefined> {
  try {
    const response = await fetch(`http://${http}/v1/status`, { signal: AbortSignal.timeout(1_000) });
    return (await response.json()) as StatusJson;
  } catch {
    return undefined;
  }
}

const leaderStatus = (replication: { id: string; matchIndex: number; reachable: boolean }[]): RaftStatus => ({
  id: 'n1',
  role: 'leader',
  term: 3,
  leaderId: 'n1',
  leaderAddress: 'a:1',
  commitIndex: 10,
  appliedIndex: 10,
  conf: { voters: ['n1', 'n2', 'n3', 'n4'], learners: ['n5'], addresses: {} },
  replication: [{ id: 'n1', matchIndex: 12, lagEntries: 0, reachable: true }, ...replication].map((member) => ({
    ...member,
    lagEntries: 12 - member.matchIndex,
  })),
});

describe('the successor a stopping leader hands off to', () => {
  it.each([
    [
      'the reachable voter with the highest match',
      [
        { id: 'n2', matchIndex: 9, reachable: true },
        { id: 'n3', matchIndex: 11, reachable: true },
      ],
      'n3',
    ],
    [
      'never an unreachable one, however far it got',
      [
        { id: 'n2', matchIndex: 9, reachable: true },
        { id: 'n3', matchIndex: 12, reachable: false },
      ],
      'n2',
    ],
    ['never a learner', [{ id: 'n5', matchIndex: 12, reachable: true }], null],
    [
      'ties by id',
      [
        { id: 'n4', matchIndex: 12, reachable: true },
        { id: 'n2', matchIndex: 12, reachable: true },
      ],
      'n2',
    ],
  ])('%s', (_rule, replication, expected) => {
    expect(successorOf(leaderStatus(replication))).toBe(expected);
  });

  it('is none on a follower', () => {
    expect(successorOf({ ...leaderStatus([]), role: 'follower', replication: undefined })).toBeNull();
  });

  it('is given up on when it does not take office in time: the node stops anyway', async () => {
    const status = leaderStatus([{ id: 'n2', matchIndex: 12, reachable: true }]);
    const neverLeads = { status: () => status, transferLeadership: () => new Promise<void>(() => {}) };
    const warnings: unknown[] = [];
    const log = { warn: (entry: unknown) => warnings.push(entry), info: () => {} };
    expect(await handOffLeadership(neverLeads as never, log as never, 50)).toBeNull();
    expect(warnings).toEqual([expect.objectContaining({ to: 'n2' })]);
  });
});

describe('SIGTERM to the leader of a 3-process cluster', () => {
  it('transfers leadership to the most up-to-date follower, which takes office while the old leader runs', async () => {
    const dir = await tempDir('forelock-handoff-');
    cleanups.push(dir.remove);
    const nodes: LocalNode[] = [];
    for (let i = 1; i <= 3; i++) {
      nodes.push({ id: `node${i}`, listen: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` });
    }
    const output = new Map<string, string[]>(nodes.map((node) => [node.id, []]));
    const cluster = new LocalCluster(nodes, dir.path, FORELOCK, ['--log-level', 'info'], {
      onOutput: (node, line) => output.get(node.id)?.push(line),
    });
    cleanups.push(() => cluster.stopAll());
    cluster.startAll();
    const leader = await waitFor('a leader', () => cluster.leader(), START_TIMEOUT_MS);
    const before = (await statusOf(leader.http))!;
    expect(await cluster.stop(leader, 'SIGTERM')).toBe(0);

    const handOff = output
      .get(leader.id)!
      .map((line) => JSON.parse(line) as { msg: string; to?: string; elapsedMs?: number })
      .find((entry) => entry.msg === 'handed leadership off before stopping');
    // The old leader saw its successor lead before it stopped: the successor took office by the transfer's
    // TimeoutNow while heartbeats still held every follower's election timer back.
    expect(handOff?.to).toMatch(/^node[123]$/);
    expect(handOff?.to).not.toBe(leader.id);
    const survivors = nodes.filter((node) => node !== leader);
    for (const node of survivors) {
      const status = await waitFor('the survivors to follow the successor', async () => {
        const seen = await statusOf(node.http);
        return seen?.leader === handOff?.to ? seen : undefined;
      });
      // One term later: the transfer's election, with no failed election before it.
      expect(status.term).toBe(before.term + 1);
    }
  });
});

describe('npm start', () => {
  it('runs the server as the process npm signals: SIGTERM to npm stops the server', async () => {
    const dir = await tempDir('forelock-npm-start-');
    cleanups.push(dir.remove);
    const http = `127.0.0.1:${await freePort()}`;
    // --ignore-scripts skips prestart's build (the tests run on a built tree); `start` itself still runs.
    const npm = spawn(
      'npm',
      [
        'start',
        '--ignore-scripts',
        '--silent',
        '--',
        '--listen',
        `127.0.0.1:${await freePort()}`,
        '--http',
        http,
        '--data',
        join(dir.path, 'node1'),
        '--log-level',
        'warn',
      ],
      { stdio: 'ignore' },
    );
    cleanups.push(() => npm.kill('SIGKILL'));
    await waitFor('the server to serve', async () => (await statusOf(http))?.leader === 'node1', START_TIMEOUT_MS);
    const exited = once(npm, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    npm.kill('SIGTERM');
    await exited;
    await waitFor('the server to be gone', async () => (await statusOf(http)) === undefined);
  });
});

/** Whether a process with this pid still runs. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('following the launcher', () => {
  it('only when npm launched the process (npx sets npm_command): `nohup forelock serve &` may outlive its shell', () => {
    expect(launchedByNpm({ npm_command: 'exec' })).toBe(true);
    expect(launchedByNpm({ npm_command: 'start' })).toBe(true);
    expect(launchedByNpm({})).toBe(false);
    expect(launchedByNpm({ npm_command: '' })).toBe(false);
  });
});

describe('forelock lock launched through a shell that does not pass signals on (as npx runs it)', () => {
  it('stops its command and releases the lock when the launcher is stopped', async () => {
    const { endpoint } = await singleNode();
    const observer = await client([endpoint], 'observer');
    const dir = await tempDir('forelock-lock-launcher-');
    defer(dir.remove);
    const pidFile = join(dir.path, 'command.pid');
    // `; true` keeps the shell from exec-ing node: it stays the parent, and dies of SIGTERM without forwarding it.
    const launcher: ChildProcess = spawn(
      'sh',
      [
        '-c',
        `"$0" dist/src/cli/main.js lock launcher/held --endpoints ${endpoint} -- sh -c 'echo $$ > ${pidFile}; exec sleep 300'; true`,
        process.execPath,
      ],
      // What npx sets in its children's environment: the mark of an npm launcher.
      { stdio: 'ignore', env: { ...process.env, npm_command: 'exec' } },
    );
    cleanups.push(() => launcher.kill('SIGKILL'));
    await waitFor(
      'the command to hold the lock',
      async () => (await observer.admin().listLocks('launcher/'))[0]?.holders.length === 1,
      START_TIMEOUT_MS,
    );
    const commandPid = Number(await waitFor('the pid file', () => readFile(pidFile, 'utf8').catch(() => undefined)));
    launcher.kill('SIGTERM');
    await waitFor('the command to stop', () => !alive(commandPid));
    await waitFor('the lock to be released', async () => (await observer.admin().listLocks('launcher/')).length === 0);
  });
});
