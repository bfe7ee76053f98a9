// The frame every chaos scenario runs in: a fresh network and cluster from the deployment configs, the
// token-checking resource, clients under load; the fault and its healing come from the scenario; then recovery is
// measured and every check runs over the recorded history. Containers and network go even when the test fails.

import { expect, onTestFinished } from 'vitest';
import { checkLockHistory } from '../../../src/sim/lock-history-checker.js';
import { lateLossReports, missingAcknowledgedGrants, refusedEntitledWrites, tokensNotAbove } from './checks.js';
import { ChaosCluster, type ClusterNode, type ClusterOptions, type ClusterSize, type LeaderView } from './cluster.js';
import { ChaosEnv } from './env.js';
import { stopGracefully } from './faults.js';
import { type FencedResource, startFencedResource } from './fenced-resource.js';
import { mergedHistoryOf, promiseChecksOf, promiseEventsOf } from './history-check.js';
import { ensureTestImage } from './image.js';
import { RECOVERY_BOUND_MS, type RecoveryMeasurement, recordRecovery, recordSummary } from './results.js';
import { longestCommittedLog, serverEventsOf } from './server-history.js';
import { Workload } from './workload.js';

/** Session TTL of the load clients: the default, so a leader failover (1-2 s elections) stays inside one promise. */
export const CLIENT_TTL_MS = 10_000;
/** Host number of the resource container on the scenario subnet. */
const RESOURCE_HOST_NUMBER = 50;

/** What a scenario body works with. */
export interface ScenarioContext {
  readonly name: string;
  readonly size: ClusterSize;
  readonly env: ChaosEnv;
  readonly cluster: ChaosCluster;
  readonly resource: FencedResource;
  readonly workload: Workload;
  /** The leader agreed before the fault. */
  readonly initialLeader: LeaderView;
  /**
   * From now on the load clients may lose their sessions, for `reason` (a fault that can outlast their promise).
   * Without it, the scenario fails if any load-client session ends before the load stops: the SDK must keep its
   * session across every failover.
   */
  allowSessionLoss(reason: string): void;
  /**
   * Measures recovery from a fault applied at `faultAtMs`: time to a leader agreed by a majority of `among`
   * satisfying `accept`, and time to the next grant made after the fault (of `lock`, when given) acknowledged to
   * a load client. Records it for the table and fails
   * the test past the generous bound.
   */
  measureRecovery(
    fault: string,
    faultAtMs: number,
    options?: {
      accept?: (leader: LeaderView) => boolean;
      among?: readonly ClusterNode[];
      leaderBefore?: string;
      /** Count only the next grant of this lock (for a fault on one holder). */
      lock?: string;
      /**
       * Count only grants the cluster made at or after this time (default `faultAtMs`): when the fault took a while to
       * land (a kill on its way to the leader), grants made before it landed are not recovery.
       */
      grantsFromMs?: number;
    },
  ): Promise<RecoveryMeasurement>;
}

/**
 * Runs `body` inside a fresh cluster of `size` nodes under load (4 clients cycling over 3 ordinary locks, holding
 * each 50 ms and writing to the resource), then checks the whole history. `options.secure` runs it all with TLS and
 * auth on: the load clients and every check then speak TLS with their own certificates and credentials.
 */
export async function runScenario(
  name: string,
  size: ClusterSize,
  body: (context: ScenarioContext) => Promise<void>,
  options: ClusterOptions = {},
): Promise<void> {
  await ensureTestImage();
  const env = await ChaosEnv.create(`${name}-${size}`, size === 3 ? '172.30.3' : '172.30.5');
  onTestFinished(() => env.dispose());
  const cluster = await ChaosCluster.start(env, size, options);
  const initialLeader = await cluster.waitForLeader();
  const resource = await startFencedResource(env, RESOURCE_HOST_NUMBER);
  const workload = await Workload.start({
    endpoints: cluster.endpoints(),
    access: cluster.clientAccess,
    clients: 4,
    locks: ['chaos/a', 'chaos/b', 'chaos/c'],
    ttlMs: CLIENT_TTL_MS,
    holdMs: 50,
    waitMs: 10_000,
    resource,
  });
  let workloadStopped = false;
  let sessionLossAllowed: string | undefined;
  onTestFinished(async () => {
    if (!workloadStopped) await workload.stop();
  });
  await workload.nextGrantAfter(Date.now(), RECOVERY_BOUND_MS);

  const context: ScenarioContext = {
    name,
    size,
    env,
    cluster,
    resource,
    workload,
    initialLeader,
    allowSessionLoss(reason) {
      sessionLossAllowed = reason;
    },
    async measureRecovery(fault, faultAtMs, options = {}) {
      const leader = await cluster.waitForLeader(options.accept, options.among, RECOVERY_BOUND_MS + 30_000);
      const leaderMs = Date.now() - faultAtMs;
      const nextGrantAtMs = await workload.nextGrantAfter(
        options.grantsFromMs ?? faultAtMs,
        RECOVERY_BOUND_MS + 30_000,
        options.lock,
      );
      const measurement: RecoveryMeasurement = {
        scenario: name,
        nodes: size,
        fault,
        leaderBefore: options.leaderBefore ?? initialLeader.id,
        leaderAfter: leader.id,
        leaderMs,
        nextGrantMs: nextGrantAtMs - faultAtMs,
      };
      recordRecovery(measurement);
      const missing = await missingAcknowledgedGrants(workload.history, cluster.node(leader.id));
      expect(missing, `${name}: acknowledged grants missing after ${fault}`).toEqual([]);
      expect(leaderMs, `${name}: time to an agreed leader after ${fault}`).toBeLessThan(RECOVERY_BOUND_MS);
      expect(measurement.nextGrantMs, `${name}: time to the next grant after ${fault}`).toBeLessThan(RECOVERY_BOUND_MS);
      return measurement;
    },
  };
  await body(context);

  // Let the load run on the healed cluster, then stop it and check everything it saw.
  await workload.nextGrantAfter(Date.now(), RECOVERY_BOUND_MS);
  await workload.stop();
  workloadStopped = true;
  await checkHistory(context, sessionLossAllowed);
}

/**
 * Every check of the issue over the scenario's history and the recovered cluster; load-client sessions must all
 * have survived unless `sessionLossAllowed` gives the reason they may not.
 */
async function checkHistory(context: ScenarioContext, sessionLossAllowed: string | undefined): Promise<void> {
  const { cluster, workload } = context;
  expect(await tokensNotAbove(workload.history, cluster, CLIENT_TTL_MS), 'tokens after recovery').toEqual([]);
  // The committed log is read from disk once every node has stopped.
  await Promise.all(cluster.nodes.map((node) => stopGracefully(node.container)));
  const log = await longestCommittedLog(cluster.nodes);
  const serverEvents = serverEventsOf(log);
  const merged = mergedHistoryOf(serverEvents, workload.history);
  const violations = checkLockHistory(merged);
  const promiseEvents = promiseEventsOf(workload.history);
  const promiseChecks = promiseChecksOf(merged);
  const margins = promiseChecks.filter((check) => check.promiseMs > 0).map((check) => check.atMs - check.promiseMs);
  const failures = [...workload.errorCounts].map(([code, count]) => `${code}x${count}`).join(' ');
  recordSummary({
    scenario: context.name,
    nodes: context.size,
    acquires: workload.history.records.length,
    grants: workload.history.granted().length,
    failures,
    sessionsReplaced: workload.sessionsReplaced,
    sessionsLost: workload.sessionsLost,
    promiseEvents: promiseEvents.length,
    promiseChecks: promiseChecks.length,
    minPromiseMarginMs: margins.length > 0 ? Math.min(...margins) : null,
    logEntries: log.entries.length,
    serverEvents: serverEvents.length,
    violations: violations.length,
  });
  expect(
    violations.map((violation) => `${violation.kind}: ${violation.message}`),
    'lock-history checker',
  ).toEqual([]);
  expect(refusedEntitledWrites(workload.history), 'writes refused inside their safe period').toEqual([]);
  expect(lateLossReports(workload.history), 'losses reported after the safe deadline').toEqual([]);
  expect(workload.history.granted().length, 'grants acknowledged during the scenario').toBeGreaterThan(0);
  expect(
    promiseChecks
      .filter((check) => check.promiseMs === 0)
      .map((check) => `${check.kind} of "${check.lock}" token ${check.token} (${check.session})`),
    'revocations and expiries of ordinary holds whose session promise was not recorded',
  ).toEqual([]);
  // The promise check was fed: every recorded session received at least one keepalive answer.
  expect(
    workload.history.sessions
      .filter((session) => !session.frames.some((frame) => frame.kind === 'guarantee'))
      .map((session) => session.session),
    'sessions without a recorded promise',
  ).toEqual([]);
  if (sessionLossAllowed === undefined) {
    expect(workload.sessionsLost, 'load-client sessions lost (the SDK must keep its session across failovers)').toBe(0);
  }
}
