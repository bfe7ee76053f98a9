// Identity checks with the real binary: a data directory written by the previous release (test/fixtures/datadir-v1)
// starts with this one and is upgraded in place, and a start under another --id is refused naming both ids; the CLI
// names MEMBER_NOT_FOUND for an unknown member.
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { DATA_FORMAT_VERSION, IDENTITY_FILE } from '../../src/raft/identity.js';
import { waitFor } from '../support/wait-for.js';
import { runCli } from './client-harness.js';
import { nodeAddresses, START_TIMEOUT_MS, startServe, statusOf } from './forelock-processes.js';
import { tempDir } from './server-harness.js';

const FIXTURE_V1 = join(import.meta.dirname, '..', 'fixtures', 'datadir-v1');

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('forelock serve on a data directory of the previous release', () => {
  it('upgrades it in place, keeps its lock and token, names MEMBER_NOT_FOUND, then refuses another --id', async () => {
    const dir = await tempDir('forelock-identity-');
    cleanups.push(dir.remove);
    const data = join(dir.path, 'node1');
    await cp(FIXTURE_V1, data, { recursive: true });
    const [node] = await nodeAddresses(1);
    const server = startServe(node!, ['--data', data]);
    cleanups.push(() => server.stop());
    await waitFor('node1 to lead', async () => (await statusOf(node!))?.leader === 'node1', START_TIMEOUT_MS);
    const admin = new AdminClient({ endpoints: [node!.listen] });
    cleanups.push(() => admin.close());
    const [held] = await admin.listLocks('fixture/');
    expect(held).toMatchObject({ name: 'fixture/held', holders: [expect.objectContaining({ token: 1n })] });
    const identity = JSON.parse(await readFile(join(data, IDENTITY_FILE), 'utf8')) as Record<string, unknown>;
    expect(identity).toMatchObject({ formatVersion: DATA_FORMAT_VERSION, memberId: 'node1' });
    expect(identity.clusterId).toMatch(/^[0-9a-f]{16}$/);
    // The CLI reports an unknown member with its stable code (issue 11: it was SERVER_ERROR, or a retriable UNAVAILABLE).
    for (const args of [
      ['members', 'promote', 'n9'],
      ['members', 'remove', 'n9'],
      ['leader', 'transfer', 'n9'],
    ]) {
      const run = await runCli([...args, '--endpoints', node!.listen]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('n9 is not a member of this cluster (members: node1)');
      expect(run.stderr).toContain('[MEMBER_NOT_FOUND]');
    }
    await server.stop();

    const other = startServe(node!, ['--id', 'node2', '--data', data]);
    cleanups.push(() => other.stop());
    const refused = await other.done;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('belongs to member node1, but this node was started with --id node2');
  });
});
