// Bad input fails only its own call (issue 11): an oversized field is refused as INVALID_ARGUMENT naming its limit
// while the session lives on; `forelock lock` exits with its documented statuses: 75 when --wait runs out (also with
// no leader), 70 when the lock is revoked or pre-empted (also an ordinary lock), 127 when the command cannot start.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CANNOT_RUN, EXIT_LOCK_LOST, EXIT_WAIT_TIMEOUT } from '../../src/cli/commands/lock.js';
import { InvalidArgumentError } from '../../src/client/errors.js';
import { MAX_LOCK_NAME_BYTES, MAX_METADATA_BYTES } from '../../src/lock/validation.js';
import { waitFor } from '../support/wait-for.js';
import { runCli, startCli, useClientFixtures } from './client-harness.js';
import { freePort, startTestNode, tempDir } from './server-harness.js';

const { singleNode, client, defer } = useClientFixtures();

describe('an oversized field', () => {
  it.each([
    [
      'metadata of 100 KiB',
      { name: 'big/meta', metadata: 'x'.repeat(100 * 1024) },
      `at most ${MAX_METADATA_BYTES} bytes`,
    ],
    [
      'metadata just over the limit',
      { name: 'big/meta', metadata: 'é'.repeat(513) },
      `at most ${MAX_METADATA_BYTES} bytes`,
    ],
    ['a lock name of 100 KiB', { name: 'n'.repeat(100 * 1024) }, `1-${MAX_LOCK_NAME_BYTES} bytes`],
  ] as [string, { name: string; metadata?: string }, string][])(
    '%s fails only its own acquire, non-retriable INVALID_ARGUMENT naming the limit',
    async (_what, request, limit) => {
      const { endpoint } = await singleNode();
      const sdk = await client([endpoint], 'oversized');
      const failure = await sdk
        .acquire(request.name, { waitMs: 0, ...(request.metadata === undefined ? {} : { metadata: request.metadata }) })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(InvalidArgumentError);
      expect(failure).toMatchObject({ code: 'INVALID_ARGUMENT', retriable: false });
      expect((failure as Error).message).toContain(limit);
      // The session lives on: the same client acquires next, and its session was never replaced.
      const sessionId = sdk.session.id;
      const lock = await sdk.acquire('big/after', { waitMs: 0, metadata: 'y'.repeat(MAX_METADATA_BYTES) });
      expect(lock.token).toBeGreaterThan(0n);
      expect(sdk.session.signal.aborted).toBe(false);
      expect(sdk.session.id).toBe(sessionId);
    },
  );
});

describe('forelock lock exit statuses', () => {
  it(`--wait with no leader is honoured, then exits ${EXIT_WAIT_TIMEOUT}`, async () => {
    // A node whose only peer never starts: it can never elect a leader.
    const dir = await tempDir('forelock-no-leader-');
    defer(dir.remove);
    const listen = `127.0.0.1:${await freePort()}`;
    const node = await startTestNode(join(dir.path, 'node1'), {
      id: 'node1',
      listen,
      peers: { node1: listen, node2: `127.0.0.1:${await freePort()}` },
    });
    defer(() => node.close());
    const startedAt = performance.now();
    const run = await runCli(['lock', 'jobs/leaderless', '--wait', '2s', '--endpoints', listen, '--', 'true']);
    expect(run.code).toBe(EXIT_WAIT_TIMEOUT);
    expect(run.stderr).toContain('lock "jobs/leaderless" was not granted within 2s');
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(2_000);
  });

  it(`a revoked ordinary lock stops the command and exits ${EXIT_LOCK_LOST}, not the command's status`, async () => {
    const { endpoint } = await singleNode();
    const observer = await client([endpoint], 'observer');
    const { done } = startCli([
      'lock',
      'jobs/ordinary',
      '--endpoints',
      endpoint,
      '--',
      'sh',
      '-c',
      'trap "echo terminated; exit 143" TERM; while :; do sleep 0.05; done',
    ]);
    await waitFor(
      'the CLI to hold the lock',
      async () => (await observer.admin().listLocks('jobs/ordinary'))[0]?.holders.length === 1,
      60_000,
    );
    const revoked = await observer.admin().revoke('jobs/ordinary', { reason: 'test' });
    expect(revoked.map((each) => each.immediate)).toEqual([false]); // ordinary: at the end of its promise
    const run = await done;
    expect(run.stdout).toBe('terminated\n');
    expect(run.stderr).toContain('pre-emption request for "jobs/ordinary"');
    expect(run.code).toBe(EXIT_LOCK_LOST);
  });

  it(`exits ${EXIT_CANNOT_RUN} when the command cannot be started, and releases the lock`, async () => {
    const { endpoint } = await singleNode();
    const run = await runCli(['lock', 'jobs/missing', '--endpoints', endpoint, '--', 'no-such-command-forelock']);
    expect(run.code).toBe(EXIT_CANNOT_RUN);
    expect(run.stderr).toContain('cannot run no-such-command-forelock');
    const observer = await client([endpoint], 'observer');
    expect(await observer.admin().listLocks('jobs/missing')).toEqual([]);
  });
});
