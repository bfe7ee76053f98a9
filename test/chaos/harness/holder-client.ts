// A lock holder running in its own container (fixtures/holder-client.mjs), driven over HTTP, so that a scenario can
// pause it or cut it off from the cluster while the test process keeps observing.

import { readFileSync } from 'node:fs';
import { waitFor } from '../../support/wait-for.js';
import type { ChaosEnv, EnvContainer } from './env.js';
import type { FencedResource } from './fenced-resource.js';
import type { GuaranteeSeen, SessionPromises } from './session-promises.js';
import { CHAOS_POLL } from './wait.js';

const script = readFileSync(new URL('../fixtures/holder-client.mjs', import.meta.url), 'utf8');
const CONTROL_PORT = 8090;

/** What the holder's SDK has reported. */
export interface HolderState {
  readonly session: string;
  readonly held: boolean;
  readonly token: string | null;
  /** Last finite `lock.safeUntil` seen while held (epoch ms). */
  readonly lastSafeUntil: number | null;
  readonly lastSafeSampleAtMs: number | null;
  /** When `lock.signal` aborted, why, and the last safe deadline seen before. */
  readonly lost: { atMs: number; cause: string; lastSafeUntil: number | null } | null;
  /**
   * Its session's open (when connect() was called, and the TTL), then the keepalive answers and Pre-emption Requests
   * in the order the SDK received them (tokens as decimal text).
   */
  readonly promiseFrames: readonly (
    | { kind: 'open'; connectStartedAtMs: number; ttlMs: number }
    | ({ kind: 'guarantee' } & GuaranteeSeen)
    | { kind: 'preemption'; lock: string; token: string }
  )[];
  readonly now: number;
}

/** Replays the promise frames the holder's SDK received into `promises` (the recorder of its session). */
export function replayPromiseFrames(state: HolderState, promises: SessionPromises): void {
  for (const frame of state.promiseFrames) {
    if (frame.kind === 'open') promises.opened(frame.connectStartedAtMs, frame.ttlMs);
    else if (frame.kind === 'guarantee') promises.guarantee(frame);
    else promises.preempted(frame.lock, BigInt(frame.token));
  }
}

/** Controls one holder container. */
export class HolderClient {
  constructor(readonly container: EnvContainer) {}

  private async call<T>(path: string, body?: unknown, timeoutMs = 15_000): Promise<T> {
    const response = await fetch(`http://${this.container.ip}:${CONTROL_PORT}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const answer = (await response.json()) as T & { error?: string };
    if (!response.ok) throw new Error(`holder ${path}: ${response.status} ${answer.error}`);
    return answer;
  }

  /** Acquires `lock` exclusively. */
  async acquire(lock: string, fenced: boolean): Promise<{ token: bigint; grantedAtMs: number }> {
    const answer = await this.call<{ token: string; grantedAtMs: number }>('/acquire', { lock, fenced });
    return { token: BigInt(answer.token), grantedAtMs: answer.grantedAtMs };
  }

  /** Checks the lock is still safe and readies a write of `key` with its token; false when it is not safe. */
  async prepareWrite(key: string): Promise<boolean> {
    return (await this.call<{ safe: boolean }>('/prepare-write', { key })).safe;
  }

  /** Sends the prepared write without checking again; resolves to the resource's HTTP status (409: stale). */
  async commitWrite(value: string): Promise<number> {
    return (await this.call<{ status: number }>('/commit-write', { value })).status;
  }

  /** What the SDK has reported so far. */
  state(timeoutMs = 2_000): Promise<HolderState> {
    return this.call<HolderState>('/state', undefined, timeoutMs);
  }
}

/** Starts a holder at host number `hostNumber` connected to `endpoints`, and waits until it answers. */
export async function startHolderClient(
  env: ChaosEnv,
  options: { hostNumber: number; endpoints: readonly string[]; resource: FencedResource; ttlMs: number; name: string },
): Promise<HolderClient> {
  const container = await env.start({
    name: options.name,
    hostNumber: options.hostNumber,
    entrypoint: ['/usr/bin/node'],
    command: [
      '/srv/holder-client.mjs',
      String(CONTROL_PORT),
      options.endpoints.join(','),
      options.resource.url,
      String(options.ttlMs),
      options.name,
    ],
    files: { '/srv/holder-client.mjs': script },
  });
  const holder = new HolderClient(container);
  await waitFor(`holder ${options.name} answers`, () => holder.state(1_000), 30_000, CHAOS_POLL);
  return holder;
}
