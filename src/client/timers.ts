// The timers a session connection arms, injected so that a test or a simulator can run them in virtual time; Node's
// own by default.

/** Arms and cancels timers. */
export interface Timers {
  /**
   * Runs `action` once, after `delayMs`; returns the handle `cancel` takes. `unref`: the timer alone does not keep
   * the process alive (Node's `timer.unref()`).
   */
  after(delayMs: number, action: () => void, unref?: boolean): unknown;
  /** Cancels the timer `handle` names (one that has run or was cancelled: nothing happens). */
  cancel(handle: unknown): void;
}

/** Node's timers. */
export const nodeTimers: Timers = {
  after(delayMs, action, unref = false) {
    const timer = setTimeout(action, delayMs);
    if (unref) timer.unref();
    return timer;
  },
  cancel(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
