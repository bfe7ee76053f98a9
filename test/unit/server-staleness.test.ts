// The leader's SPM + RPH driver on virtual time: a holder falls silent while a waiter queues; warnings, answers,
// Pre-emption Requests and revocations follow docs/design.md, principle 2. Real state machine, tracker, SPM and ladder.
import { describe, expect, it } from 'vitest';
import type { LockEvent } from '../../src/lock/commands.js';
import { LockStateMachine } from '../../src/lock/state-machine.js';
import type { PreemptionMode } from '../../src/rph/types.js';
import { LeaderDuties } from '../../src/server/leader-duties.js';
import { LockService } from '../../src/server/lock-service.js';
import { type ConnectedStream, SessionHub } from '../../src/server/session-hub.js';
import { StalenessAdvisor } from '../../src/server/staleness.js';
import type { ServerFramePayload } from '../../src/server/wire.js';
import { SessionTracker } from '../../src/session/tracker.js';
import { ManualClock } from '../../src/util/clock.js';
import type { WireWarningKind } from '../../src/util/wire-frames.js';
import { FakeRaftNode } from './server-fake-raft.js';
import { testServerMetrics } from './test-server-metrics.js';

const T0 = 1_000_000;
const TTL = 10_000;
const STEP_MS = 50;

interface Scenario {
  readonly mode: PreemptionMode;
  readonly fenced?: boolean;
  readonly preemptible?: boolean;
  /** The holder's keepalives stop at this time (ms after T0) and resume at `resumeAtMs`, if given. */
  readonly silentFromMs: number;
  readonly resumeAtMs?: number;
  /** The holder's connection ends from its side at this time (ms after T0), its session not closed: it crashed. */
  readonly disconnectAtMs?: number;
  /** How the holder answers a warning, 100 ms after receiving it. */
  readonly answer?: WireWarningKind;
  /** With a RELEASING answer: release the lock this long after answering. */
  readonly releaseAfterMs?: number;
  /** The node's own event loop lags (it is overloaded) throughout. */
  readonly overloaded?: boolean;
  /** The holder's clock rate against the server's (0.9: 10% slow); 1 by default. */
  readonly holderClockRate?: number;
  readonly untilMs: number;
}

type Pushed = { atMs: number; to: 'holder' | 'waiter' } & ServerFramePayload;

/** Runs one scenario: both sessions open at T0, the holder takes lock L at 10 s, the waiter queues behind it. */
async function run(scenario: Scenario) {
  const clock = new ManualClock(T0);
  const machine = new LockStateMachine();
  const raft = new FakeRaftNode(machine);
  const tracker = new SessionTracker();
  const hub = new SessionHub(machine, raft);
  const metrics = testServerMetrics({ machine, raft, hub });
  const advisor = new StalenessAdvisor({ machine, tracker, hub, clock, metrics, mode: scenario.mode });
  const service = new LockService({ raft, machine, tracker, clock, guarantees: advisor });
  const errors: unknown[] = [];
  const duties = new LeaderDuties(raft, service, tracker, clock, (error) => errors.push(error));
  duties.onTookOffice((nowMs) => advisor.tookOffice(nowMs));
  const events: (LockEvent & { at: number })[] = [];
  machine.onEvent((event) => {
    duties.applied(event);
    advisor.applied(event);
    events.push({ ...event, at: clock.now() - T0 });
  });
  await duties.statusChanged(raft.status());

  const pushed: Pushed[] = [];
  const stream = (to: 'holder' | 'waiter'): ConnectedStream => ({
    onLockEvent: () => {},
    leadershipLost: () => {},
    superseded: () => {},
    push: (payload) => pushed.push({ atMs: clock.now() - T0, to, ...payload }),
  });
  const holder = await service.openSession('holder', TTL, clock.now());
  const waiter = await service.openSession('waiter', TTL, clock.now());
  hub.attach(holder.sessionId, stream('holder'));
  hub.attach(waiter.sessionId, stream('waiter'));

  /**
   * The holder's promise after every answer it got (docs/design.md, principle 2: nothing ordinary is revoked before
   * it).
   */
  let holderPromisedUntil = 0;
  const holderGuarantees: number[] = [];
  const holderLeases: number[] = [];
  let token = 0n;
  const next = { holder: 0, waiter: 0 };
  let answered = false;
  for (let t = 0; t <= scenario.untilMs; t += STEP_MS) {
    clock.set(T0 + t);
    if (t === scenario.disconnectAtMs) advisor.sessionDisconnected(holder.sessionId, clock.now());
    const holderSilent = t >= scenario.silentFromMs && (scenario.resumeAtMs === undefined || t < scenario.resumeAtMs);
    if (t >= next.holder && !holderSilent && machine.session(holder.sessionId)) {
      const clientTimeMs = T0 + t * (scenario.holderClockRate ?? 1);
      const g = service.keepalive({ sessionId: holder.sessionId, receiveMs: clock.now(), clientTimeMs });
      if (g !== null) holderLeases.push(g.leaseMs - g.guaranteeMs);
      if (g !== null) holderPromisedUntil = Math.max(holderPromisedUntil, t + g.guaranteeMs);
      if (g !== null) holderGuarantees.push(g.guaranteeMs);
      next.holder = t + (g?.keepaliveIntervalMs ?? TTL / 3);
    }
    if (t >= next.waiter) {
      const g = service.keepalive({ sessionId: waiter.sessionId, receiveMs: clock.now(), clientTimeMs: clock.now() });
      next.waiter = t + (g?.keepaliveIntervalMs ?? TTL / 3);
    }
    if (t === 10_000) {
      const acquire = { type: 'acquire', requestSeq: 1, name: 'L', mode: 'exclusive', tryOnly: false } as const;
      const options = { fenced: scenario.fenced ?? false, preemptible: scenario.preemptible ?? true };
      const grant = await service.proposeAccepted({ ...acquire, ...options, sessionId: holder.sessionId });
      token = grant.status === 'granted' ? grant.token : -1n;
      await service.proposeAccepted({ ...acquire, ...options, sessionId: waiter.sessionId });
    }
    const warning = pushed.find((frame) => 'warning' in frame);
    if (scenario.answer && warning && !answered && t >= warning.atMs + 100) {
      answered = true;
      advisor.answered(holder.sessionId, 'L', scenario.answer, 1_000, clock.now());
    }
    if (scenario.releaseAfterMs !== undefined && answered && t === warning!.atMs + 100 + scenario.releaseAfterMs) {
      await service.proposeAccepted({ type: 'release', sessionId: holder.sessionId, requestSeq: 2, name: 'L', token });
    }
    if (scenario.overloaded && t % 1_000 === 0) {
      advisor.observeLoad({ atMs: clock.now(), cpu: 1, mem: 0.5, loopDelayMs: 2_000 });
    }
    if (t % 250 === 0) advisor.evaluate(clock.now(), duties);
    await duties.runDue();
  }
  const text = await metrics.registry.metrics();
  const counter = (name: string): number =>
    [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  return {
    pushed,
    events,
    token,
    holder,
    waiter,
    holderPromisedUntil,
    holderGuarantees,
    holderLeases,
    tracker,
    machine,
    errors,
    counter,
  };
}

const toHolder = (pushed: Pushed[], kind: 'warning' | 'preemption') =>
  pushed.filter((frame) => frame.to === 'holder' && kind in frame);

describe('a fenced lock whose holder falls silent while a waiter queues', () => {
  it('is warned, then requested, then revoked at the deadline; the waiter gets a higher token', async () => {
    const r = await run({ mode: 'on', fenced: true, silentFromMs: 17_000, untilMs: 30_000 });
    const [warning] = toHolder(r.pushed, 'warning');
    const [request] = toHolder(r.pushed, 'preemption');
    expect(warning).toMatchObject({
      warning: { warningType: 'Staleness Warning', resourceId: 'L', token: String(r.token), warningId: 'w1' },
    });
    expect((warning as { warning: { reasons: string[] } }).warning.reasons).toContain('keepalive-late');
    expect(request).toMatchObject({ preemption: { resourceId: 'L', token: String(r.token), warningId: 'w1' } });
    expect(request!.atMs).toBeGreaterThan(warning!.atMs);
    const revokeAtMs = (request as { preemption: { revokeAtMs: number } }).preemption.revokeAtMs - T0;
    const revoked = r.events.find((event) => event.type === 'revoked');
    expect(revoked).toMatchObject({ name: 'L', cause: 'preemption', token: r.token });
    expect(revoked!.at).toBeGreaterThanOrEqual(revokeAtMs);
    // A fenced lock may go before the session's promise: that is what fencing is for.
    expect(revoked!.at).toBeLessThan(r.holderPromisedUntil);
    const granted = r.events.filter((event) => event.type === 'granted');
    expect(granted.map((event) => event.sessionId)).toEqual([r.holder.sessionId, r.waiter.sessionId]);
    expect((granted[1] as { token: bigint }).token).toBeGreaterThan(r.token);
    expect(r.counter('forelock_staleness_warnings_total')).toBe(1);
    expect(r.counter('forelock_preemption_requests_total')).toBe(1);
    expect(r.counter('forelock_forced_revocations_total')).toBe(1);
    expect(r.errors).toEqual([]);
  });
});

describe('a fenced lock whose holder crashed (its connection ended without a close) while a waiter queues', () => {
  it('is revoked sooner than when its holder only falls silent, through the same ladder; the waiter gets it', async () => {
    const silent = await run({ mode: 'on', fenced: true, silentFromMs: 17_000, untilMs: 30_000 });
    const crashed = await run({
      mode: 'on',
      fenced: true,
      silentFromMs: 17_000,
      disconnectAtMs: 17_000,
      untilMs: 30_000,
    });
    const revokedAt = (r: typeof silent) => r.events.find((event) => event.type === 'revoked')?.at;
    const [warning] = toHolder(crashed.pushed, 'warning');
    const [request] = toHolder(crashed.pushed, 'preemption');
    // Assessed when a live client would have been back (half a keepalive interval, the session's own tolerance and
    // one evaluation period after the disconnect), not at the later time its keepalive rhythm alone would give.
    expect(warning!.atMs).toBeGreaterThanOrEqual(17_000 + TTL / 3 / 2);
    expect(warning!.atMs).toBeLessThanOrEqual(17_000 + TTL / 3 / 2 + 500);
    expect(request).toMatchObject({ preemption: { resourceId: 'L', token: String(crashed.token) } });
    expect(crashed.events.find((event) => event.type === 'revoked')).toMatchObject({
      name: 'L',
      cause: 'preemption',
      token: crashed.token,
    });
    // Virtual time: the disconnect moves the assessment to when a live client would have been back.
    expect(revokedAt(crashed)).toBeLessThan(revokedAt(silent)!);
    expect(revokedAt(crashed)).toBeGreaterThan(request!.atMs);
    const granted = crashed.events.filter((event) => event.type === 'granted');
    expect(granted.map((event) => event.sessionId)).toEqual([crashed.holder.sessionId, crashed.waiter.sessionId]);
    expect(crashed.errors).toEqual([]);
  });

  it('with prediction off, changes nothing: the lock stays with its holder until its session expires', async () => {
    const r = await run({ mode: 'off', fenced: true, silentFromMs: 17_000, disconnectAtMs: 17_000, untilMs: 30_000 });
    expect(r.pushed).toEqual([]);
    const lost = r.events.find((event) => event.type === 'session-ended' && event.sessionId === r.holder.sessionId);
    expect(lost).toMatchObject({ expired: true });
    expect(lost!.at).toBeGreaterThanOrEqual(r.holderPromisedUntil);
  });
});

describe('an ordinary lock whose holder falls silent', () => {
  it('is never revoked or expired before the promise already given to its session', async () => {
    const r = await run({ mode: 'on', silentFromMs: 17_000, untilMs: 30_000 });
    expect(toHolder(r.pushed, 'warning')).toHaveLength(1);
    const lost = r.events.find(
      (event) => (event.type === 'revoked' || event.type === 'released') && event.sessionId === r.holder.sessionId,
    );
    expect(lost).toBeDefined();
    expect(lost!.at).toBeGreaterThanOrEqual(r.holderPromisedUntil);
    const request = toHolder(r.pushed, 'preemption')[0] as { preemption: { revokeAtMs: number } } | undefined;
    if (request !== undefined) expect(request.preemption.revokeAtMs - T0).toBeGreaterThanOrEqual(r.holderPromisedUntil);
    expect(r.machine.lock('L')?.holders.map((h) => h.sessionId)).toEqual([r.waiter.sessionId]);
  });
});

describe('answers and modes', () => {
  it('a holder that acknowledges and resumes its keepalives keeps its lock (no pre-emption)', async () => {
    // It resumes just after the unanswered window would have closed: only the acknowledgement's extra period saves it.
    const r = await run({
      mode: 'on',
      fenced: true,
      silentFromMs: 17_000,
      resumeAtMs: 22_900,
      answer: 'ACK',
      untilMs: 30_000,
    });
    expect(toHolder(r.pushed, 'warning').length).toBeGreaterThanOrEqual(1);
    expect(toHolder(r.pushed, 'preemption')).toEqual([]);
    expect(r.machine.lock('L')?.holders.map((h) => h.sessionId)).toEqual([r.holder.sessionId]);
    expect(r.counter('forelock_warning_answers_total')).toBe(1);
    // Guarantees stay within [gMin, TTL] (docs/design.md, principle 2), shortened only while the holder looked at risk.
    expect(Math.min(...r.holderGuarantees)).toBeGreaterThanOrEqual(3_000);
    expect(Math.max(...r.holderGuarantees)).toBeLessThanOrEqual(TTL);
  });

  it('a holder that answers RELEASING and releases is not pre-empted: a cooperative release', async () => {
    const r = await run({
      mode: 'on',
      fenced: true,
      silentFromMs: 17_000,
      answer: 'RELEASING',
      releaseAfterMs: 200,
      untilMs: 25_000,
    });
    expect(toHolder(r.pushed, 'warning')).toHaveLength(1);
    expect(toHolder(r.pushed, 'preemption')).toEqual([]);
    expect(r.events.some((event) => event.type === 'revoked')).toBe(false);
    expect(r.events.filter((event) => event.type === 'granted').map((event) => event.sessionId)).toEqual([
      r.holder.sessionId,
      r.waiter.sessionId,
    ]);
    expect(r.counter('forelock_warning_answers_total')).toBe(1);
    // Released normally without going stale: the warning counts as a false one.
    expect(r.counter('forelock_false_warnings_total')).toBe(1);
  });

  it("the node's own overload suspends pre-emption", async () => {
    const r = await run({ mode: 'on', fenced: true, silentFromMs: 17_000, overloaded: true, untilMs: 25_000 });
    expect(toHolder(r.pushed, 'preemption')).toEqual([]);
    expect(r.events.some((event) => event.type === 'revoked')).toBe(false);
  });

  it('warn-only warns but never pre-empts', async () => {
    const r = await run({ mode: 'warn-only', fenced: true, silentFromMs: 17_000, untilMs: 25_000 });
    expect(toHolder(r.pushed, 'warning')).toHaveLength(1);
    expect(toHolder(r.pushed, 'preemption')).toEqual([]);
    expect(r.events.some((event) => event.type === 'revoked')).toBe(false);
  });

  it('a lock acquired with preemptible: false is warned but never pre-empted', async () => {
    const r = await run({ mode: 'on', fenced: true, preemptible: false, silentFromMs: 17_000, untilMs: 25_000 });
    expect(toHolder(r.pushed, 'warning')).toHaveLength(1);
    expect(toHolder(r.pushed, 'preemption')).toEqual([]);
    expect(r.events.some((event) => event.type === 'revoked')).toBe(false);
  });

  it('off sends no warnings and promises the full TTL', async () => {
    const r = await run({ mode: 'off', fenced: true, silentFromMs: 17_000, untilMs: 25_000 });
    expect(r.pushed).toEqual([]);
    expect(new Set(r.holderGuarantees)).toEqual(new Set([TTL]));
    expect(r.events.some((event) => event.type === 'revoked')).toBe(false);
  });
});

describe('a holder whose clock runs 10% slow, renewing', () => {
  it('is told once by a clock-drift advisory, gets no per-lock warning, and its lease covers what it believes', async () => {
    const r = await run({ mode: 'on', fenced: false, silentFromMs: 120_000, holderClockRate: 0.9, untilMs: 90_000 });
    const advisories = r.pushed.filter((frame) => frame.to === 'holder' && 'advisory' in frame);
    expect(advisories).toHaveLength(1);
    expect(advisories[0]).toMatchObject({ advisory: { condition: 'clock-drift', active: true } });
    const advisory = (advisories[0] as { advisory: { clockRateError: number; advisoryId: string } }).advisory;
    expect(advisory.clockRateError).toBeCloseTo(-0.1, 2);
    expect(toHolder(r.pushed, 'warning')).toEqual([]);
    expect(toHolder(r.pushed, 'preemption')).toEqual([]);
    // The last answer: the client counts (g x 0.99 - 100) / 0.9 of server time; the lease held covers it.
    const g = r.holderGuarantees.at(-1)!;
    expect(r.holderLeases.at(-1)!).toBeGreaterThanOrEqual((g * 0.99 - 100) / 0.9 - g);
    expect(r.counter('forelock_staleness_warnings_total')).toBe(1); // an advisory counts as a warning
  });
});
