// ServerMetrics for a test's in-process node: gauges read from its state machine, fake Raft node and hub when it has
// them, an idle event loop and no overload (one construction instead of one per test file).
import type { LockStateMachine } from '../../src/lock/state-machine.js';
import type { RaftStatus } from '../../src/raft/node-api.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import type { SessionHub } from '../../src/server/session-hub.js';

/** What a test node has of its own; every part is optional (an Authenticator test has none). */
export interface TestNodeParts {
  readonly machine?: LockStateMachine;
  readonly raft?: { status(): RaftStatus };
  readonly hub?: SessionHub;
}

export function testServerMetrics({ machine, raft, hub }: TestNodeParts = {}): ServerMetrics {
  return new ServerMetrics({
    status: () => (raft === undefined ? ({} as never) : raft.status()),
    sessionCount: () => machine?.sessionCount() ?? 0,
    connectedSessionCount: () => hub?.size ?? 0,
    lockCount: () => machine?.lockCount() ?? 0,
    eventLoopDelayMs: () => 0,
    eventLoopStallMs: () => 0,
    preemptionSuspended: () => false,
  });
}
