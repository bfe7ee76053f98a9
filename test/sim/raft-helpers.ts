// Helpers shared by the Raft scenario tests: building clusters and writing operations through the leader.

import type { NodeId } from '../../src/raft/types.js';
import { encodeOp } from '../../src/sim/dedup-state-machine.js';
import { SimCluster, type SimClusterOptions } from '../../src/sim/raft-cluster.js';

/** One operation written to the log: its own client, sequence 1, so writes never depend on one another. */
export interface Write {
  readonly clientId: string;
  readonly index: number;
  readonly term: number;
  readonly node: NodeId;
}

let writes = 0;

/** A cluster of `voters` founders on a reliable network, seed 1 unless told otherwise. */
export function makeCluster(voters: number, options: Partial<SimClusterOptions> = {}): SimCluster {
  return new SimCluster({ seed: 1, voters, ...options });
}

/** Proposes a fresh operation on `node` (the leader by default); null when that node is not leader. */
export function write(cluster: SimCluster, node: NodeId | null = cluster.leader()): Write | null {
  if (node === null) return null;
  const clientId = `op${++writes}`;
  const position = cluster.act(node, (core) => core.propose(encodeOp({ clientId, seq: 1 })));
  return position === null ? null : { clientId, node, ...position };
}

/** Proposes `count` operations on the leader, all at once. */
export function writeMany(cluster: SimCluster, count: number): Write[] {
  const result: Write[] = [];
  for (let i = 0; i < count; i++) {
    const next = write(cluster);
    if (next === null) throw new Error('no leader to write to');
    result.push(next);
  }
  return result;
}

/** Whether `node` has applied `op` (it is running or was, and its state machine has the operation). */
export function appliedOn(cluster: SimCluster, node: NodeId, op: Write): boolean {
  return cluster.node(node).sm.seqOf(op.clientId) >= 1;
}

/** Runs until every listed node applied every operation; returns whether that happened within `maxMs`. */
export function awaitApplied(cluster: SimCluster, nodes: readonly NodeId[], ops: readonly Write[], maxMs: number) {
  return cluster.runUntil(() => ops.every((op) => nodes.every((node) => appliedOn(cluster, node, op))), maxMs);
}

/** The running nodes other than `except`. */
export function othersThan(cluster: SimCluster, ...except: NodeId[]): NodeId[] {
  return cluster.ids.filter((id) => !except.includes(id));
}
