// Cluster ids: derived deterministically from the founding members (and an optional token), so every founder of a
// cluster computes the same id on its own, as etcd derives its cluster ID from --initial-cluster and its token.
import { createHash, randomBytes } from 'node:crypto';
import type { NodeId } from './types.js';

/** Hex digits of a cluster id (64 bits: collisions between clusters an operator runs are not a concern). */
const CLUSTER_ID_HEX_DIGITS = 16;

/**
 * The id of a cluster founded by `peers` (member id -> address) with `token` (etcd's --initial-cluster-token: two
 * clusters with the same addresses, e.g. a re-created test cluster, get different ids when given different tokens).
 * The order of `peers` does not matter. `salt` tells apart clusters founded from the same peers out of different
 * data, e.g. restored from different snapshots (restoredClusterId).
 */
export function deriveClusterId(peers: Readonly<Record<NodeId, string>>, token = '', salt = ''): string {
  const members = Object.entries(peers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify({ members, token, salt });
  return createHash('sha256').update(canonical).digest('hex').slice(0, CLUSTER_ID_HEX_DIGITS);
}

/**
 * The id of a new cluster restored from a snapshot file: every member restored from the same file with the same
 * `--peers` derives the same id, and it differs from the id of the cluster the snapshot came from.
 */
export function restoredClusterId(
  snapshotChecksum: string,
  peers: Readonly<Record<NodeId, string>>,
  token = '',
): string {
  return deriveClusterId(peers, token, `restored-from:${snapshotChecksum}`);
}

/** A fresh random cluster id, for a single node that founds a cluster with no --peers to derive one from. */
export function randomClusterId(): string {
  return randomBytes(CLUSTER_ID_HEX_DIGITS / 2).toString('hex');
}
