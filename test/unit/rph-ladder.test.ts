import { describe, expect, it } from 'vitest';
import { fencedRequestAtMs, PreemptionLadder } from '../../src/rph/ladder.js';
import { revokeAtMs } from '../../src/rph/revocation-time.js';
import type { LadderAction, LadderConfig, LadderInput, LadderLock } from '../../src/rph/types.js';
import type { LockPrediction, SpmThresholds } from '../../src/spm/types.js';

const thresholds: SpmThresholds = {
  warningProbability: 0.7,
  preemptionScore: 80,
  preemptionSuspended: false,
  overloaded: false,
  commonCause: false,
};

const baseLock: LadderLock = {
  resource: 'r1',
  sessionId: 's1',
  token: 7n,
  fenced: true,
  preemptible: true,
  waiters: 1,
};

function prediction(overrides: Partial<LockPrediction> = {}): LockPrediction {
  return {
    resource: 'r1',
    sessionId: 's1',
    stalenessProbability: 0.9,
    predictedStaleInMs: 4000,
    predictedStaleAtMs: null,
    preemptionScore: 90,
    level: 'HIGH',
    warningThreshold: 0.7,
    reasons: ['keepalive-late'],
    horizonMs: 60_000,
    missedKeepalives: 0,
    silenceExplainedUntilMs: null,
    samples: 10,
    leaseDeadlineMs: 0,
    ...overrides,
  };
}

interface Step {
  readonly lock?: Partial<LadderLock>;
  readonly prediction?: Partial<LockPrediction>;
  readonly thresholds?: Partial<SpmThresholds>;
  readonly promisedUntilMs?: number;
}

function run(ladder: PreemptionLadder, atMs: number, step: Step = {}): LadderAction[] {
  const input: LadderInput = {
    lock: { ...baseLock, ...step.lock },
    prediction: prediction(step.prediction),
    thresholds: { ...thresholds, ...step.thresholds },
    promisedUntilMs: step.promisedUntilMs ?? 0,
    minSamples: 3,
  };
  return ladder.evaluate(input, atMs);
}

function ladder(config: Partial<LadderConfig> = {}): PreemptionLadder {
  return new PreemptionLadder(config);
}

describe('revokeAtMs (docs/design.md, principle 2)', () => {
  it.each([
    { deadline: 5000, promised: 9000, fenced: true, expected: 5000 },
    { deadline: 5000, promised: 9000, fenced: false, expected: 9000 },
    { deadline: 5000, promised: 4000, fenced: false, expected: 5000 },
  ])(
    'deadline $deadline, promise $promised, fenced $fenced -> $expected',
    ({ deadline, promised, fenced, expected }) => {
      expect(revokeAtMs(deadline, promised, fenced)).toBe(expected);
    },
  );
});

describe('PreemptionLadder: the full ladder with nobody answering', () => {
  it('warns, requests at the end of the ack timeout, revokes a fenced lock at the deadline', () => {
    const l = ladder();
    expect(run(l, 0, { prediction: { level: 'LOW', stalenessProbability: 0.2 } })).toEqual([]);
    const warn = run(l, 1000);
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ type: 'warn', atMs: 1000, ackDeadlineMs: 3000, token: 7n });
    expect(l.stage('r1', 's1')).toBe('WARNED');
    expect(l.nextDeadlineMs()).toBe(3000);
    expect(run(l, 2999)).toEqual([]);
    const request = run(l, 3000, { promisedUntilMs: 20_000 });
    expect(request[0]).toMatchObject({ type: 'preempt-request', deadlineMs: 6000, graceMs: 3000, revokeAtMs: 6000 });
    expect(l.stage('r1', 's1')).toBe('PREEMPT_REQUESTED');
    expect(run(l, 5999)).toEqual([]);
    expect(run(l, 6000)[0]).toMatchObject({ type: 'revoke', atMs: 6000, token: 7n, reason: 'keepalive-late' });
    expect(l.stage('r1', 's1')).toBe('REVOKED');
    expect(run(l, 7000)).toEqual([]);
  });

  it('revokes an ordinary lock no earlier than the promise given when the request was sent', () => {
    const l = ladder();
    run(l, 0, { lock: { fenced: false } });
    const request = run(l, 2000, { lock: { fenced: false }, promisedUntilMs: 9000 });
    expect(request[0]).toMatchObject({ type: 'preempt-request', deadlineMs: 5000, revokeAtMs: 9000 });
    expect(run(l, 8999, { lock: { fenced: false }, promisedUntilMs: 15_000 })).toEqual([]);
    expect(run(l, 9000, { lock: { fenced: false }, promisedUntilMs: 15_000 })[0]).toMatchObject({ type: 'revoke' });
  });
});

describe('PreemptionLadder: a silent holder of an ordinary lock', () => {
  it('is asked when the grace would end at its promise, so a late keepalive still clears the warning', () => {
    const l = ladder({ missedKeepaliveFactor: 1 });
    const silent: Step = { lock: { fenced: false }, prediction: { missedKeepalives: 1 }, promisedUntilMs: 10_000 };
    run(l, 0, silent);
    expect(run(l, 2000, silent)).toEqual([]);
    expect(l.nextDeadlineMs()).toBe(7000);
    expect(run(l, 7000, silent)[0]).toMatchObject({ type: 'preempt-request', deadlineMs: 10_000, revokeAtMs: 10_000 });
  });

  it('goes back to NORMAL when the late keepalive arrives first', () => {
    const l = ladder({ missedKeepaliveFactor: 1 });
    run(l, 0, { lock: { fenced: false }, prediction: { missedKeepalives: 1 }, promisedUntilMs: 10_000 });
    run(l, 2000, { lock: { fenced: false }, prediction: { missedKeepalives: 1 }, promisedUntilMs: 10_000 });
    const renewed: Step = {
      lock: { fenced: false },
      prediction: { level: 'LOW', stalenessProbability: 0.01, preemptionScore: 20 },
    };
    expect(run(l, 7000, { ...renewed, promisedUntilMs: 16_000 })).toEqual([]);
    expect(l.stage('r1', 's1')).toBe('NORMAL');
  });

  it('a renewing holder of an ordinary lock is asked at once (the request freezes its promise)', () => {
    const l = ladder();
    run(l, 0, { lock: { fenced: false }, promisedUntilMs: 10_000 });
    expect(run(l, 2000, { lock: { fenced: false }, promisedUntilMs: 10_000 })[0]).toMatchObject({
      type: 'preempt-request',
      revokeAtMs: 10_000,
    });
  });
});

describe('PreemptionLadder: a renewing holder of a fenced lock', () => {
  // Default lead 5 s + grace 3 s: the request goes out 8 s before the predicted staleness.
  const forecast = (staleAtMs: number, overrides: Partial<LockPrediction> = {}): Step => ({
    prediction: { reasons: ['rtt-rising'], predictedStaleAtMs: staleAtMs, ...overrides },
  });

  it('is asked lead + grace before its predicted staleness, not at the end of the ack timeout', () => {
    const l = ladder();
    expect(fencedRequestAtMs(true, { missedKeepalives: 0, predictedStaleAtMs: 30_000 }, 8000)).toBe(22_000);
    run(l, 0, forecast(30_000));
    expect(run(l, 2000, forecast(30_000))).toEqual([]);
    expect(l.nextDeadlineMs()).toBe(22_000);
    expect(run(l, 21_750, forecast(30_000))).toEqual([]);
    expect(run(l, 22_000, forecast(30_000))[0]).toMatchObject({ type: 'preempt-request', deadlineMs: 25_000 });
  });

  it('is re-timed by every prediction: a forecast that comes closer is asked at once', () => {
    const l = ladder();
    run(l, 0, forecast(30_000));
    expect(run(l, 2000, forecast(30_000))).toEqual([]);
    expect(run(l, 3000, forecast(10_000))[0]).toMatchObject({ type: 'preempt-request', deadlineMs: 6000 });
  });

  it('goes back to NORMAL without a request when the forecast fades', () => {
    const l = ladder();
    run(l, 0, forecast(30_000));
    run(l, 2000, forecast(30_000));
    expect(run(l, 5000, { prediction: { level: 'LOW', stalenessProbability: 0.1, preemptionScore: 30 } })).toEqual([]);
    expect(l.stage('r1', 's1')).toBe('NORMAL');
  });

  it('falling silent, or an ordinary lock, or no predicted time: asked at once', () => {
    expect(fencedRequestAtMs(true, { missedKeepalives: 1, predictedStaleAtMs: 30_000 }, 8000)).toBe(-Infinity);
    expect(fencedRequestAtMs(false, { missedKeepalives: 0, predictedStaleAtMs: 30_000 }, 8000)).toBe(-Infinity);
    expect(fencedRequestAtMs(true, { missedKeepalives: 0, predictedStaleAtMs: null }, 8000)).toBe(-Infinity);
    const l = ladder();
    run(l, 0, forecast(30_000));
    run(l, 2000, forecast(30_000));
    expect(run(l, 4000, forecast(30_000, { missedKeepalives: 1 }))[0]).toMatchObject({ type: 'preempt-request' });
  });
});

describe('PreemptionLadder: client answers', () => {
  it('an acknowledgement buys one more ack period', () => {
    const l = ladder();
    run(l, 0);
    expect(l.acknowledge('r1', 's1', 1500)).toBe(true);
    expect(run(l, 3000)).toEqual([]);
    expect(run(l, 3500)[0]).toMatchObject({ type: 'preempt-request', atMs: 3500 });
  });

  it('checkpointing buys the time asked, capped', () => {
    const l = ladder({ maxCheckpointMs: 10_000 });
    run(l, 0);
    expect(l.checkpointing('r1', 's1', 5000, 1000)).toBe(true);
    expect(run(l, 5999)).toEqual([]);
    expect(run(l, 6000)[0]).toMatchObject({ type: 'preempt-request' });
    const capped = ladder({ maxCheckpointMs: 10_000 });
    run(capped, 0);
    capped.checkpointing('r1', 's1', 60_000, 1000);
    expect(capped.nextDeadlineMs()).toBe(11_000);
  });

  it('releasing gives one ack period for the release to commit, and the release ends the ladder', () => {
    const l = ladder();
    run(l, 0);
    expect(l.releasing('r1', 's1', 1000)).toBe(true);
    expect(run(l, 2500)).toEqual([]);
    l.lockEnded('r1', 's1');
    expect(l.stage('r1', 's1')).toBe('NORMAL');
    expect(l.nextDeadlineMs()).toBeNull();
  });

  it('answers without an open warning change nothing', () => {
    const l = ladder();
    expect(l.acknowledge('r1', 's1', 0)).toBe(false);
    expect(l.checkpointing('r1', 's1', 1000, 0)).toBe(false);
  });

  it('a warning whose risk passed returns to NORMAL at the end of the answer window', () => {
    const l = ladder();
    run(l, 0);
    expect(run(l, 2000, { prediction: { level: 'LOW', stalenessProbability: 0.3, preemptionScore: 40 } })).toEqual([]);
    expect(l.stage('r1', 's1')).toBe('NORMAL');
  });

  it('stays WARNED while the score is below the pre-emption threshold, and requests once it passes', () => {
    const l = ladder();
    run(l, 0);
    expect(run(l, 2000, { prediction: { preemptionScore: 75 } })).toEqual([]);
    expect(l.stage('r1', 's1')).toBe('WARNED');
    expect(run(l, 2500, { prediction: { preemptionScore: 85 } })[0]).toMatchObject({ type: 'preempt-request' });
  });
});

describe('PreemptionLadder: a keepalive missed during a warning shortens every remaining wait', () => {
  it('halves the remaining ack wait and the grace of the request per missed keepalive', () => {
    const l = ladder({ missedKeepaliveFactor: 0.5 });
    run(l, 0); // answer by 2000
    run(l, 1000, { prediction: { missedKeepalives: 1 } }); // remaining 1000 -> 500
    expect(l.nextDeadlineMs()).toBe(1500);
    const request = run(l, 1500, { prediction: { missedKeepalives: 1 } });
    expect(request[0]).toMatchObject({ type: 'preempt-request', graceMs: 1500, deadlineMs: 3000 });
  });

  it('never brings forward a revocation deadline already sent (docs/design.md, principle 2)', () => {
    const l = ladder({ missedKeepaliveFactor: 0.5 });
    run(l, 0);
    run(l, 1000, { prediction: { missedKeepalives: 1 } });
    run(l, 1500, { prediction: { missedKeepalives: 1 } }); // request sent: deadline 3000
    run(l, 2000, { prediction: { missedKeepalives: 2 } }); // another missed keepalive after the request
    expect(l.nextDeadlineMs()).toBe(3000);
    expect(run(l, 2999, { prediction: { missedKeepalives: 2 } })).toEqual([]);
    expect(run(l, 3000, { prediction: { missedKeepalives: 2 } })[0]).toMatchObject({ type: 'revoke', atMs: 3000 });
  });

  it('a warning that starts after a missed keepalive starts with the shortened wait', () => {
    const l = ladder({ missedKeepaliveFactor: 0.25 });
    expect(run(l, 0, { prediction: { missedKeepalives: 1 } })[0]).toMatchObject({ type: 'warn', ackDeadlineMs: 500 });
  });

  it('a miss that was made up before the warning shortens nothing', () => {
    const l = ladder();
    run(l, 0, { prediction: { level: 'LOW', missedKeepalives: 1 } });
    expect(run(l, 100, { prediction: { missedKeepalives: 0 } })[0]).toMatchObject({ ackDeadlineMs: 2100 });
  });
});

describe('PreemptionLadder: when it never pre-empts', () => {
  const cases: Array<{ name: string; step: Step; config?: Partial<LadderConfig> }> = [
    { name: 'preemptible: false', step: { lock: { preemptible: false } } },
    { name: 'overload suspends pre-emption', step: { thresholds: { preemptionSuspended: true } } },
    { name: 'nothing to free (no waiters, session renewing)', step: { lock: { waiters: 0 } } },
    { name: 'too few samples (a new leader)', step: { prediction: { samples: 2 } } },
    { name: 'score under the threshold', step: { prediction: { preemptionScore: 79 } } },
    { name: 'mode warn-only', step: {}, config: { mode: 'warn-only' } },
  ];
  it.each(cases)('$name: warns but never requests', ({ step, config }) => {
    const l = ladder(config);
    expect(run(l, 0, step)[0]).toMatchObject({ type: 'warn' });
    for (let t = 2000; t <= 30_000; t += 1000) expect(run(l, t, step)).toEqual([]);
    expect(l.stage('r1', 's1')).toBe('WARNED');
  });

  it('a failing session frees its lock even with no waiters', () => {
    const l = ladder();
    const step: Step = { lock: { waiters: 0 }, prediction: { missedKeepalives: 1 } };
    run(l, 0, step);
    expect(run(l, 1000, step)[0]).toMatchObject({ type: 'preempt-request' });
  });

  it('mode off: no warning either', () => {
    const l = ladder({ mode: 'off' });
    for (let t = 0; t <= 10_000; t += 1000) expect(run(l, t)).toEqual([]);
  });

  it('overload that starts after the request holds the revocation until it ends', () => {
    const l = ladder();
    run(l, 0);
    run(l, 2000);
    expect(run(l, 5000, { thresholds: { preemptionSuspended: true } })).toEqual([]);
    expect(run(l, 6000)[0]).toMatchObject({ type: 'revoke', atMs: 6000 });
  });
});

describe('PreemptionLadder: restore and new grants', () => {
  it('restore starts every holder at NORMAL and forgets open ladders', () => {
    const l = ladder();
    run(l, 0);
    l.restore();
    expect(l.stage('r1', 's1')).toBe('NORMAL');
    expect(l.nextDeadlineMs()).toBeNull();
    expect(run(l, 100, { prediction: { samples: 0 } })[0]).toMatchObject({ type: 'warn' });
    for (let t = 2100; t < 10_000; t += 500) expect(run(l, t, { prediction: { samples: 0 } })).toEqual([]);
  });

  it('a new grant (another token) starts a fresh ladder', () => {
    const l = ladder();
    run(l, 0);
    run(l, 2000);
    expect(l.stage('r1', 's1')).toBe('PREEMPT_REQUESTED');
    expect(run(l, 2500, { lock: { token: 8n } })[0]).toMatchObject({ type: 'warn', token: 8n });
  });

  it('rejects a shortening factor outside (0, 1]', () => {
    expect(() => ladder({ missedKeepaliveFactor: 0 })).toThrow(RangeError);
  });
});

describe('PreemptionLadder: a silent holder is not asked to yield while one lost keepalive explains its silence', () => {
  it('waits for the replacement of a lost keepalive to be overdue, then asks', () => {
    const l = ladder({ missedKeepaliveFactor: 0.25 });
    const silent = { prediction: { missedKeepalives: 1, silenceExplainedUntilMs: 3000 } };
    expect(run(l, 0, silent)[0]).toMatchObject({ type: 'warn', ackDeadlineMs: 500 });
    expect(run(l, 500, silent)).toEqual([]); // the answer window is over, but a lost keepalive still explains it
    expect(l.nextDeadlineMs()).toBe(3000);
    expect(run(l, 2999, silent)).toEqual([]);
    const request = run(l, 3000, { prediction: { missedKeepalives: 2, silenceExplainedUntilMs: 3000 } });
    expect(request[0]).toMatchObject({ type: 'preempt-request', graceMs: 3000 * 0.25 ** 2 });
  });

  it('the replacement arrives: the warning clears and nothing is requested', () => {
    const l = ladder();
    run(l, 0, { prediction: { missedKeepalives: 1, silenceExplainedUntilMs: 3000 } });
    const back = { level: 'LOW' as const, preemptionScore: 30, missedKeepalives: 0, silenceExplainedUntilMs: 9000 };
    expect(run(l, 2500, { prediction: back })).toEqual([]);
    expect(l.stage('r1', 's1')).toBe('NORMAL');
  });
});
