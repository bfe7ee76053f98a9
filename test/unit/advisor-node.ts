// A node's lock state machine, session hub, staleness advisor (pre-emption on) and leader duties on a fake Raft node,
// wired as ForelockServices wires them, for tests of the advisor over many holds.
import { LockStateMachine } from '../../src/lock/state-machine.js';
import { LeaderDuties } from '../../src/server/leader-duties.js';
import { LockService } from '../../src/server/lock-service.js';
import { SessionHub } from '../../src/server/session-hub.js';
import { StalenessAdvisor } from '../../src/server/staleness.js';
import { SessionTracker } from '../../src/session/tracker.js';
import type { ManualClock } from '../../src/util/clock.js';
import { FakeRaftNode } from './server-fake-raft.js';
import { testServerMetrics } from './test-server-metrics.js';

/**
 * A node on `clock`, not in office until `takeOffice()`. With `defer`, the advisor indexes the holds of a new office
 * in turns that `defer` runs.
 */
export function advisorNode(clock: ManualClock, defer?: (work: () => void) => void) {
  const machine = new LockStateMachine();
  const raft = new FakeRaftNode(machine);
  const tracker = new SessionTracker();
  const hub = new SessionHub(machine, raft);
  const metrics = testServerMetrics({ machine, raft, hub });
  const advisor = new StalenessAdvisor({
    machine,
    tracker,
    hub,
    clock,
    metrics,
    mode: 'on',
    ...(defer === undefined ? {} : { defer }),
  });
  const service = new LockService({ raft, machine, tracker, clock, guarantees: advisor });
  const duties = new LeaderDuties(raft, service, tracker, clock, () => {});
  duties.onTookOffice((nowMs) => advisor.tookOffice(nowMs));
  machine.onEvent((event) => {
    duties.applied(event);
    advisor.applied(event);
  });
  return { machine, raft, hub, advisor, service, duties, takeOffice: () => duties.statusChanged(raft.status()) };
}
