// How the chaos harness polls (with test/support/wait-for.ts): containers and their HTTP endpoints refuse while they
// start or while a fault is on, so a probe that throws counts as "not yet", and they are asked every 100 ms.
import type { WaitOptions } from '../../support/wait-for.js';

/** The chaos harness's polling: every 100 ms, a probe that throws counts as not yet. */
export const CHAOS_POLL: WaitOptions = { intervalMs: 100, retryErrors: true };
