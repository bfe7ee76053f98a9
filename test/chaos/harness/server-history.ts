// The servers' side of a scenario's history, from the committed log itself: a node's data directory is copied out
// of its stopped container, opened with the project's own Raft storage, and its committed entries are replayed
// through a fresh LockStateMachine (a batch entry as its parts in order), whose events become the checker's server
// events in log order.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeLockEntries } from '../../../src/lock/codec.js';
import type { LockCommand } from '../../../src/lock/commands.js';
import { LockStateMachine } from '../../../src/lock/state-machine.js';
import { joiningConf } from '../../../src/raft/bootstrap.js';
import { LevelRaftStorage } from '../../../src/raft/storage.js';
import type { Entry } from '../../../src/raft/types.js';
import { SERVER_DEFAULTS } from '../../../src/server/config.js';
import type { ServerEvent } from '../../../src/sim/lock-history-checker.js';
import type { ClusterNode } from './cluster.js';
import { docker } from './docker.js';

/** A node's committed log as it was on disk. */
export interface CommittedLog {
  readonly nodeId: string;
  readonly commitIndex: number;
  /** Committed entries after the snapshot (all of them when the node never compacted). */
  readonly entries: readonly Entry[];
  /** Index of the snapshot the log starts after (0: none, the log is complete). */
  readonly snapshotIndex: number;
}

/** Copies `/data` out of the (stopped) node's container and reads its committed log. */
export async function readCommittedLog(node: ClusterNode): Promise<CommittedLog> {
  const directory = mkdtempSync(join(tmpdir(), `forelock-${node.id}-`));
  try {
    await docker(['cp', `${node.container.id}:/data`, directory]);
    const storage = await LevelRaftStorage.open(join(directory, 'data'));
    try {
      const restored = await storage.load(joiningConf());
      const commitIndex = restored.hardState.commit;
      return {
        nodeId: node.id,
        commitIndex,
        entries: restored.entries.filter((entry) => entry.index <= commitIndex),
        snapshotIndex: restored.snapshot?.meta.index ?? 0,
      };
    } finally {
      await storage.close();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The log of whichever node committed the most (all committed logs agree on their common prefix). */
export async function longestCommittedLog(nodes: readonly ClusterNode[]): Promise<CommittedLog> {
  const logs = await Promise.all(nodes.map(readCommittedLog));
  return logs.reduce((best, log) => (log.commitIndex > best.commitIndex ? log : best));
}

/**
 * Replays a complete committed log through the lock state machine (with the server's default limits, as the
 * deployment configs leave them) and returns the checker's server events in log order.
 */
export function serverEventsOf(log: CommittedLog): ServerEvent[] {
  if (log.snapshotIndex > 0) {
    throw new Error(
      `${log.nodeId} compacted its log up to ${log.snapshotIndex}: the history checker needs every entry (shorten the scenario's load)`,
    );
  }
  const machine = new LockStateMachine({
    maxWaitersPerLock: SERVER_DEFAULTS.maxWaitersPerLock,
    maxSessionsPerClient: SERVER_DEFAULTS.maxSessionsPerClient,
    lockDelayMs: SERVER_DEFAULTS.lockDelayMs,
  });
  const events: ServerEvent[] = [];
  const queued = new Set<string>();
  let command: LockCommand | undefined;
  machine.onEvent((event) => {
    switch (event.type) {
      case 'granted':
        queued.delete(`${event.name}\u0000${event.sessionId}`);
        events.push({
          kind: 'grant',
          session: event.sessionId,
          lock: event.name,
          mode: event.mode,
          token: event.token,
          fenced: event.fenced,
          atMs: event.atMs,
        });
        return;
      case 'released':
        events.push({
          kind: command?.type === 'sessions-expire' ? 'expire' : 'release',
          session: event.sessionId,
          lock: event.name,
          token: event.token,
          atMs: event.atMs,
        });
        return;
      case 'revoked':
        events.push({
          kind: 'revoke',
          session: event.sessionId,
          lock: event.name,
          token: event.token,
          forced: event.cause === 'operator-force',
          atMs: event.atMs,
        });
        return;
      case 'cancelled':
        queued.delete(`${event.name}\u0000${event.sessionId}`);
        events.push({ kind: 'dequeue', session: event.sessionId, lock: event.name, atMs: event.atMs });
        return;
      default:
        return;
    }
  });
  for (const entry of log.entries) {
    if (entry.type !== 'normal' || entry.data.length === 0) continue;
    // A batch entry is applied as its parts in order, each as an entry of its own (as the state machine does).
    for (const part of decodeLockEntries(entry.data)) {
      command = part.command;
      const result = machine.applyEntry(part);
      if (command.type === 'acquire' && result.status === 'queued') {
        // A retried acquire answers "queued" again; the waiter joined the queue only once.
        const key = `${command.name}\u0000${command.sessionId}`;
        if (!queued.has(key)) {
          queued.add(key);
          events.push({
            kind: 'enqueue',
            session: command.sessionId,
            lock: command.name,
            mode: command.mode,
            atMs: part.atMs,
          });
        }
      }
    }
  }
  return events;
}
