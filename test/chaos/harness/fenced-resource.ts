// The token-checking resource container (fixtures/fenced-resource.mjs) and a client for it.

import { readFileSync } from 'node:fs';
import { waitFor } from '../../support/wait-for.js';
import type { ChaosEnv, EnvContainer } from './env.js';
import { CHAOS_POLL } from './wait.js';

const script = readFileSync(new URL('../fixtures/fenced-resource.mjs', import.meta.url), 'utf8');
const RESOURCE_PORT = 8080;

/** A write the resource accepted. */
export interface AcceptedWrite {
  readonly key: string;
  readonly token: string;
  readonly value: string;
}

/** Talks to a running fenced resource over the test network. */
export class FencedResource {
  constructor(readonly container: EnvContainer) {}

  /** Base URL of the resource on the test network. */
  get url(): string {
    return `http://${this.container.ip}:${RESOURCE_PORT}`;
  }

  /** Writes `value` under `key` with fencing token `token`; true when accepted, false when refused as stale. */
  async write(key: string, token: bigint, value: string): Promise<boolean> {
    const response = await fetch(`${this.url}/write`, {
      method: 'POST',
      body: JSON.stringify({ key, token: token.toString(), value }),
      signal: AbortSignal.timeout(5_000),
    });
    if (response.status === 200) return true;
    if (response.status === 409) return false;
    throw new Error(`fenced resource answered ${response.status}: ${await response.text()}`);
  }

  /** Every write accepted so far, in order; rejects when no answer comes within `timeoutMs`. */
  async acceptedWrites(timeoutMs = 5_000): Promise<AcceptedWrite[]> {
    const response = await fetch(`${this.url}/writes`, { signal: AbortSignal.timeout(timeoutMs) });
    return (await response.json()) as AcceptedWrite[];
  }

  /** Whether the resource answers within `timeoutMs`. */
  async answers(timeoutMs: number): Promise<boolean> {
    return this.acceptedWrites(timeoutMs).then(
      () => true,
      () => false,
    );
  }
}

/** Starts the fenced resource at host number `hostNumber` and waits until it answers. */
export async function startFencedResource(env: ChaosEnv, hostNumber: number): Promise<FencedResource> {
  const container = await env.start({
    name: 'resource',
    hostNumber,
    entrypoint: ['/usr/bin/node'],
    command: ['/srv/fenced-resource.mjs', String(RESOURCE_PORT)],
    files: { '/srv/fenced-resource.mjs': script },
  });
  const resource = new FencedResource(container);
  await waitFor(
    'fenced resource answers',
    async () => {
      await resource.acceptedWrites();
      return true;
    },
    30_000,
    CHAOS_POLL,
  );
  return resource;
}
