// A crashed holder of a fenced lock on a real node (--preemption on, --record-trace): the holder is an SDK client in a
// process of its own, killed with SIGKILL while a waiter queues. Its kernel closes its connection, the node sees the
// session's stream cancelled and tells the SPM the session disconnected, and the ladder revokes the lock (cause
// preemption) while the session is still open, before its lease lapses; the waiter is granted with a higher token,
// and the recorded trace carries the `disconnect` line between the holder's last keepalive and the revocation.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/index.js';
import type { LockEvent } from '../../src/lock/commands.js';
import { LOAD_INDEPENDENT_SPM } from '../support/load-independent-spm.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, startTestNode, tempDir } from './server-harness.js';

/** Process start-up under tsx on a loaded 2-core machine takes seconds; deadlines are generous, never sleeps. */
const START_TIMEOUT_MS = 60_000;
const LOCK = 'crash/lock';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts test/support/fenced-holder.ts on `endpoint`; resolves with its session and token once it holds LOCK. */
async function startHolder(endpoint: string): Promise<{ child: ChildProcess; session: string; token: bigint }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/fenced-holder.ts', endpoint, LOCK], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const line = await waitFor(
    'the holder to take the lock',
    () => output.split('\n').find((l) => l !== ''),
    START_TIMEOUT_MS,
  );
  const { session, token } = JSON.parse(line) as { session: string; token: string };
  return { child, session, token: BigInt(token) };
}

/** The lines of the trace recorded so far (the node writes them out once a second). */
async function traceLines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('a fenced lock whose holder process is killed while a waiter queues', () => {
  it('is revoked by the ladder after the disconnect, before the lease lapses, and the waiter is granted', async () => {
    const dir = await tempDir('forelock-crash-disconnect-');
    cleanups.push(dir.remove);
    const file = join(dir.path, 'crash.jsonl');
    const node = await startTestNode(join(dir.path, 'data'), {
      preemption: 'on',
      spm: LOAD_INDEPENDENT_SPM,
      recordTrace: file,
    });
    cleanups.push(() => node.close());
    await waitFor('the node to lead', () => node.services.duties.active, START_TIMEOUT_MS);
    const events: LockEvent[] = [];
    node.machine.onEvent((event) => events.push(event));

    const holder = await startHolder(addressOf(node));
    const waiterClient: Client = await connect({ endpoints: [addressOf(node)], name: 'waiter', ttlMs: 10_000 });
    cleanups.push(() => waiterClient.close());
    const waiting = waiterClient.acquire(LOCK, { fenced: true, waitMs: 120_000 });
    await waitFor('the waiter to queue', () => node.machine.waiterCount(LOCK) === 1, START_TIMEOUT_MS);
    // Enough keepalives for the SPM to trust its model of the holder (it pre-empts on no fewer than minSamples).
    const holderKeepalives = async () =>
      (await traceLines(file)).filter((line) => line.type === 'keepalive' && line.session === holder.session).length;
    await waitFor('four holder keepalives recorded', async () => (await holderKeepalives()) >= 4, START_TIMEOUT_MS);

    const exited = once(holder.child, 'exit');
    holder.child.kill('SIGKILL');
    await exited;
    const granted = await waiting;
    expect(granted.token).toBeGreaterThan(holder.token);

    const revoked = events.find((event) => event.type === 'revoked');
    // Pre-empted for the lost connection (a silence alone would be 'keepalive-late', and later).
    expect(revoked).toMatchObject({
      sessionId: holder.session,
      name: LOCK,
      token: holder.token,
      cause: 'preemption',
      reason: 'connection-lost',
    });
    // Revoked by the ladder while the killed session was still open: not freed by its expiry at the lease's lapse
    // (with the 10 s TTL that comes ~10 s after its last keepalive; the revocation is expected ~3 s after the kill).
    const holderEvents = events.filter((event) => event.sessionId === holder.session).map((event) => event.type);
    expect(holderEvents.indexOf('revoked')).toBeGreaterThanOrEqual(0);
    const ended = holderEvents.indexOf('session-ended');
    if (ended >= 0) expect(ended).toBeGreaterThan(holderEvents.indexOf('revoked'));
    const grantedToWaiter = events.findIndex((event) => event.type === 'granted' && event.token === granted.token);
    expect(grantedToWaiter).toBeGreaterThan(events.indexOf(revoked!));

    // The trace: the holder's keepalives, then its disconnect, then the revocation (a release line), in that order.
    await waiterClient.close();
    await node.close();
    const lines = await traceLines(file);
    const ofHolder = lines.filter((line) => line.session === holder.session);
    const disconnect = ofHolder.findIndex((line) => line.type === 'disconnect');
    const lastKeepalive = ofHolder.map((line) => line.type).lastIndexOf('keepalive');
    const release = ofHolder.findIndex((line) => line.type === 'release' && line.resource === LOCK);
    expect(ofHolder.filter((line) => line.type === 'disconnect')).toHaveLength(1);
    expect(disconnect).toBeGreaterThan(lastKeepalive);
    expect(release).toBeGreaterThan(disconnect);
    expect(ofHolder[release]!.t as number).toBeGreaterThanOrEqual(ofHolder[disconnect]!.t as number);
  });
});
