// What the demo shares between its clients (timeline, clock, stores, stop signal) and how it follows one held lock:
// its grant, warnings and answers, Pre-emption Request, release or loss, each into the timeline.
import { LockLostError } from '../client/errors.js';
import type { Lock, StalenessWarning, WarningResponse } from '../client/lock.js';
import type { FencedStore } from './fenced-store.js';
import type { Timeline } from './timeline.js';

/** A Pre-emption Request a holder received and has not answered by releasing. */
export interface OpenRequest {
  readonly lock: string;
  readonly client: string;
  readonly token: bigint;
  /** Whether the holder was frozen (sending nothing) when it lost the lock: it could not hand it back. */
  frozen: boolean;
}

/** What every demo client shares. */
export interface DemoContext {
  readonly endpoints: readonly string[];
  readonly timeline: Timeline;
  /** Milliseconds since the demo started. */
  elapsedMs(): number;
  /** Aborted when the demo ends (or on Ctrl-C). */
  readonly stop: AbortSignal;
  /** The token-checking store behind each fenced lock. */
  readonly stores: ReadonlyMap<string, FencedStore>;
  /** Requests not settled by a release, oldest first (the forced revocations the cluster commits are theirs). */
  readonly openRequests: OpenRequest[];
  /** Locks with an incident under way: their next grant is shown even when routine. */
  readonly incidents: Set<string>;
  /** Records the forced revocations committed by now, stamped `atMs` (a grant after an incident reveals them). */
  revealRevocations(atMs: number): Promise<void>;
}

/** How a client answers a warning: the SDK answer to send, or undefined to stay silent. */
export type WarningAnswer = (warning: StalenessWarning) => WarningResponse | undefined;

/**
 * Follows `lock` held by `client` into the timeline; `ended` resolves with the signal's reason once the hold ended.
 * `frozen` says whether the client is sending nothing just now (a crash or a latency spike).
 */
export function watchLock(
  ctx: DemoContext,
  client: string,
  lock: Lock,
  answer: WarningAnswer,
  routine: boolean,
  frozen: () => boolean = () => false,
): { warned(): boolean; request(): OpenRequest | undefined; ended: Promise<unknown> } {
  const { timeline } = ctx;
  const grantedAtMs = ctx.elapsedMs();
  const afterIncident = ctx.incidents.delete(lock.name);
  const grant = {
    type: 'grant',
    atMs: grantedAtMs,
    lock: lock.name,
    client,
    token: lock.token,
    routine: routine && !afterIncident,
  } as const;
  // A grant after a Pre-emption Request may be the first sign of its forced revocation: show that first.
  if (ctx.openRequests.some((open) => open.lock === lock.name)) {
    void ctx.revealRevocations(grantedAtMs).then(() => timeline.add(grant));
  } else timeline.add(grant);
  let warned = false;
  let request: OpenRequest | undefined;
  lock.onWarning((warning) => {
    warned = true;
    if (!routine) ctx.incidents.add(lock.name);
    timeline.add({
      type: 'warning',
      atMs: ctx.elapsedMs(),
      lock: lock.name,
      client,
      token: lock.token,
      score: warning.preemptionScore,
      probability: warning.probability,
      reasons: warning.reasons,
      predictedStalenessMs: warning.predictedStalenessMs,
    });
    const response = answer(warning);
    if (response?.kind === 'ack')
      timeline.add({ type: 'acknowledged', atMs: ctx.elapsedMs(), lock: lock.name, client });
    if (response?.kind === 'checkpointing') {
      timeline.add({
        type: 'checkpointing',
        atMs: ctx.elapsedMs(),
        lock: lock.name,
        client,
        checkpointMs: response.checkpointMs,
      });
    }
    return response;
  });
  lock.onPreemption((notice) => {
    if (!routine) ctx.incidents.add(lock.name);
    request = { lock: lock.name, client, token: lock.token, frozen: frozen() };
    ctx.openRequests.push(request);
    timeline.add({
      type: 'preemption-request',
      atMs: ctx.elapsedMs(),
      lock: lock.name,
      client,
      token: lock.token,
      graceMs: notice.graceMs,
      reason: notice.reason,
    });
  });
  const ended = new Promise<unknown>((resolve) => {
    const onAbort = (): void => {
      const reason: unknown = lock.signal.reason;
      // Locks given up when the demo ends are not part of the story.
      if (reason instanceof LockLostError && !ctx.stop.aborted) {
        const event = { atMs: ctx.elapsedMs(), lock: lock.name, client, token: lock.token };
        if (reason.lossCause === 'safe-period-passed') {
          timeline.add({ type: 'safe-period-ended', ...event });
          // A live SDK hands the lock back at once; only a frozen holder leaves it to a forced revocation.
          if (request !== undefined && !frozen()) settleRequest(ctx, lock.name, lock.token);
          else if (request !== undefined) request.frozen = true;
        } else if (reason.lossCause === 'session-ended') timeline.add({ type: 'session-lost', ...event });
        else timeline.add({ type: 'note', atMs: event.atMs, client, text: `learns ${lock.name} was taken away` });
      }
      resolve(reason);
    };
    if (lock.signal.aborted) onAbort();
    else lock.signal.addEventListener('abort', onAbort, { once: true });
  });
  return { warned: () => warned, request: () => request, ended };
}

/** Forgets the open request of `lock` at `token`: its holder gave the lock back. */
function settleRequest(ctx: DemoContext, lock: string, token: bigint): void {
  const index = ctx.openRequests.findIndex((open) => open.lock === lock && open.token === token);
  if (index >= 0) ctx.openRequests.splice(index, 1);
}

/**
 * Releases a lock the client holds after a warning: a cooperative release (shown when sent, so it precedes the next
 * grant), unless the cluster had already taken the lock away.
 */
export async function releaseAfterWarning(ctx: DemoContext, client: string, lock: Lock): Promise<void> {
  settleRequest(ctx, lock.name, lock.token);
  const atMs = ctx.elapsedMs();
  const released = lock.release();
  ctx.timeline.add({ type: 'cooperative-release', atMs, lock: lock.name, client, token: lock.token });
  try {
    await released;
  } catch (error) {
    if (!(error instanceof LockLostError)) throw error;
    ctx.timeline.add({ type: 'note', atMs: ctx.elapsedMs(), client, text: `${lock.name} had already been taken away` });
  }
}

/** Waits `ms` (the demo's pacing), or less when the demo stops. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Resolves when `signal` aborts (the demo stops). */
export function stopped(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
