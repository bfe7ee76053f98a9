// The data directory's identity at start-up: member id, founding cluster id, data format, one process per directory,
// and the in-place upgrade of a directory written before identity.json (the fixture of the previous release).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { bootstrapConf, joiningConf } from '../../src/raft/bootstrap.js';
import { deriveClusterId, restoredClusterId } from '../../src/raft/cluster-id.js';
import { DATA_DIR_LOCK_FILE } from '../../src/raft/data-dir-lock.js';
import { DATA_FORMAT_VERSION, IDENTITY_FILE, readIdentity } from '../../src/raft/identity.js';
import { RaftNode, type RaftNodeOptions } from '../../src/raft/node.js';
import { waitFor } from '../support/wait-for.js';

const FIXTURE_V1 = join(import.meta.dirname, '..', 'fixtures', 'datadir-v1');
const PEERS = { n1: '127.0.0.1:1', n2: '127.0.0.1:2', n3: '127.0.0.1:3' };

let dir: string;
const running: RaftNode[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forelock-identity-'));
});
afterEach(async () => {
  for (const node of running.splice(0)) await node.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(options: Partial<RaftNodeOptions> & { id: string }): Promise<RaftNode> {
  const node = await RaftNode.start({
    dataDir: join(dir, 'data'),
    stateMachine: new LockStateMachine(),
    initialConf: bootstrapConf(PEERS),
    foundingClusterId: deriveClusterId(PEERS),
    tickMs: 10,
    ...options,
  });
  running.push(node);
  return node;
}

async function stop(node: RaftNode): Promise<void> {
  running.splice(running.indexOf(node), 1);
  await node.close();
}

describe('cluster ids', () => {
  it('are the same for the same peers in any order, and differ by token, peers and restored snapshot', () => {
    const reordered = { n3: PEERS.n3, n1: PEERS.n1, n2: PEERS.n2 };
    expect(deriveClusterId(reordered)).toBe(deriveClusterId(PEERS));
    expect(deriveClusterId(PEERS, 'prod')).not.toBe(deriveClusterId(PEERS));
    expect(deriveClusterId({ ...PEERS, n3: '127.0.0.1:4' })).not.toBe(deriveClusterId(PEERS));
    expect(restoredClusterId('abc', PEERS)).toBe(restoredClusterId('abc', reordered));
    expect(restoredClusterId('abc', PEERS)).not.toBe(restoredClusterId('abd', PEERS));
    expect(restoredClusterId('abc', PEERS)).not.toBe(deriveClusterId(PEERS));
  });
});

describe('a new data directory', () => {
  it('records the format version, the cluster id its founding peers derive, and the member id', async () => {
    const node = await start({ id: 'n1' });
    expect(node.identity).toEqual({
      formatVersion: DATA_FORMAT_VERSION,
      clusterId: deriveClusterId(PEERS),
      memberId: 'n1',
      foundingId: deriveClusterId(PEERS),
    });
    expect(await readIdentity(join(dir, 'data'))).toEqual(node.identity);
  });

  it('of a joining node records no cluster id yet and no founding id', async () => {
    const node = await start({ id: 'n4', initialConf: joiningConf(), foundingClusterId: null });
    expect(node.identity.clusterId).toBe('');
    expect(node.identity.foundingId).toBeNull();
  });
});

describe('a restart refuses, naming both values', () => {
  it('another --id', async () => {
    await stop(await start({ id: 'n1' }));
    await expect(start({ id: 'n2' })).rejects.toMatchObject({
      code: 'DATA_DIR_MISMATCH',
      message: expect.stringMatching(/belongs to member n1, but this node was started with --id n2/),
    });
    // The refusal changed nothing: the right id still starts.
    expect((await start({ id: 'n1' })).identity.memberId).toBe('n1');
  });

  it('founding flags that name another cluster', async () => {
    await stop(await start({ id: 'n1' }));
    const other = deriveClusterId({ ...PEERS, n3: '127.0.0.1:9' });
    await expect(start({ id: 'n1', foundingClusterId: other })).rejects.toMatchObject({
      code: 'DATA_DIR_MISMATCH',
      message: expect.stringContaining(`belongs to cluster ${deriveClusterId(PEERS)}`),
    });
    await expect(start({ id: 'n1', foundingClusterId: other })).rejects.toThrow(`name cluster ${other}`);
  });

  it('a data format newer than the binary', async () => {
    const node = await start({ id: 'n1' });
    await stop(node);
    const newer = { ...node.identity, formatVersion: DATA_FORMAT_VERSION + 1 };
    await writeFile(join(dir, 'data', IDENTITY_FILE), JSON.stringify(newer));
    await expect(start({ id: 'n1' })).rejects.toMatchObject({
      code: 'DATA_FORMAT_TOO_NEW',
      message: expect.stringContaining(
        `data format version ${DATA_FORMAT_VERSION + 1}, newer than this binary's ${DATA_FORMAT_VERSION}`,
      ),
    });
  });
});

describe('one process per data directory', () => {
  it('refuses a second node of this process on the same directory, and frees it on close', async () => {
    const first = await start({ id: 'n1' });
    await expect(start({ id: 'n1' })).rejects.toMatchObject({ code: 'DATA_DIR_IN_USE' });
    await stop(first);
    expect((await start({ id: 'n1' })).identity.memberId).toBe('n1');
  });

  it('refuses a directory locked by another live process, naming its pid and ours', async () => {
    await stop(await start({ id: 'n1' }));
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(dir, 'data', DATA_DIR_LOCK_FILE), `${other.pid}\n`);
      await expect(start({ id: 'n1' })).rejects.toThrow(
        `is in use by process ${other.pid} (this is process ${process.pid})`,
      );
    } finally {
      other.kill('SIGKILL');
      await once(other, 'exit');
    }
    // The owner is gone (as after a SIGKILL): its lock file is stale and taken over.
    const node = await start({ id: 'n1' });
    expect(await readFile(join(dir, 'data', DATA_DIR_LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    await stop(node);
  });
});

describe('a data directory of the previous release (format 1, no identity.json)', () => {
  it('is upgraded in place: its log is kept, and it records the cluster id derived from its membership', async () => {
    await cp(FIXTURE_V1, join(dir, 'data'), { recursive: true });
    const machine = new LockStateMachine();
    const node = await start({
      id: 'node1',
      stateMachine: machine,
      initialConf: joiningConf(),
      foundingClusterId: null,
    });
    const conf = node.status().conf;
    expect(conf.voters).toEqual(['node1']);
    expect(node.identity).toEqual({
      formatVersion: DATA_FORMAT_VERSION,
      clusterId: deriveClusterId(conf.addresses),
      memberId: 'node1',
      foundingId: null,
    });
    const held = await waitFor('the fixture lock applied', () => machine.lock('fixture/held'));
    expect(held.holders.map((holder) => holder.token)).toEqual([1n]);
    await stop(node);
    // Upgraded once: the next start reads identity.json and checks against it.
    await expect(start({ id: 'node2', initialConf: joiningConf(), foundingClusterId: null })).rejects.toThrow(
      'belongs to member node1',
    );
  });
});
