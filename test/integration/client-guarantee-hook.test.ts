// The SDK's onGuarantee observation hook against a scripted server on 127.0.0.1: every keepalive answer is reported
// with the leader's receive time, guarantee and send time, in stream order with the lock events around it.
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { waitFor } from '../support/wait-for.js';
import { useScriptedFixtures } from './scripted-server.js';

const { scripted, defer } = useScriptedFixtures();

type Observed =
  | { kind: 'guarantee'; serverReceiveMs: number; guaranteeMs: number; serverTimeMs: number }
  | { kind: 'preemption'; name: string; token: bigint };

describe('onGuarantee', () => {
  it('reports each keepalive answer exactly as sent, in order with a Pre-emption Request between them', async () => {
    const server = await scripted();
    const observed: Observed[] = [];
    const connecting = connect({
      endpoints: [server.address],
      name: 'observed',
      onGuarantee: (answer) => observed.push({ kind: 'guarantee', ...answer }),
    });
    const stream = await server.stream(0);
    await stream.next('open');
    stream.opened();
    const client = await connecting;
    defer(() => client.close());

    const acquiring = client.acquire('jobs/g', {
      onPreemptionRequest: (notice) => observed.push({ kind: 'preemption', name: notice.name, token: notice.token }),
    });
    const sent = (await stream.next('acquire')).acquire as { requestSeq: string };
    stream.grant(sent.requestSeq, 'jobs/g', '5');
    await acquiring;
    const answer = (serverReceiveMs: number, guaranteeMs: number, serverTimeMs: number) =>
      stream.send({
        serverTimeMs,
        keepalive: { seq: '1', serverReceiveMs, guaranteeMs, keepaliveIntervalMs: 3_000 },
      });
    answer(1_000_000, 9_000, 1_000_002);
    stream.preempt('jobs/g', '5', 2_000);
    answer(1_000_500, 7_000, 1_000_501);
    await waitFor('three observations', () => observed.length === 3);

    expect(observed).toEqual([
      { kind: 'guarantee', serverReceiveMs: 1_000_000, guaranteeMs: 9_000, serverTimeMs: 1_000_002 },
      { kind: 'preemption', name: 'jobs/g', token: 5n },
      { kind: 'guarantee', serverReceiveMs: 1_000_500, guaranteeMs: 7_000, serverTimeMs: 1_000_501 },
    ]);
  });
});
