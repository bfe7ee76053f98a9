// Polling with a deadline: the harness waits for observable conditions, never for a fixed sleep.

import { setTimeout as delay } from 'node:timers/promises';

/** Polls `condition` every `intervalMs` until it returns a value other than false/undefined (errors count as not
 * yet); rejects after `timeoutMs` with the last error, naming `what`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  condition: () => Promise<T | false | undefined>,
  intervalMs = 100,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== false && value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`, { cause: lastError });
    }
    await delay(intervalMs);
  }
}
