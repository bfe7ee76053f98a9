// Staleness warning and graceful pre-emption end to end on a real node (--preemption on) over raw gRPC streams: a
// fenced holder falls silent while a waiter queues; it is warned, requested, revoked at the deadline, and the waiter
// is granted with a higher token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeServer } from '../../src/server/node-server.js';
import { LOAD_INDEPENDENT_SPM } from '../support/load-independent-spm.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, openSession, type RawSession, startTestNode, tempDir } from './server-harness.js';

let node: NodeServer;
let address: string;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir('forelock-server-preemption-');
  removeDir = dir.remove;
  node = await startTestNode(dir.path, { preemption: 'on', spm: LOAD_INDEPENDENT_SPM });
  address = addressOf(node);
  await waitFor('a leader', () => node.services.duties.active);
});

afterAll(async () => {
  await node?.close();
  await removeDir?.();
});

/** Sends keepalives at the interval the server asks for until `stop()`; the client's pacing, not synchronization. */
function keepAlive(stream: RawSession, intervalMs: number): { stop(): void; sent(): number } {
  let seq = 0;
  let timer: NodeJS.Timeout;
  const tick = (): void => {
    seq += 1;
    stream.send({ keepalive: { seq: String(seq), clientTimeMs: Date.now(), rttMs: 0 } });
    timer = setTimeout(tick, intervalMs);
  };
  tick();
  return { stop: () => clearTimeout(timer), sent: () => seq };
}

describe('graceful pre-emption of a silent fenced holder', () => {
  it('warns, requests, revokes at the deadline and grants the waiter a higher token', async () => {
    const holder = await openSession(address, { ttlMs: 6_000 });
    const waiter = await openSession(address, { ttlMs: 10_000 });
    const holderBeat = keepAlive(holder.stream, holder.opened.keepaliveIntervalMs);
    const waiterBeat = keepAlive(waiter.stream, 1_000);
    try {
      holder.stream.send({
        acquire: { requestSeq: '1', name: 'pre/lock', waitMs: 0, fenced: true, preemptible: true },
      });
      const token = ((await holder.stream.next('acquire')).acquire as { token: string }).token;
      waiter.stream.send({ acquire: { requestSeq: '1', name: 'pre/lock', waitMs: 60_000, fenced: true } });
      await waiter.stream.next('acquire', (f) => (f.acquire as { status: string }).status === 'QUEUED');
      // Enough keepalives for the SPM to trust its model of the holder, then silence.
      await waitFor('four holder keepalives sent', () => holderBeat.sent() >= 4, 20_000);
      holderBeat.stop();
      const warning = (await holder.stream.next('warning', () => true, 15_000)).warning as Record<string, unknown>;
      expect(warning).toMatchObject({ warningType: 'Staleness Warning', resourceId: 'pre/lock', token });
      expect(warning.reasons).toContain('keepalive-late');
      const request = (await holder.stream.next('preemption', () => true, 15_000)).preemption as {
        revokeAtMs: number;
        warningId: string;
        token: string;
      };
      expect(request).toMatchObject({ token, warningId: warning.warningId });
      const revoked = await holder.stream.next('revoked', () => true, 15_000);
      expect(revoked.revoked).toMatchObject({ resourceId: 'pre/lock', token, cause: 'preemption' });
      expect(revoked.serverTimeMs).toBeGreaterThanOrEqual(request.revokeAtMs);
      const grant = (await waiter.stream.next('acquire', (f) => (f.acquire as { status: string }).status === 'GRANTED'))
        .acquire as { token: string };
      expect(BigInt(grant.token)).toBeGreaterThan(BigInt(token));
      const metrics = await (await fetch(`http://127.0.0.1:${node.httpAddress.port}/metrics`)).text();
      expect(metrics).toMatch(/forelock_forced_revocations_total\{reason="keepalive-late"\} 1/);
      expect(metrics).toMatch(/forelock_preemption_requests_total\{reason="keepalive-late"\} 1/);
    } finally {
      holderBeat.stop();
      waiterBeat.stop();
      holder.stream.cancel();
      waiter.stream.cancel();
    }
  });
});
