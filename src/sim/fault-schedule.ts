// Randomized fault schedules for the Raft simulator: one seed, one reproducible cluster history, checked end to end.
import type { NodeId } from '../raft/types.js';
import { SeededRng } from '../util/rng.js';
import { RaftClients } from './raft-clients.js';
import { SimCluster } from './raft-cluster.js';
import { InvariantViolation } from './raft-invariants.js';
import type { NetworkFaults } from './raft-network.js';

/** How long a schedule runs; the defaults are what `npm test` and `npm run sim` use. */
export interface ScheduleOptions {
  /** Virtual time with faults, ms. */
  readonly faultyMs: number;
  /** Virtual time allowed, after every fault is healed, for a leader to emerge and every member to catch up, ms. */
  readonly healMs: number;
}

/** The default schedule: 30 s of faults, then up to 20 s to recover. */
export const DEFAULT_SCHEDULE: ScheduleOptions = { faultyMs: 30_000, healMs: 20_000 };

/** What one seed did and whether every check held. */
export interface ScheduleResult {
  readonly seed: number;
  readonly voters: number;
  readonly ok: boolean;
  /** The broken property or the liveness failure, when not ok. */
  readonly error?: string;
  readonly virtualMs: number;
  readonly proposals: number;
  readonly acknowledged: number;
  readonly highestTerm: number;
  readonly crashes: number;
  readonly membershipChanges: number;
  readonly readsChecked: number;
  /** Entries skipped by the state machine as retries of an operation already applied (summed over nodes). */
  readonly duplicatesSkipped: number;
  readonly messages: number;
}

/** The command that replays `seed`. */
export function replayCommand(seed: number): string {
  return `npm run sim -- --seed ${seed}`;
}

/** The number of founding voters a seed runs with: a mix of 3- and 5-node clusters. */
export function votersForSeed(seed: number): number {
  return seed % 2 === 0 ? 3 : 5;
}

/**
 * Runs one seeded history: clients propose throughout while the schedule crashes and restarts nodes (losing
 * unsynced writes, sometimes mid-Ready), partitions the network symmetrically and one way, drops, delays,
 * duplicates and reorders messages, compacts logs, changes membership, transfers leadership and checks ReadIndex.
 * The safety invariants are checked after every event; after the faults heal, a leader must emerge and every
 * acknowledged operation must be applied on every member.
 */
export function runSchedule(seed: number, options: ScheduleOptions = DEFAULT_SCHEDULE): ScheduleResult {
  const rng = new SeededRng(seed ^ 0x5eed);
  const voters = votersForSeed(seed);
  const cluster = new SimCluster({
    seed,
    voters,
    spares: 1,
    // Short ticks make elections race with message delays; long ones model the production defaults.
    tickMs: rng.pick([100, 30, 15]),
    compactEvery: rng.int(20, 200),
    diskDelayMs: rng.pick([
      [0, 0],
      [0.1, 2],
      [1, 10],
    ] as const),
    config: {
      preVote: rng.chance(0.8),
      checkQuorum: rng.chance(0.8),
      maxEntriesPerAppend: rng.pick([1, 4, 16, 64]),
      maxInflight: rng.pick([1, 2, 8, 32]),
      snapshotChunkBytes: rng.pick([16, 64, 1024]),
    },
  });
  const clients = new RaftClients(cluster, rng.fork(), {
    clients: rng.int(2, 6),
    thinkMs: [0, 100],
    retryMs: rng.pick([300, 1000, 3000]),
    misdirectRate: 0.1,
  });
  const stats = { crashes: 0, membershipChanges: 0, readsChecked: 0, duplicatesSkipped: 0 };
  cluster.onApply((_node, _entry, outcome) => {
    if (outcome === 'duplicate') stats.duplicatesSkipped += 1;
  });
  const readFloors = new Map<string, number>();
  let readSeq = 0;
  cluster.onRead((_node, read) => {
    const floor = readFloors.get(read.context);
    if (floor === undefined) return;
    readFloors.delete(read.context);
    stats.readsChecked += 1;
    if (read.index < floor) {
      throw new InvariantViolation(`ReadIndex ${read.context} answered index ${read.index} < committed ${floor}`);
    }
  });

  const upIds = () => cluster.ids.filter((id) => cluster.isUp(id));
  const downIds = () => cluster.ids.filter((id) => !cluster.isUp(id));
  const actions: [number, () => void][] = [
    [
      14,
      () => {
        const up = upIds();
        if (up.length === 0) return;
        const victim = rng.pick(up);
        stats.crashes += 1;
        if (rng.chance(0.3)) cluster.node(victim).crashAfterNextPersist = true;
        else cluster.crash(victim);
      },
    ],
    [
      10,
      () => {
        // A bounce: crash and restart at once, so a node may forget what it did not sync in the middle of an election.
        const up = upIds();
        if (up.length === 0) return;
        const victim = rng.pick(up);
        stats.crashes += 1;
        cluster.crash(victim);
        cluster.restart(victim);
      },
    ],
    [
      18,
      () => {
        const down = downIds();
        if (down.length > 0) cluster.restart(rng.pick(down));
      },
    ],
    [
      12,
      () => {
        const shuffled = rng.shuffle(cluster.ids);
        const cut = rng.int(1, shuffled.length - 1);
        cluster.network.heal(); // a new partition replaces the previous one (one-way cuts may pile up on it)
        cluster.network.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      },
    ],
    [
      8,
      () => {
        const from = rng.pick(cluster.ids);
        const to = rng.pick(cluster.ids.filter((id) => id !== from));
        cluster.network.disconnect(from, to);
      },
    ],
    [20, () => cluster.network.heal()],
    [8, () => (cluster.network.faults = randomFaults(rng))],
    [6, () => (stats.membershipChanges += changeMembership(cluster, rng, voters) ? 1 : 0)],
    [
      3,
      () => {
        const leader = cluster.leader();
        if (leader === null) return;
        const target = rng.pick(cluster.core(leader).conf.voters);
        cluster.act(leader, (core) => core.transferLeadership(target));
      },
    ],
    [
      11,
      () => {
        const leader = cluster.leader();
        if (leader === null) return;
        const context = `read${++readSeq}`;
        readFloors.set(context, cluster.invariants.highestCommitted);
        cluster.act(leader, (core) => core.readIndex(context));
      },
    ],
  ];
  const totalWeight = actions.reduce((sum, [weight]) => sum + weight, 0);
  const pickAction = () => {
    let roll = rng.next() * totalWeight;
    for (const [weight, action] of actions) {
      roll -= weight;
      if (roll < 0) return action;
    }
    return (actions[actions.length - 1] as [number, () => void])[1];
  };

  const result = (ok: boolean, error?: string): ScheduleResult => {
    let highestTerm = 0;
    for (const id of upIds()) highestTerm = Math.max(highestTerm, cluster.core(id).term);
    return {
      seed,
      voters,
      ok,
      ...(error !== undefined ? { error } : {}),
      virtualMs: cluster.now,
      proposals: clients.proposals,
      acknowledged: clients.acknowledgedCount,
      highestTerm,
      ...stats,
      messages: [...cluster.network.sent.values()].reduce((sum, count) => sum + count, 0),
    };
  };

  try {
    cluster.network.faults = randomFaults(rng);
    clients.start();
    const end = options.faultyMs;
    // Some histories are calm, some churn: faults every few tens of ms catch nodes mid-replication and mid-write.
    const [minGapMs, maxGapMs] = rng.pick([
      [100, 1200],
      [20, 300],
    ] as const);
    while (cluster.now < end) {
      cluster.runFor(rng.uniform(minGapMs, maxGapMs));
      pickAction()();
    }
    // Heal: every link back, a tame network, every node restarted; clients keep going for a while, then stop.
    cluster.network.heal();
    cluster.network.faults = { ...randomFaults(rng), dropRate: 0, duplicateRate: 0, longDelayRate: 0 };
    for (const id of cluster.ids) cluster.node(id).crashAfterNextPersist = false;
    for (const id of downIds()) cluster.restart(id);
    const healDeadline = cluster.now + options.healMs;
    cluster.runFor(2_000);
    clients.stop();
    const leader = cluster.awaitStableLeader(healDeadline - cluster.now);
    if (leader === null) return result(false, `no stable leader after the faults healed\n${cluster.describe()}`);
    const caughtUp = () => {
      const current = cluster.leader();
      if (current === null) return false;
      const core = cluster.core(current);
      if (core.commitIndex !== core.lastIndex) return false;
      return membersOf(cluster, current).every((id) => cluster.node(id).sm.appliedIndex === core.commitIndex);
    };
    if (!cluster.runUntil(caughtUp, Math.max(0, healDeadline - cluster.now))) {
      return result(false, `members did not catch up with the leader after the faults healed\n${cluster.describe()}`);
    }
    const finalLeader = cluster.leader() as NodeId;
    for (const id of membersOf(cluster, finalLeader)) {
      const sm = cluster.node(id).sm;
      for (const [clientId, seq] of clients.acknowledged) {
        if (sm.seqOf(clientId) < seq) {
          return result(false, `${id} lacks acknowledged operation ${clientId}#${seq} (has ${sm.seqOf(clientId)})`);
        }
      }
    }
    return result(true);
  } catch (error) {
    if (error instanceof InvariantViolation) return result(false, error.message);
    throw error;
  }
}

function membersOf(cluster: SimCluster, leader: NodeId): NodeId[] {
  const conf = cluster.core(leader).conf;
  return [...conf.voters, ...conf.learners];
}

function randomFaults(rng: SeededRng): NetworkFaults {
  const minDelayMs = rng.uniform(0.5, 5);
  return {
    dropRate: rng.pick([0, 0, 0.01, 0.05, 0.15, 0.3]),
    duplicateRate: rng.pick([0, 0.01, 0.05]),
    minDelayMs,
    maxDelayMs: minDelayMs + rng.pick([1, 10, 50]),
    longDelayRate: rng.pick([0, 0.01, 0.05]),
    longDelayMs: rng.pick([200, 1000, 3000]),
  };
}

/**
 * One step of a membership cycle, proposed on the leader: add the outsider as a learner, promote it, then remove
 * a random voter (perhaps the leader itself), which becomes the next outsider. Returns whether a change was proposed.
 */
function changeMembership(cluster: SimCluster, rng: SeededRng, targetVoters: number): boolean {
  const leader = cluster.leader();
  if (leader === null) return false;
  const conf = cluster.core(leader).conf;
  const learner = conf.learners[0];
  const outsiders = cluster.ids.filter((id) => !conf.voters.includes(id) && !conf.learners.includes(id));
  const change =
    learner !== undefined
      ? ({ kind: 'promote', id: learner } as const)
      : conf.voters.length > targetVoters
        ? ({ kind: 'remove', id: rng.pick(conf.voters) } as const)
        : outsiders.length > 0
          ? ({ kind: 'add-learner', id: rng.pick(outsiders), address: 'sim' } as const)
          : null;
  if (change === null) return false;
  return cluster.act(leader, (core) => core.proposeConfChange(change)) !== null;
}
