// Backups with real processes: `forelock snapshot save` from a running node, `snapshot status` verifying the file,
// and `snapshot restore` preparing the members of a new cluster that starts from it with higher tokens.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { connect } from '../../src/client/client.js';
import { IDENTITY_FILE } from '../../src/raft/identity.js';
import { waitFor } from '../support/wait-for.js';
import { runCli } from './client-harness.js';
import { cleanupAfterEach, nodeAddresses, peersOf, START_TIMEOUT_MS, statusOf } from './forelock-processes.js';
import { tempDir } from './server-harness.js';

const { defer, serve } = cleanupAfterEach();

async function clusterIdOf(dataDir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dataDir, IDENTITY_FILE), 'utf8')) as { clusterId: string }).clusterId;
}

describe('forelock snapshot save, status and restore', () => {
  it('backs up a live node and restores it as a new 3-member cluster whose tokens continue higher', async () => {
    const dir = await tempDir('forelock-snapshot-');
    defer(dir.remove);
    const [source] = await nodeAddresses(1, 'src');
    serve(source!, ['--data', join(dir.path, 'src1')]);
    await waitFor(
      'the source node to lead',
      async () => (await statusOf(source!))?.leader === 'src1',
      START_TIMEOUT_MS,
    );
    const client = await connect({ endpoints: [source!.listen], ttlMs: 60_000 });
    defer(() => client.close());
    const tokens = [];
    for (const name of ['backup/a', 'backup/b', 'backup/c']) tokens.push((await client.acquire(name)).token);
    await (await client.acquire('backup/released')).release();

    const file = join(dir.path, 'backup.snap');
    const saved = await runCli(['snapshot', 'save', file, '--endpoints', source!.listen]);
    expect(saved.stderr).toBe('');
    expect(saved.code).toBe(0);
    const status = await runCli(['snapshot', 'status', file, '--json']);
    expect(status.code).toBe(0);
    const json = JSON.parse(status.stdout) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(
      ['checksumOk', 'clusterId', 'formatVersion', 'highestToken', 'index', 'locks', 'sessions', 'term'].sort(),
    );
    expect(json).toMatchObject({
      formatVersion: 1,
      clusterId: await clusterIdOf(join(dir.path, 'src1')),
      highestToken: '4',
      locks: 3,
      sessions: 1,
      checksumOk: true,
    });
    expect(json.index).toBeGreaterThan(0);
    expect(tokens).toEqual([1n, 2n, 3n]);

    // A damaged copy is told apart: status exits 1 and restore refuses it.
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    const damaged = join(dir.path, 'damaged.snap');
    await writeFile(damaged, bytes);
    const damagedStatus = await runCli(['snapshot', 'status', damaged, '--json']);
    expect(damagedStatus.code).toBe(1);
    expect(JSON.parse(damagedStatus.stdout)).toMatchObject({ checksumOk: false });

    const members = await nodeAddresses(3, 'r');
    const peers = peersOf(members);
    const refused = await runCli([
      'snapshot',
      'restore',
      damaged,
      '--data',
      join(dir.path, 'refused'),
      '--id',
      'r1',
      '--peers',
      peers,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('does not match its checksum');
    for (const member of members) {
      const restored = await runCli([
        'snapshot',
        'restore',
        file,
        '--data',
        join(dir.path, member.id),
        '--id',
        member.id,
        '--peers',
        peers,
      ]);
      expect(restored.stderr).toBe('');
      expect(restored.code).toBe(0);
    }
    const ids = await Promise.all(members.map((member) => clusterIdOf(join(dir.path, member.id))));
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).not.toBe(json.clusterId);
    const again = await runCli([
      'snapshot',
      'restore',
      file,
      '--data',
      join(dir.path, 'r1'),
      '--id',
      'r1',
      '--peers',
      peers,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not empty');

    for (const member of members) serve(member, ['--data', join(dir.path, member.id), '--peers', peers]);
    const admin = new AdminClient({ endpoints: members.map((member) => member.listen), timeoutMs: START_TIMEOUT_MS });
    defer(() => admin.close());
    // The snapshot's sessions were ended cleanly: their locks are free in the new cluster.
    expect(await admin.listLocks('backup/')).toEqual([]);
    const restoredClient = await connect({ endpoints: members.map((member) => member.listen), openTimeoutMs: 5_000 });
    defer(() => restoredClient.close());
    const next = await restoredClient.acquire('backup/a', { waitMs: 10_000 });
    expect(next.token).toBeGreaterThan(4n);
  });
});
