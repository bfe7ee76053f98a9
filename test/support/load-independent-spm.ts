// SPM settings for tests of the warning and pre-emption ladder that must not depend on the test machine's speed.

/**
 * The node never counts its own event loop or CPU as overloaded. Overload suspends pre-emption and raises the
 * warning threshold (docs/design.md, principle 2 and the SPM's dynamic thresholds), as it should on a real server; on
 * a loaded test machine it would make a ladder test pass or fail with the machine's load. The test of the overload
 * guard itself sets the defaults back.
 */
export const LOAD_INDEPENDENT_SPM = { overloadLoopDelayMs: 3_600_000, overloadCpu: 1_000 } as const;
