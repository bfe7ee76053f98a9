// The lock simulation's fault schedule: crashes (some right after a write), restarts, partitions that often cut the
// leader off, an unreliable network, and client pauses, at random intervals while the run accepts work.
import type { NodeId } from '../../raft/types.js';
import { RELIABLE_NETWORK } from '../raft-network.js';
import type { LockSimClients } from './clients.js';
import type { LockSimContext } from './context.js';

/** Injects one weighted random fault every 0.3-2.5 s of virtual time while the run accepts work. */
export class LockSimFaults {
  private readonly faults: readonly (readonly [number, () => void])[];
  private readonly totalWeight: number;

  constructor(
    private readonly ctx: LockSimContext,
    clients: LockSimClients,
  ) {
    const { cluster, rng } = ctx;
    const voters = cluster.ids.length; // every node is a founding voter
    this.faults = [
      [
        3,
        () => {
          const up = this.upIds();
          if (up.length <= Math.floor(voters / 2)) return;
          const victim = rng.chance(0.5) && cluster.leader() !== null ? cluster.leader()! : rng.pick(up);
          ctx.count('crashes');
          if (rng.chance(0.3)) cluster.node(victim).crashAfterNextPersist = true;
          else cluster.crash(victim);
        },
      ],
      [
        4,
        () => {
          const down = this.downIds();
          if (down.length > 0) cluster.restart(rng.pick(down));
        },
      ],
      [
        3,
        () => {
          ctx.count('partitions');
          const leader = cluster.leader();
          if (leader !== null && rng.chance(0.6)) cluster.network.isolate(leader, cluster.ids);
          else {
            const shuffled = rng.shuffle(cluster.ids);
            const cut = rng.int(1, shuffled.length - 1);
            cluster.network.partition(shuffled.slice(0, cut), shuffled.slice(cut));
          }
        },
      ],
      [4, () => cluster.network.heal()],
      [
        2,
        () => {
          cluster.network.faults = {
            dropRate: rng.uniform(0, 0.1),
            duplicateRate: rng.uniform(0, 0.05),
            minDelayMs: 1,
            maxDelayMs: rng.uniform(2, 30),
            longDelayRate: rng.uniform(0, 0.05),
            longDelayMs: rng.uniform(100, 1_000),
          };
        },
      ],
      [3, () => clients.pauseOne()],
    ];
    this.totalWeight = this.faults.reduce((sum, [weight]) => sum + weight, 0);
  }

  /** Schedules the first fault. */
  start(): void {
    this.ctx.cluster.schedule(this.ctx.rng.uniform(1_000, 3_000), () => this.inject());
  }

  /** Ends every fault: links healed, a reliable network, no pending crash, every node restarted. */
  heal(): void {
    const { cluster } = this.ctx;
    cluster.network.heal();
    cluster.network.faults = { ...RELIABLE_NETWORK };
    for (const id of cluster.ids) cluster.node(id).crashAfterNextPersist = false;
    for (const id of this.downIds()) cluster.restart(id);
  }

  private inject(): void {
    const { ctx } = this;
    if (!ctx.accepting) return;
    let roll = ctx.rng.uniform(0, this.totalWeight);
    for (const [weight, action] of this.faults) {
      roll -= weight;
      if (roll < 0) {
        action();
        break;
      }
    }
    ctx.cluster.schedule(ctx.rng.uniform(300, 2_500), () => this.inject());
  }

  private upIds(): NodeId[] {
    return this.ctx.cluster.ids.filter((id) => this.ctx.cluster.isUp(id));
  }

  private downIds(): NodeId[] {
    return this.ctx.cluster.ids.filter((id) => !this.ctx.cluster.isUp(id));
  }
}
