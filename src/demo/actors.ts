// The demo's clients, one behaviour each: steady workers, a client that crashes holding a fenced lock, one stuck in
// its critical section, one that checkpoints then releases when warned, and one whose latency ramps up (its
// keepalives are held back longer and longer, client-side, by freezing its SDK's outgoing frames).
import { type Client, connect } from '../client/client.js';
import { LockLostError, TimeoutError } from '../client/errors.js';
import type { Lock } from '../client/lock.js';
import { SeededRng } from '../util/rng.js';
import { type DemoContext, pause, releaseAfterWarning, stopped, watchLock } from './lock-watch.js';
import { DEMO_LOCKS, type DemoActorPlan } from './scenario.js';

/** How long an incident client waits for its lock before giving up, in ms. */
const INCIDENT_WAIT_MS = 20_000;
/** The time a checkpointing client asks for, and the time its checkpoint actually takes, in ms. */
const CHECKPOINT_ASK_MS = 1_500;
const CHECKPOINT_TAKES_MS = 1_000;
/**
 * A steady client's critical section and the gap before its next acquire, in ms: about 15 holds a second in all,
 * enough history for every lock within 12 s, and little enough load that the leader does not judge itself
 * overloaded (which suspends pre-emption).
 */
const STEADY_HOLD_MS = [80, 250] as const;
const STEADY_GAP_MS = [40, 120] as const;
/** How long a steady client queues for a lock before trying another one, in ms. */
const STEADY_WAIT_MS = 2_500;
/** How long the crashing client holds its lock (renewing it) before it crashes, in ms. */
const CRASH_AFTER_MS = 3_000;
/** The latency-ramp client holds its keepalives back this much longer at each step, up to the maximum, in ms. */
const RAMP_STEP_MS = 600;
const RAMP_MAX_DELAY_MS = 6_000;
/** How long the crashed client looks for a newer writer before trying its late write, in ms. */
const LATE_WRITE_WAIT_MS = 15_000;

/** Releases a lock, ignoring a loss the holder already learned of. */
async function releaseQuietly(lock: Lock): Promise<void> {
  try {
    await lock.release();
  } catch (error) {
    if (!(error instanceof LockLostError)) throw error;
  }
}

/** Resolves when `promise` settles or the demo stops. */
function untilStopped(ctx: DemoContext, promise: Promise<unknown>): Promise<unknown> {
  return Promise.race([promise, stopped(ctx.stop)]);
}

function note(ctx: DemoContext, client: string, text: string): void {
  ctx.timeline.add({ type: 'note', atMs: ctx.elapsedMs(), client, text });
}

/** Acquires `name` for an incident client at its start time; null when the demo ended first. */
async function acquireAt(ctx: DemoContext, client: Client, plan: DemoActorPlan, fenced: boolean): Promise<Lock | null> {
  await pause(plan.startMs - ctx.elapsedMs(), ctx.stop);
  if (ctx.stop.aborted) return null;
  try {
    return await client.acquire(plan.lock, { fenced, waitMs: INCIDENT_WAIT_MS, signal: ctx.stop });
  } catch (error) {
    if (ctx.stop.aborted) return null;
    note(ctx, plan.name, `could not get ${plan.lock}: ${(error as Error).message}`);
    return null;
  }
}

/** Takes random locks for short critical sections, acknowledging any warning. */
async function steady(ctx: DemoContext, plan: DemoActorPlan, client: Client): Promise<void> {
  const rng = new SeededRng(plan.seed);
  const picks = DEMO_LOCKS.flatMap((lock) => Array.from({ length: lock.weight }, () => lock));
  while (!ctx.stop.aborted) {
    const target = rng.pick(picks);
    let lock: Lock;
    try {
      lock = await client.acquire(target.name, { fenced: target.fenced, waitMs: STEADY_WAIT_MS, signal: ctx.stop });
    } catch (error) {
      // A wait that ran out (a lock held by an incident) is routine: try another lock.
      if (ctx.stop.aborted || client.session.signal.aborted) return;
      if (!(error instanceof TimeoutError))
        note(ctx, plan.name, `gave up on ${target.name}: ${(error as Error).message}`);
      continue;
    }
    const watch = watchLock(ctx, plan.name, lock, () => ({ kind: 'ack' }), true);
    if (target.fenced) ctx.stores.get(target.name)?.write(lock.token);
    await pause(rng.int(STEADY_HOLD_MS[0], STEADY_HOLD_MS[1]), ctx.stop);
    if (watch.warned()) await releaseAfterWarning(ctx, plan.name, lock);
    else await releaseQuietly(lock);
    await pause(rng.int(STEADY_GAP_MS[0], STEADY_GAP_MS[1]), ctx.stop);
  }
}

/** Holds the fenced lock, crashes (sends nothing, keeps the connection), and later tries a write with its old token. */
async function crashing(ctx: DemoContext, plan: DemoActorPlan, client: Client): Promise<void> {
  const lock = await acquireAt(ctx, client, plan, true);
  if (lock === null) return;
  let frozen = false;
  const watch = watchLock(
    ctx,
    plan.name,
    lock,
    () => undefined,
    false,
    () => frozen,
  );
  const store = ctx.stores.get(plan.lock);
  store?.write(lock.token);
  note(ctx, plan.name, `writes to ${plan.lock}'s store with token ${lock.token}`);
  await pause(CRASH_AFTER_MS, ctx.stop);
  frozen = true;
  client.simulatePause(true);
  note(ctx, plan.name, 'crashes: its process stops sending anything (the connection stays open)');
  await untilStopped(ctx, watch.ended);
  if (store === undefined) return;
  // The process comes back and finishes the write it had started, with the token it had.
  const deadline = ctx.elapsedMs() + LATE_WRITE_WAIT_MS;
  while (!ctx.stop.aborted && ctx.elapsedMs() < deadline) {
    const result = store.write(lock.token);
    if (!result.accepted) {
      ctx.timeline.add({
        type: 'write-rejected',
        atMs: ctx.elapsedMs(),
        lock: plan.lock,
        client: plan.name,
        token: lock.token,
        highestToken: result.highestToken,
      });
      return;
    }
    await pause(100, ctx.stop);
  }
}

/** Holds its lock forever while keeping its session alive, answering nothing. */
async function stuck(ctx: DemoContext, plan: DemoActorPlan, client: Client): Promise<void> {
  const lock = await acquireAt(ctx, client, plan, false);
  if (lock === null) return;
  const watch = watchLock(ctx, plan.name, lock, () => undefined, false);
  note(ctx, plan.name, `enters its critical section on ${plan.lock} and hangs there (keepalives go on)`);
  await untilStopped(ctx, watch.ended);
}

/** Runs a long job under its lock; on a warning it asks for time, saves a checkpoint and releases. */
async function checkpointing(ctx: DemoContext, plan: DemoActorPlan, client: Client): Promise<void> {
  const lock = await acquireAt(ctx, client, plan, false);
  if (lock === null) return;
  let warned: () => void = () => {};
  const warning = new Promise<void>((resolve) => {
    warned = resolve;
  });
  let asked = false;
  const watch = watchLock(
    ctx,
    plan.name,
    lock,
    () => {
      if (asked) return { kind: 'ack' };
      asked = true;
      warned();
      return { kind: 'checkpointing', checkpointMs: CHECKPOINT_ASK_MS };
    },
    false,
  );
  note(ctx, plan.name, `starts a long batch job on ${plan.lock}`);
  await untilStopped(ctx, Promise.race([warning, watch.ended]));
  if (!asked || ctx.stop.aborted || lock.signal.aborted) return;
  await pause(CHECKPOINT_TAKES_MS, ctx.stop);
  if (lock.signal.aborted) return;
  ctx.timeline.add({ type: 'checkpoint-saved', atMs: ctx.elapsedMs(), lock: plan.lock, client: plan.name });
  await releaseAfterWarning(ctx, plan.name, lock);
}

/** Holds its lock while its keepalives are delayed more and more; acknowledges warnings when it can still send. */
async function latencyRamp(ctx: DemoContext, plan: DemoActorPlan, client: Client): Promise<void> {
  const rng = new SeededRng(plan.seed);
  const lock = await acquireAt(ctx, client, plan, false);
  if (lock === null) return;
  let frozen = false;
  const watch = watchLock(
    ctx,
    plan.name,
    lock,
    () => (frozen ? undefined : { kind: 'ack' }),
    false,
    () => frozen,
  );
  note(ctx, plan.name, 'its network slows down: each keepalive is held back longer than the last');
  for (let step = 1; !ctx.stop.aborted && !lock.signal.aborted; step++) {
    const delayMs = Math.min(RAMP_STEP_MS * step + rng.int(0, 200), RAMP_MAX_DELAY_MS);
    frozen = true;
    client.simulatePause(true);
    await untilStopped(ctx, Promise.race([watch.ended, pause(delayMs, ctx.stop)]));
    frozen = false;
    client.simulatePause(false);
    await untilStopped(ctx, Promise.race([watch.ended, pause(rng.int(300, 600), ctx.stop)]));
  }
  if (!ctx.stop.aborted) note(ctx, plan.name, 'its latency is back to normal');
}

const BEHAVIOURS = {
  steady,
  crashing,
  stuck,
  checkpointing,
  'latency-ramp': latencyRamp,
} as const;

/** Connects one demo client, runs its behaviour until the demo stops, and closes it. */
export async function runActor(ctx: DemoContext, plan: DemoActorPlan): Promise<void> {
  const client = await connect({
    endpoints: ctx.endpoints,
    name: plan.name,
    ttlMs: plan.ttlMs,
    connectTimeoutMs: 30_000,
    signal: ctx.stop,
    onAdvisory: (advisory) =>
      ctx.timeline.add({
        type: 'advisory',
        atMs: ctx.elapsedMs(),
        client: plan.name,
        condition: advisory.condition,
        active: advisory.active,
        detail: advisory.detail,
      }),
  });
  try {
    await BEHAVIOURS[plan.role](ctx, plan, client);
    await stopped(ctx.stop);
  } finally {
    await client.close();
  }
}
