// The lock service in the Raft simulator: one seeded history of the server's own code (LockStateMachine, LockService,
// SessionTracker, LeaderDuties) on every SimCluster node's RaftDriver, and clients that follow the SDK's own request,
// resume, retry and keepalive rules (src/client/'s pure units) over session streams, with pauses, under crashes,
// partitions and lost unsynced writes; the history is handed to the lock-history checker. The parts live in
// src/sim/lock/ by role, as hashicorp/raft's fuzzy/ splits its harness: the cluster (SimCluster), the nodes' servers
// (servers.ts), clients, faults, and the checker (lock-history-checker.ts).
import { SeededRng } from '../util/rng.js';
import { LockSimClients } from './lock/clients.js';
import { LockSimContext, type LockSimOptions } from './lock/context.js';
import { LockSimFaults } from './lock/faults.js';
import { LockSimServers } from './lock/servers.js';
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
  return `npm run sim -- --lock --seed ${seed}`;
}

/** Virtual time after the heal phase for what is in flight to commit everywhere, ms. */
const QUIESCE_MS = 3_000;

/**
 * Runs one seeded history of the lock service on a 3- or 5-node simulated Raft cluster and checks it. Deterministic:
 * the same seed gives the same history.
 */
export async function runLockSimulation(
  seed: number,
  options: LockSimOptions = DEFAULT_LOCK_SIM,
): Promise<LockSimResult> {
  const rng = new SeededRng(seed ^ 0x10c6);
  const voters = seed % 2 === 0 ? 3 : 5;
  const compactEvery = rng.pick([undefined, 25, 60]);
  const lockDelayMs = rng.pick([0, 0, 500]);
  // The servers need the context, which needs the cluster: its nodes start once the servers exist.
  let servers: LockSimServers | null = null;
  const cluster = new SimCluster({
    seed,
    voters,
    compactEvery,
    config: { preVote: true, checkQuorum: true },
    application: (id) => servers!.application(id),
    onStarted: (id, driver) => servers!.started(id, driver),
    startStopped: true,
  });
  const ctx = new LockSimContext(cluster, rng, options, lockDelayMs);
  const clients: LockSimClients = new LockSimClients(ctx, () => built);
  const built = new LockSimServers(ctx, () => clients);
  servers = built;
  for (const id of cluster.ids) cluster.restart(id);
  const faults = new LockSimFaults(ctx, clients);

  clients.start();
  faults.start();
  await cluster.runForSettled(options.faultyMs);
  ctx.accepting = false;
  faults.heal();
  clients.resumeAll();
  await cluster.runForSettled(options.healMs);
  ctx.stopped = true;
  await cluster.runForSettled(QUIESCE_MS);

  built.checkConvergence();
  ctx.count('committedEntries', built.highestAppliedIndex);
  ctx.count('historyEvents', ctx.history.length);
  return {
    seed,
    voters,
    history: ctx.history,
    violations: checkLockHistory(ctx.history),
    divergences: built.divergences,
    stats: ctx.stats,
  };
}
