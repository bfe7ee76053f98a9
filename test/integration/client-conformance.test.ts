// Client conformance (docs/protocol.md): scenarios written once against a scripted server on 127.0.0.1, and run
// against every client: the TypeScript SDK and the Python example client (examples/python/). Each scenario scripts the
// server's frames and checks what the client sends back and what its caller sees. The Python client's run skips,
// saying why, only when no python3 imports grpc and grpc_tools.
import { describe, expect, it } from 'vitest';
import {
  ClientRefusal,
  type ConformanceClient,
  PythonConformanceClient,
  SdkConformanceClient,
} from '../support/conformance-clients.js';
import { pythonWithGrpc } from '../support/python-client.js';
import { waitFor } from '../support/wait-for.js';
import type { Frame, ScriptedServer, ScriptedStream } from './scripted-server.js';
import { useScriptedFixtures } from './scripted-server.js';

const { scripted, defer } = useScriptedFixtures();

const python = pythonWithGrpc();
if ('missing' in python) console.warn(`client-conformance.test.ts: the Python client's run skipped: ${python.missing}`);

const clients: { label: string; make: () => ConformanceClient; skip: boolean }[] = [
  { label: 'TypeScript SDK', make: () => new SdkConformanceClient(), skip: false },
  {
    label: 'Python example client',
    make: () => new PythonConformanceClient((python as { python: string }).python),
    skip: 'missing' in python,
  },
];

type AcquireFrame = { requestSeq: string; name: string; fenced: boolean };
type OpenFrame = { sessionId: string; secret: string };

/** Starts `client` on `endpoints` and answers its open on `server`'s next stream; the stream. */
async function connected(client: ConformanceClient, server: ScriptedServer): Promise<ScriptedStream> {
  const connecting = client.connect([server.address]);
  const stream = await server.stream(server.streams.length);
  await stream.next('open');
  stream.opened();
  await connecting;
  return stream;
}

/** Starts an acquire of `name`; the frame the server received for it. */
async function acquireSent(client: ConformanceClient, stream: ScriptedStream, name: string) {
  const result = client.acquire(name);
  result.catch(() => {}); // awaited by the scenario; a rejection before that is not unhandled
  const frame = (await stream.next('acquire')).acquire as AcquireFrame;
  expect(frame.name).toBe(name);
  return { result, frame };
}

/** Acquires `name` and grants it with `token`. */
async function holding(client: ConformanceClient, stream: ScriptedStream, name: string, token: string) {
  const { result, frame } = await acquireSent(client, stream, name);
  stream.grant(frame.requestSeq, name, token, true);
  expect(await result).toBe(token);
  return frame;
}

describe.each(clients)('client conformance: $label', ({ make, skip }) => {
  async function client(): Promise<ConformanceClient> {
    const made = make();
    defer(() => made.dispose());
    return made;
  }

  it.skipIf(skip)(
    'never reuses a request_seq, and a refused one (INVALID_ARGUMENT) leaves the session usable',
    async () => {
      const server = await scripted();
      const under = await client();
      const stream = await connected(under, server);
      const first = await holding(under, stream, 'seq/a', '1');
      const { result: refused, frame: second } = await acquireSent(under, stream, 'seq/b');
      stream.send({
        error: {
          requestSeq: second.requestSeq,
          name: 'seq/b',
          code: 'INVALID_ARGUMENT',
          message: `request_seq ${second.requestSeq} was already used by another request`,
          retriable: false,
        },
      });
      await expect(refused).rejects.toEqual(new ClientRefusal('INVALID_ARGUMENT'));
      const third = await holding(under, stream, 'seq/c', '2');
      const seqs = [first, second, third].map((frame) => BigInt(frame.requestSeq));
      expect(seqs[1]! > seqs[0]! && seqs[2]! > seqs[1]!, `request_seqs ${seqs.join(', ')} must increase`).toBe(true);
      expect(await under.held()).toEqual({ 'seq/a': '1', 'seq/c': '2' });
    },
  );

  it.skipIf(skip)(
    'closes in order: CloseSession, then a half-close, never a cancel; done only at SessionEnded',
    async () => {
      const server = await scripted();
      const under = await client();
      const stream = await connected(under, server);
      await holding(under, stream, 'close/a', '1');
      stream.answerClose = false;
      const seen: string[] = [];
      stream.call.on('end', () =>
        seen.push(stream.pending('close') > 0 ? 'half-close after CloseSession' : 'half-close'),
      );
      // Once the server has ended the call, a transport may reset the finished stream (grpc-js then says
      // 'cancelled'): only a cancel before SessionEnded would lose the close.
      let serverEnded = false;
      stream.call.on('cancelled', () => serverEnded || seen.push('cancelled'));
      let closed = false;
      const closing = under.close().then(() => {
        closed = true;
      });
      await stream.next('close');
      await waitFor('the half-close', () => seen.length > 0);
      expect(closed, 'close() must wait for SessionEnded').toBe(false);
      stream.send({ ended: { reason: 'closed' } });
      serverEnded = true;
      stream.call.end();
      await closing;
      expect(seen).toEqual(['half-close after CloseSession']);
      expect(server.streams).toHaveLength(1); // no resume after a closed session
    },
  );

  it.skipIf(skip)('resumes on another endpoint and re-sends a pending request with its old request_seq', async () => {
    const first = await scripted();
    const second = await scripted();
    const under = await client();
    const connecting = under.connect([first.address, second.address]);
    const old = await first.stream(0);
    await old.next('open');
    old.opened();
    await connecting;
    const { result, frame: sent } = await acquireSent(under, old, 'resume/a');
    first.stop(); // the stream breaks with the acquire unanswered
    const resumed = await second.stream(0);
    const open = (await resumed.next('open')).open as OpenFrame;
    expect(open).toMatchObject({ sessionId: 's1', secret: 'secret-1' });
    resumed.opened({ secret: '' });
    const again = (await resumed.next('acquire')).acquire as AcquireFrame;
    expect(again).toMatchObject({ requestSeq: sent.requestSeq, name: 'resume/a', fenced: true });
    resumed.grant(again.requestSeq, 'resume/a', '5', true);
    expect(await result).toBe('5');
    expect(await under.connectedTo()).toBe(second.address);
  });

  it.skipIf(skip)('follows a NotLeader hint to the leader it names, even one not among its endpoints', async () => {
    const follower = await scripted();
    const leader = await scripted();
    const under = await client();
    const connecting = under.connect([follower.address]);
    const refused = await follower.stream(0);
    await refused.next('open');
    refused.send({ notLeader: { leaderId: 'leader', leaderAddress: leader.address } });
    refused.call.end();
    const accepted = await leader.stream(0);
    await accepted.next('open');
    accepted.opened();
    await connecting;
    expect(await under.connectedTo()).toBe(leader.address);
  });

  it.skipIf(skip)('after a NotLeader without a hint, tries its next endpoint', async () => {
    const follower = await scripted();
    const leader = await scripted();
    const under = await client();
    const connecting = under.connect([follower.address, leader.address]);
    const refused = await follower.stream(0);
    await refused.next('open');
    refused.send({ notLeader: { leaderId: '', leaderAddress: '' } });
    refused.call.end();
    const accepted = await leader.stream(0);
    await accepted.next('open');
    accepted.opened();
    await connecting;
    expect(await under.connectedTo()).toBe(leader.address);
  });

  it.skipIf(skip)('answers a Staleness Warning with its warning_id and the lock name', async () => {
    const server = await scripted();
    const under = await client();
    const stream = await connected(under, server);
    await holding(under, stream, 'warn/a', '3');
    stream.warn('warn/a', '3', 'w-17');
    const answer = (await stream.next('warningAnswer')).warningAnswer as Frame;
    expect(answer).toMatchObject({ warningId: 'w-17', name: 'warn/a', kind: 'ACK' });
  });

  it.skipIf(skip)('honours a Pre-emption Request: releases the lock it names with its token', async () => {
    const server = await scripted();
    const under = await client();
    const stream = await connected(under, server);
    await holding(under, stream, 'preempt/a', '4');
    await holding(under, stream, 'preempt/b', '5');
    stream.preempt('preempt/a', '4', 5_000);
    const release = (await stream.next('release')).release as { requestSeq: string; name: string; token: string };
    expect(release).toMatchObject({ name: 'preempt/a', token: '4' });
    stream.send({ done: { requestSeq: release.requestSeq, name: 'preempt/a' } });
    await waitFor('the lock to be released', async () => !('preempt/a' in (await under.held())));
    expect(await under.held()).toEqual({ 'preempt/b': '5' });
  });
});
