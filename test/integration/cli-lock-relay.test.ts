// `forelock lock` against a scripted server: a Staleness Warning becomes --checkpoint-signal (answered
// "checkpointing" for --checkpoint-ms) or an acknowledgement, a Pre-emption Request becomes SIGTERM, a revocation
// SIGKILL after --kill-after and exit 70; each notice, and each session advisory's begin and end, is one line on
// stderr.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { startCli } from './client-harness.js';
import { type ScriptedStream, useScriptedFixtures } from './scripted-server.js';
import { tempDir } from './server-harness.js';

const { scripted, defer } = useScriptedFixtures();

/** A shell command that logs USR1 and TERM to `log` (and carries on), after writing "ready" there. */
function trappingCommand(log: string): string[] {
  return [
    'sh',
    '-c',
    `trap 'echo usr1 >> "${log}"' USR1; trap 'echo term >> "${log}"' TERM; echo ready >> "${log}"; while :; do sleep 0.05; done`,
  ];
}

/** Lines logged so far by trappingCommand. */
async function logged(log: string): Promise<string[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '');
}

/** Starts `forelock lock jobs/relay <flags> -- <trapping command>` on a scripted server holding token 21. */
async function holdWithCli(flags: readonly string[]) {
  const server = await scripted();
  const dir = await tempDir('forelock-cli-relay-');
  defer(() => dir.remove());
  const log = join(dir.path, 'signals.log');
  const cli = startCli(['lock', 'jobs/relay', '--endpoints', server.address, ...flags, '--', ...trappingCommand(log)]);
  defer(() => {
    cli.child.kill('SIGKILL');
  });
  const stream: ScriptedStream = await server.stream(0);
  await stream.next('open');
  stream.opened();
  stream.answerKeepalives(10_000);
  const acquire = (await stream.next('acquire')).acquire as { requestSeq: string };
  stream.grant(acquire.requestSeq, 'jobs/relay', '21');
  await waitFor('the command to start', async () => (await logged(log)).includes('ready'), 30_000);
  return { stream, log, done: cli.done };
}

describe('forelock lock relays the cluster notices to its command', () => {
  it('--checkpoint-signal on a warning, SIGTERM on a pre-emption request, SIGKILL and exit 70 on revocation', async () => {
    const { stream, log, done } = await holdWithCli([
      '--checkpoint-signal',
      'USR1',
      '--checkpoint-ms',
      '1500',
      '--kill-after',
      '300ms',
    ]);
    stream.warn('jobs/relay', '21', 'w1', {
      preemptionScore: 83,
      probability: 0.91,
      reasons: ['keepalives late', 'rtt rising'],
      predictedStalenessMs: 4_000,
    });
    const answer = (await stream.next('warningAnswer')).warningAnswer as Record<string, unknown>;
    expect(answer).toEqual({ warningId: 'w1', name: 'jobs/relay', kind: 'CHECKPOINTING', checkpointMs: 1_500 });
    await waitFor('the command to get SIGUSR1', async () => (await logged(log)).includes('usr1'));

    stream.preempt('jobs/relay', '21', 3_000, 'waiters queued', 'w1');
    await waitFor('the command to get SIGTERM', async () => (await logged(log)).includes('term'));

    stream.revoke('jobs/relay', '21', 'preempted', 'grace passed');
    const run = await done;
    expect(run.code).toBe(70);
    // SIGTERM once (at the request), not again at the revocation; then SIGKILL ended the trapping loop.
    expect(await logged(log)).toEqual(['ready', 'usr1', 'term']);
    const lines = run.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^forelock: staleness warning for "jobs\/relay" \(token 21\): score 83, probability 0\.91, predicted stale in 4s \(at \d\d:\d\d:\d\d\.\d{3}Z\), reasons: keepalives late; rtt rising; answer due in 2s; sent SIGUSR1, answering checkpointing for 1\.5s$/,
    );
    expect(lines[1]).toMatch(
      /^forelock: pre-emption request for "jobs\/relay" \(token 21\): waiters queued, after warning w1 \(score 83, probability 0\.91, reasons: keepalives late; rtt rising\), release within 3s \(safe until \d\d:\d\d:\d\d\.\d{3}Z\); sending SIGTERM$/,
    );
    expect(lines[2]).toMatch(/^forelock: lost lock "jobs\/relay" \(.*preempted: grace passed.*\); SIGKILL in 300ms$/);
  });

  it('acknowledges warnings without --checkpoint-signal and sends the command no signal for them', async () => {
    const { stream, log, done } = await holdWithCli(['--kill-after', '200ms']);
    stream.warn('jobs/relay', '21', 'w2');
    const answer = (await stream.next('warningAnswer')).warningAnswer as Record<string, unknown>;
    expect(answer).toEqual({ warningId: 'w2', name: 'jobs/relay', kind: 'ACK', checkpointMs: 0 });
    // An operator revocation with no request first: SIGTERM, then SIGKILL, exit 70.
    stream.revoke('jobs/relay', '21', 'operator', 'maintenance');
    const run = await done;
    expect(run.code).toBe(70);
    expect(await logged(log)).toEqual(['ready', 'term']);
    expect(run.stderr).toMatch(/staleness warning for "jobs\/relay" \(token 21\): .*; acknowledged\n/);
    expect(run.stderr).toMatch(
      /lost lock "jobs\/relay" \(.*operator: maintenance.*\); sending SIGTERM, SIGKILL in 200ms\n/,
    );
  });

  it('prints one stderr line per session advisory, at its begin and its end, and sends the command nothing', async () => {
    const { stream, log, done } = await holdWithCli(['--kill-after', '200ms']);
    stream.advise('a1', 'clock-drift', true, {
      detail: 'the client clock runs 3% slow, beyond the 1% bound even at the guarantee floor',
      guaranteeMs: 2_000,
      clockRateError: -0.03,
      probability: 0.97,
    });
    stream.advise('a1', 'clock-drift', true, { guaranteeMs: 2_000, clockRateError: -0.03, probability: 0.97 });
    stream.advise('a1', 'clock-drift', false, { detail: 'the clock is back within bound', probability: 0.05 });
    // The revocation follows the advisories on the stream: by the time the command stops, both were printed.
    stream.revoke('jobs/relay', '21', 'operator', 'maintenance');
    const run = await done;
    expect(run.code).toBe(70);
    expect(await logged(log)).toEqual(['ready', 'term']);
    const lines = run.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(
      'forelock: session advisory a1 began: clock-drift (probability 0.97, clock 3.0% slow, guarantee 2s): the client clock runs 3% slow, beyond the 1% bound even at the guarantee floor',
    );
    expect(lines[1]).toBe(
      'forelock: session advisory a1 ended: clock-drift (probability 0.05, guarantee 10s): the clock is back within bound',
    );
    expect(lines[2]).toMatch(/^forelock: lost lock "jobs\/relay" /);
  });

  it('rejects a --checkpoint-signal that names no catchable signal', async () => {
    const server = await scripted();
    const run = await startCli([
      'lock',
      'x',
      '--endpoints',
      server.address,
      '--checkpoint-signal',
      'KILL',
      '--',
      'true',
    ]).done;
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('--checkpoint-signal must name a catchable signal like SIGUSR1, got "KILL"');
  });
});
