// Polling with a deadline: the one helper every suite (unit, integration, chaos) uses to wait for an observable
// condition instead of sleeping a fixed time.
import { setTimeout as delay } from 'node:timers/promises';

/** How `waitFor` polls. */
export interface WaitOptions {
  /** The pause between two polls. Default 10 ms. */
  readonly intervalMs?: number;
  /**
   * True: a condition that throws counts as "not yet" (the last error becomes the timeout's cause), for probes of
   * something that may refuse while it starts. Default false: the error fails the wait at once.
   */
  readonly retryErrors?: boolean;
}

/**
 * Polls `condition` until it returns a value other than undefined, null or false, and returns that value; fails after
 * `timeoutMs` (default 10 s, measured on the monotonic clock) with a message naming `what`.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  options: WaitOptions = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      if (!options.retryErrors) throw error;
      lastError = error;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await delay(options.intervalMs ?? 10);
  }
}
