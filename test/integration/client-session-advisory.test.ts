// Session Advisories against a scripted server: the begin and the end of a session condition reach the session's
// handlers and `lock.events()` of every lock held at the time, once each (repeats after a resumption dropped), over a
// Session stream of its own and over the shared Sessions stream, and change no safe period.
import { describe, expect, it } from 'vitest';
import { type Client, connect, type LockEvent, type SessionAdvisory } from '../../src/index.js';
import { waitFor } from '../support/wait-for.js';
import { type ScriptedStream, useScriptedFixtures } from './scripted-server.js';

const { scripted, connectTo, defer } = useScriptedFixtures();

/** Acquires `name` on `client` and grants it on `stream` with `token`. */
async function hold(client: Client, stream: ScriptedStream, name: string, token: string) {
  const acquiring = client.acquire(name);
  const sent = (await stream.next('acquire')).acquire as { requestSeq: string };
  stream.grant(sent.requestSeq, name, token);
  return acquiring;
}

/** Collects a lock's events until its stream ends. */
function collect(iterator: AsyncIterableIterator<LockEvent>): { events: LockEvent[]; done: Promise<void> } {
  const events: LockEvent[] = [];
  const done = (async () => {
    for await (const event of iterator) events.push(event);
  })();
  return { events, done };
}

/** The advisories among `events`, as [advisoryId, active]. */
function advisoriesIn(events: readonly LockEvent[]): [string, boolean][] {
  return events.flatMap((e) => (e.type === 'advisory' ? [[e.advisory.advisoryId, e.advisory.active]] : [])) as [
    string,
    boolean,
  ][];
}

describe('session advisories', () => {
  it.each([
    ['the shared Sessions stream', true],
    ['a Session stream of its own', false],
  ])('reach the handler and every held lock once per begin and end, over %s', async (_label, sessions) => {
    const server = await scripted({ sessions });
    const { client, stream } = await connectTo(server);
    const a = await hold(client, stream, 'jobs/a', '11');
    const b = await hold(client, stream, 'jobs/b', '12');
    const onA = collect(a.events());
    const onB = collect(b.events());
    const heard: SessionAdvisory[] = [];
    client.onAdvisory((advisory) => heard.push(advisory));
    const safeBefore = [a.safeUntil, b.safeUntil, client.session.safeUntil];

    stream.advise('a1', 'clock-drift', true, {
      detail: 'the client clock runs 3% slow, beyond the 1% bound even at the guarantee floor',
      guaranteeMs: 2_000,
      clockRateError: -0.03,
      probability: 0.97,
    });
    stream.advise('a1', 'clock-drift', true, { guaranteeMs: 2_000, clockRateError: -0.03, probability: 0.97 });
    await waitFor('the begin', () => heard.length === 1);
    // An advisory changes no promise: the safe periods still follow the 10 s guarantee of the open.
    const safeAfter = [a.safeUntil, b.safeUntil, client.session.safeUntil];
    for (const [i, before] of safeBefore.entries()) expect(Math.abs(safeAfter[i]! - before!)).toBeLessThan(100);
    expect(a.held && b.held).toBe(true);

    stream.advise('a1', 'clock-drift', false, { guaranteeMs: 10_000, clockRateError: -0.002, probability: 0.1 });
    await waitFor('the end', () => heard.length === 2);
    stream.revoke('jobs/a', '11', 'operator');
    stream.revoke('jobs/b', '12', 'operator');
    await Promise.all([onA.done, onB.done]);

    expect(heard).toEqual([
      {
        advisoryId: 'a1',
        condition: 'clock-drift',
        active: true,
        detail: 'the client clock runs 3% slow, beyond the 1% bound even at the guarantee floor',
        guaranteeMs: 2_000,
        clockRateError: -0.03,
        probability: 0.97,
      },
      {
        advisoryId: 'a1',
        condition: 'clock-drift',
        active: false,
        detail: 'clock-drift ended',
        guaranteeMs: 10_000,
        clockRateError: -0.002,
        probability: 0.1,
      },
    ]);
    for (const { events } of [onA, onB]) {
      expect(events.map((e) => e.type)).toEqual(['advisory', 'advisory', 'lost']);
      expect(events.flatMap((e) => (e.type === 'advisory' ? [e.advisory] : []))).toEqual(heard);
    }
  });

  it('reach only the locks held when they arrive, and the handlers with no lock held', async () => {
    const server = await scripted();
    const { client, stream } = await connectTo(server);
    const heard: [string, boolean][] = [];
    const unregister = client.session.onAdvisory((advisory) => heard.push([advisory.advisoryId, advisory.active]));

    stream.advise('a1', 'link-degrading', true);
    await waitFor('a begin with no lock held', () => heard.length === 1);
    const early = await hold(client, stream, 'jobs/early', '21');
    const onEarly = collect(early.events());
    stream.advise('a1', 'link-degrading', false);
    await waitFor('the end', () => heard.length === 2);

    // A released lock hears nothing more; one taken later hears only what comes after.
    const releasing = early.release();
    const release = (await stream.next('release')).release as { requestSeq: string };
    stream.send({ done: { requestSeq: release.requestSeq } });
    await releasing;
    await onEarly.done;
    const late = await hold(client, stream, 'jobs/late', '22');
    const onLate = collect(late.events());
    stream.advise('a2', 'link-degrading', true);
    await waitFor('a second episode', () => heard.length === 3);
    unregister();
    stream.advise('a2', 'link-degrading', false);
    stream.revoke('jobs/late', '22');
    await onLate.done;

    expect(heard).toEqual([
      ['a1', true],
      ['a1', false],
      ['a2', true],
    ]);
    expect(advisoriesIn(onEarly.events)).toEqual([['a1', false]]);
    expect(advisoriesIn(onLate.events)).toEqual([
      ['a2', true],
      ['a2', false],
    ]);
  });

  it('are heard once when the server sends them again on a resumed stream; onAdvisory of connect() hears them', async () => {
    const server = await scripted();
    const heard: SessionAdvisory[] = [];
    const connecting = connect({
      endpoints: [server.address],
      name: 'scripted',
      backoff: { initialMs: 10, maxMs: 50 },
      onAdvisory: (advisory) => heard.push(advisory),
    });
    const stream = await server.stream(0);
    await stream.next('open');
    stream.opened();
    const client = await connecting;
    defer(() => client.close());
    const lock = await hold(client, stream, 'jobs/r', '31');
    const events = collect(lock.events());

    stream.advise('a7', 'clock-drift', true, { clockRateError: 0.04 });
    stream.advise('a8', 'link-degrading', true);
    await waitFor('both begins', () => heard.length === 2);
    stream.call.end(); // the leader's stream dropped
    const resumed = await server.stream(1);
    await resumed.next('open');
    resumed.opened({ secret: '', held: [{ name: 'jobs/r', mode: 'EXCLUSIVE', token: '31', fenced: false }] });
    // Episodes still in progress are sent again: nothing new for the user. A condition it does not know is passed on.
    resumed.advise('a7', 'clock-drift', true, { clockRateError: 0.04 });
    resumed.advise('a8', 'link-degrading', false);
    resumed.advise('a9', 'gc-pressure', true);
    await waitFor('the end and the new condition', () => heard.length === 4);
    resumed.revoke('jobs/r', '31');
    await events.done;

    const seen = heard.map((a) => [a.advisoryId, a.condition, a.active]);
    expect(seen).toEqual([
      ['a7', 'clock-drift', true],
      ['a8', 'link-degrading', true],
      ['a8', 'link-degrading', false],
      ['a9', 'gc-pressure', true],
    ]);
    expect(advisoriesIn(events.events)).toEqual(seen.map(([id, , active]) => [id, active]));
  });
});
