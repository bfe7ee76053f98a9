// The lock service in the Raft simulator: one seeded history of LockStateMachine replicas on SimCluster nodes, the
// leaders' duties and promises, and clients with sessions, keepalives, retries after ambiguous failures and pauses,
// under crashes, partitions and lost unsynced writes; the history is handed to the lock-history checker. The parts
// live in src/sim/lock/ by role, as hashicorp/raft's fuzzy/ splits its harness: replicas (the cluster's state
// machines), leaders (each node's leader duties), clients, faults, and the checker (lock-history-checker.ts).
import { SeededRng } from '../util/rng.js';
import { LockSimClients } from './lock/clients.js';
import { LockSimContext, type LockSimOptions } from './lock/context.js';
import { LockSimFaults } from './lock/faults.js';
import { SimLeaders } from './lock/leaders.js';
import { LockReplicas } from './lock/replicas.js';
import { checkLockHistory, type HistoryEvent, type Violation } from './lock-history-checker.js';
import { SimCluster } from './raft-cluster.js';

export type { LockSimOptions } from './lock/context.js';

/** The defaults `npm test` uses. */
export const DEFAULT_LOCK_SIM: LockSimOptions = {
  faultyMs: 40_000,
  healMs: 30_000,
  clients: 6,
  lockNames: ['a', 'b', 'c'],
  ttlMs: 3_000,
};

/** What one seed did. */
export interface LockSimResult {
  readonly seed: number;
  readonly voters: number;
  readonly history: readonly HistoryEvent[];
  readonly violations: readonly Violation[];
  /** Replicas that applied one index with different results or events, or ended with different states. */
  readonly divergences: readonly string[];
  readonly stats: Readonly<Record<string, number>>;
}

/** The command that replays one seed of this simulation. */
export function lockSimReplayCommand(seed: number): string {
  return `LOCK_SIM_SEED=${seed} npx vitest run test/sim/lock-sim.test.ts`;
}

/** Virtual time after the heal phase for what is in flight to commit everywhere, ms. */
const QUIESCE_MS = 3_000;

/**
 * Runs one seeded history of the lock service on a 3- or 5-node simulated Raft cluster and checks it. Deterministic:
 * the same seed gives the same history.
 */
export function runLockSimulation(seed: number, options: LockSimOptions = DEFAULT_LOCK_SIM): LockSimResult {
  const rng = new SeededRng(seed ^ 0x10c6);
  const voters = seed % 2 === 0 ? 3 : 5;
  const compactEvery = rng.pick([undefined, 25, 60]);
  const cluster = new SimCluster({ seed, voters, compactEvery, config: { preVote: true, checkQuorum: true } });
  const ctx = new LockSimContext(cluster, rng, options, rng.pick([0, 0, 500]));
  const leaders: SimLeaders = new SimLeaders(
    ctx,
    () => replicas,
    () => clients,
  );
  const replicas: LockReplicas = new LockReplicas(
    ctx,
    () => clients,
    (service, command, events) => leaders.applied(service, command, events),
  );
  const clients: LockSimClients = new LockSimClients(ctx, () => ({
    request: (node, client, op, session) => replicas.request(node, client, op, session),
    keepalive: (node, client, session, sentAtMs) => leaders.keepalive(node, client, session, sentAtMs),
  }));
  const faults = new LockSimFaults(ctx, replicas, clients);

  clients.start();
  leaders.start();
  faults.start();
  cluster.runFor(options.faultyMs);
  ctx.accepting = false;
  faults.heal();
  clients.resumeAll();
  cluster.runFor(options.healMs);
  ctx.stopped = true;
  cluster.runFor(QUIESCE_MS);

  replicas.checkConvergence();
  ctx.count('committedEntries', replicas.firstAppliedIndex);
  ctx.count('historyEvents', ctx.history.length);
  return {
    seed,
    voters,
    history: ctx.history,
    violations: checkLockHistory(ctx.history),
    divergences: replicas.divergences,
    stats: ctx.stats,
  };
}
