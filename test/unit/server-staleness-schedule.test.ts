// The leader's staleness driver at scale (issue 13): with every session renewing on time, an evaluation pass assesses
// none of the held locks; a session that falls silent has its own locks assessed and warned, and no other's.
import { describe, expect, it, vi } from 'vitest';
import type { ServerFramePayload } from '../../src/server/wire.js';
import { ManualClock } from '../../src/util/clock.js';
import { advisorNode } from './advisor-node.js';

const T0 = 1_000_000;
const TTL = 10_000;
const SESSIONS = 10;
const LOCKS_PER_SESSION = 100;

describe('StalenessAdvisor.evaluate', () => {
  it('assesses only what changed: no lock of a renewing session, every lock of the one that fell silent', async () => {
    const clock = new ManualClock(T0);
    const { machine, hub, advisor, service, duties, takeOffice } = advisorNode(clock);
    await takeOffice();

    const warned: { sessionId: string; resource: string }[] = [];
    const sessions: string[] = [];
    for (let s = 0; s < SESSIONS; s++) {
      const { sessionId } = await service.openSession(`client-${s}`, TTL, clock.now());
      sessions.push(sessionId);
      hub.attach(sessionId, {
        onLockEvent: () => {},
        leadershipLost: () => {},
        superseded: () => {},
        push: (payload: ServerFramePayload) => {
          if ('warning' in payload && payload.warning !== undefined) {
            warned.push({ sessionId, resource: payload.warning.resourceId });
          }
        },
      });
      for (let n = 0; n < LOCKS_PER_SESSION; n++) {
        const acquire = { type: 'acquire', requestSeq: n + 1, name: `s${s}/lock-${n}`, mode: 'exclusive' } as const;
        await service.proposeAccepted({ ...acquire, tryOnly: true, fenced: true, preemptible: true, sessionId });
      }
    }
    expect(machine.lockCount()).toBe(SESSIONS * LOCKS_PER_SESSION);
    const assess = vi.spyOn(advisor.predictor, 'assess');
    const silent = sessions[3] as string;
    const keepaliveAt = new Map(sessions.map((id) => [id, 0]));
    let assessedWhileAllRenew = -1;
    for (let t = 0; t <= 40_000; t += 50) {
      clock.set(T0 + t);
      for (const sessionId of sessions) {
        if (sessionId === silent && t >= 20_000) continue;
        if (t < (keepaliveAt.get(sessionId) as number)) continue;
        const guarantee = service.keepalive({ sessionId, receiveMs: clock.now(), clientTimeMs: clock.now() });
        keepaliveAt.set(sessionId, t + (guarantee?.keepaliveIntervalMs ?? TTL / 3));
      }
      if (t % 250 === 0) advisor.evaluate(clock.now(), duties);
      if (t === 19_750) assessedWhileAllRenew = assess.mock.calls.length;
    }
    // 20 s of passes (80) over 1,000 held locks: 80,000 assessments for a full walk; none needed.
    expect(assessedWhileAllRenew).toBe(0);
    const assessedLocks = new Set(assess.mock.calls.map(([lock]) => `${lock.sessionId}/${lock.resource}`));
    expect([...assessedLocks].every((key) => key.startsWith(`${silent}/`))).toBe(true);
    expect(assessedLocks.size).toBe(LOCKS_PER_SESSION);
    expect(warned.length).toBe(LOCKS_PER_SESSION);
    expect(warned.every((warning) => warning.sessionId === silent)).toBe(true);
  });
});
