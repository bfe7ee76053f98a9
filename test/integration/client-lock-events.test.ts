// The SDK's warning and pre-emption surface against a scripted server: acquire's onWarning/onPreemptionRequest
// options (the same handlers as lock.onWarning/onPreemption), the default acknowledgement, and lock.events().
import { describe, expect, it } from 'vitest';
import {
  type AcquireOptions,
  type LockEvent,
  LockLostError,
  type PreemptionNotice,
  type StalenessWarning,
  type WarningAnswer,
} from '../../src/index.js';
import { waitFor } from '../support/wait-for.js';
import { type ScriptedStream, useScriptedFixtures } from './scripted-server.js';

const { scripted, connectTo } = useScriptedFixtures();

/** Connects, acquires `name` with `options`, grants it with `token` and returns the lock and the stream. */
async function held(name: string, token: string, options: AcquireOptions = {}) {
  const server = await scripted();
  const { client, stream } = await connectTo(server);
  const acquiring = client.acquire(name, options);
  const sent = (await stream.next('acquire')).acquire as { requestSeq: string };
  stream.grant(sent.requestSeq, name, token);
  return { client, stream, lock: await acquiring };
}

async function answerTo(stream: ScriptedStream): Promise<Record<string, unknown>> {
  return (await stream.next('warningAnswer')).warningAnswer as Record<string, unknown>;
}

describe('acquire(name, { onWarning })', () => {
  it.each<[string, WarningAnswer, Record<string, unknown>]>([
    ["'ack'", 'ack', { kind: 'ACK', checkpointMs: 0 }],
    ["'releasing'", 'releasing', { kind: 'RELEASING', checkpointMs: 0 }],
    ['{ checkpointing: ms }', { checkpointing: 2_500 }, { kind: 'CHECKPOINTING', checkpointMs: 2_500 }],
    ['a WarningResponse', { kind: 'checkpointing', checkpointMs: 700 }, { kind: 'CHECKPOINTING', checkpointMs: 700 }],
    ['a fractional duration, rounded', { checkpointing: 1_234.6 }, { kind: 'CHECKPOINTING', checkpointMs: 1_235 }],
    [
      'a negative duration, as 0',
      { kind: 'checkpointing', checkpointMs: -3 },
      { kind: 'CHECKPOINTING', checkpointMs: 0 },
    ],
  ])('sends the answer %s as the wire answer', async (_label, answer, expected) => {
    const warnings: StalenessWarning[] = [];
    const { stream } = await held('jobs/a', '11', {
      onWarning: (warning) => {
        warnings.push(warning);
        return answer;
      },
    });
    stream.warn('jobs/a', '11', 'w1', { reasons: ['keepalives late'], preemptionScore: 91 });
    expect(await answerTo(stream)).toEqual({ warningId: 'w1', name: 'jobs/a', ...expected });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      name: 'jobs/a',
      token: 11n,
      preemptionScore: 91,
      reasons: ['keepalives late'],
    });
  });

  it('acknowledges a warning by default when no handler is registered', async () => {
    const { stream, lock } = await held('jobs/b', '12');
    stream.warn('jobs/b', '12', 'w2');
    expect(await answerTo(stream)).toEqual({ warningId: 'w2', name: 'jobs/b', kind: 'ACK', checkpointMs: 0 });
    expect(lock.held).toBe(true);
  });

  it('sends nothing when every registered handler returns undefined, and the option is one of the lock handlers', async () => {
    const seen: string[] = [];
    const { stream, lock } = await held('jobs/c', '13', {
      onWarning: (warning) => {
        seen.push(`option:${warning.warningId}`);
        return undefined;
      },
    });
    const unregister = lock.onWarning((warning) => {
      seen.push(`method:${warning.warningId}`);
      return undefined;
    });
    stream.warn('jobs/c', '13', 'w3');
    await waitFor('both handlers to run', () => seen.length === 2);
    expect(seen).toEqual(['option:w3', 'method:w3']);
    // Once the method handler is gone, the option's handler still answers for the lock.
    unregister();
    stream.warn('jobs/c', '13', 'w4');
    await waitFor('the option handler to run again', () => seen.length === 3);
    expect(seen[2]).toBe('option:w4');
    // Neither warning was answered: frames go out in order, so no answer precedes the release.
    const releasing = lock.release();
    const release = (await stream.next('release')).release as { requestSeq: string };
    stream.send({ done: { requestSeq: release.requestSeq } });
    await releasing;
    expect(stream.pending('warningAnswer')).toBe(0);
  });

  it('calls onPreemptionRequest with the request', async () => {
    const notices: PreemptionNotice[] = [];
    const { stream, lock } = await held('jobs/d', '14', { onPreemptionRequest: (notice) => notices.push(notice) });
    stream.preempt('jobs/d', '14', 3_000, 'waiters queued', 'w5');
    await waitFor('the handler to run', () => notices.length === 1);
    expect(notices[0]).toEqual({
      name: 'jobs/d',
      token: 14n,
      graceMs: 3_000,
      reason: 'waiters queued',
      warningId: 'w5',
    });
    expect(lock.held).toBe(true);
  });
});

describe('lock.events()', () => {
  it('yields the warning, the pre-emption request and the revocation, then ends; lock.signal aborts', async () => {
    const { stream, lock, client } = await held('jobs/e', '15');
    const events: LockEvent[] = [];
    const consumed = (async () => {
      for await (const event of lock.events()) events.push(event);
    })();
    stream.warn('jobs/e', '15', 'w6');
    await answerTo(stream); // the default acknowledgement: observing does not answer
    stream.preempt('jobs/e', '15', 2_000, 'waiters', 'w6');
    stream.revoke('jobs/e', '15', 'preempted', 'score 92');
    await consumed;
    expect(events.map((e) => e.type)).toEqual(['warning', 'preemption', 'lost']);
    const [warning, preemption, lost] = events;
    expect(warning?.type === 'warning' && warning.warning.warningId).toBe('w6');
    expect(preemption?.type === 'preemption' && preemption.request.graceMs).toBe(2_000);
    expect(lost?.type === 'lost' && lost.error.lossCause).toBe('revoked');
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect((lock.signal.reason as LockLostError).message).toContain('preempted: score 92');
    expect(client.locks()).toEqual([]);
  });

  it('ends without a loss event when the lock is released', async () => {
    const { lock, stream } = await held('jobs/f', '16');
    const iterator = lock.events();
    const next = iterator.next();
    const releasing = lock.release();
    const release = (await stream.next('release')).release as { requestSeq: string };
    stream.send({ done: { requestSeq: release.requestSeq } });
    await releasing;
    expect(await next).toEqual({ value: undefined, done: true });
  });

  it('stops delivering after break, while other iterators keep receiving', async () => {
    const { stream, lock } = await held('jobs/g', '17');
    const first: string[] = [];
    const second: string[] = [];
    const breaking = (async () => {
      for await (const event of lock.events()) {
        if (event.type === 'warning') first.push(event.warning.warningId);
        break;
      }
    })();
    const staying = (async () => {
      for await (const event of lock.events()) if (event.type === 'warning') second.push(event.warning.warningId);
    })();
    stream.warn('jobs/g', '17', 'w8');
    await breaking;
    stream.warn('jobs/g', '17', 'w9');
    await waitFor('the second warning', () => second.length === 2);
    stream.revoke('jobs/g', '17');
    await staying;
    expect(first).toEqual(['w8']);
    expect(second).toEqual(['w8', 'w9']);
  });

  it('on a lock already lost yields the loss and ends', async () => {
    const { stream, lock } = await held('jobs/h', '18');
    stream.revoke('jobs/h', '18', 'operator');
    await waitFor('the revocation', () => lock.signal.aborted);
    const events: LockEvent[] = [];
    for await (const event of lock.events()) events.push(event);
    expect(events.map((e) => e.type)).toEqual(['lost']);
  });
});
