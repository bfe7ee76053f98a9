// Every node's lock replica in the lock simulation: a LockStateMachine applying the Raft log, the log's effects
// recorded once in the history, proposers answered, and replicas that disagree reported as divergences.
import { decodeLockEntry, encodeLockEntry } from '../../lock/codec.js';
import type { LockCommand, LockEntry, LockEvent, LockResult } from '../../lock/commands.js';
import { LockStateMachine } from '../../lock/state-machine.js';
import type { Entry, NodeId } from '../../raft/types.js';
import { SessionTracker } from '../../session/tracker.js';
import type { LockSimClients, PendingOp, SimLockClient } from './clients.js';
import type { LockSimContext } from './context.js';

/** Twice the longest election timeout of the simulated cores (default config: 2 x 10 ticks of 100 ms). */
const DEPOSED_LEADER_OVERHANG_MS = 4_000;

/** One node's lock service: its replica, and the leader-local state it keeps while it leads. */
export interface NodeService {
  readonly machine: LockStateMachine;
  readonly events: LockEvent[];
  readonly tracker: SessionTracker;
  /** The term the tracker was set up for; -1 while not leading. */
  trackerTerm: number;
  /** Index and term of the last entry this replica applied. */
  appliedIndex: number;
  appliedTerm: number;
  /** Client send time of the last keepalive this node received, per session. */
  readonly lastKeepaliveSentAtMs: Map<string, number>;
  /** When this node last proposed something for a session or lock (rate limit of its duties). */
  readonly lastDutyMs: Map<string, number>;
}

/** A proposal a client is waiting on, by the node and index it was proposed at. */
interface Attempt {
  readonly client: SimLockClient;
  readonly op: PendingOp;
  readonly session: string | null;
  readonly term: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The Raft simulator's own state machine reads every entry as "clientId:seq" and applies each client's sequence
 * once. Each lock proposal poses as a fresh client with sequence 1, so Raft-level dedup never interferes and the
 * lock state machine's own (session, requestSeq) dedup is what gets tested.
 */
function wrapEntry(proposalId: number, entry: LockEntry): Uint8Array {
  return encoder.encode(`lock${proposalId}|${Buffer.from(encodeLockEntry(entry)).toString('base64')}:1`);
}

function unwrapEntry(data: Uint8Array): Uint8Array {
  const text = decoder.decode(data);
  return Buffer.from(text.slice(text.indexOf('|') + 1, text.lastIndexOf(':')), 'base64');
}

/** The replicas of one run, and the answers they send to clients. */
export class LockReplicas {
  /** Replicas that applied one index with different results or events, or ended with different states. */
  readonly divergences: string[] = [];
  /** Index of the highest entry applied anywhere. */
  firstAppliedIndex = 0;
  private readonly services = new Map<NodeId, NodeService>();
  private readonly signatures = new Map<number, string>();
  /** The lock state after each index, as first applied: what a snapshot at that index holds. */
  private readonly imagesByIndex = new Map<number, Uint8Array>();
  private readonly attempts = new Map<string, Attempt>();
  private proposalId = 0;

  constructor(
    private readonly ctx: LockSimContext,
    private readonly clients: () => LockSimClients,
    /** A leader keeps its leader-local state in step with what it applies. */
    private readonly onLeaderApplied: (
      service: NodeService,
      command: LockCommand,
      events: readonly LockEvent[],
    ) => void,
  ) {
    for (const id of ctx.cluster.ids) this.serviceOf(id);
    ctx.cluster.onApply((node, entry) => {
      const service = this.serviceOf(node);
      this.followSnapshot(node, service, entry.index - 1);
      if (entry.type === 'normal') this.applyLockEntry(node, service, entry);
      service.appliedIndex = entry.index;
      service.appliedTerm = entry.term;
      if (!this.imagesByIndex.has(entry.index)) this.imagesByIndex.set(entry.index, service.machine.snapshot());
    });
  }

  /** The lock service of `id` (a fresh one after a restart). */
  serviceOf(id: NodeId): NodeService {
    let service = this.services.get(id);
    if (!service) {
      const created: NodeService = {
        machine: this.newMachine(),
        events: [],
        tracker: new SessionTracker({ deposedLeaderOverhangMs: DEPOSED_LEADER_OVERHANG_MS }),
        trackerTerm: -1,
        appliedIndex: 0,
        appliedTerm: 0,
        lastKeepaliveSentAtMs: new Map(),
        lastDutyMs: new Map(),
      };
      created.machine.onEvent((event) => created.events.push(event));
      this.services.set(id, created);
      service = created;
    }
    return service;
  }

  /** Restarts `id`: its lock service starts empty and replays what its disk kept. */
  restart(id: NodeId): void {
    this.services.delete(id);
    this.serviceOf(id);
    this.ctx.cluster.restart(id);
  }

  /** Proposes on `node`; returns the index and term, or null when it is not the leader. */
  propose(node: NodeId, command: LockCommand): { index: number; term: number } | null {
    const { cluster } = this.ctx;
    if (!cluster.isUp(node)) return null;
    const data = wrapEntry(++this.proposalId, { atMs: cluster.now, command });
    return cluster.act(node, (core) => core.propose(data));
  }

  /** A client's request reaches `node`: proposed there, answered once that node applies it. */
  request(node: NodeId, client: SimLockClient, op: PendingOp, session: string | null): boolean {
    const position = this.propose(node, op.command);
    if (position === null) return false;
    this.attempts.set(`${node}@${position.index}`, { client, op, session, term: position.term });
    return true;
  }

  /** After the run: every replica ends in the same state, and that state survives a snapshot round trip. */
  checkConvergence(): void {
    const { cluster } = this.ctx;
    for (const id of cluster.ids) this.followSnapshot(id, this.serviceOf(id), cluster.node(id).sm.appliedIndex);
    const images = cluster.ids.map((id) => Buffer.from(this.serviceOf(id).machine.snapshot()));
    for (const [i, image] of images.entries()) {
      if (!image.equals(images[0]!))
        this.divergences.push(
          `${cluster.ids[i]} (${cluster.isUp(cluster.ids[i]!) ? 'up' : 'down'}, applied ${cluster.node(cluster.ids[i]!).sm.appliedIndex}) ended in a different state than ${cluster.ids[0]} (applied ${cluster.node(cluster.ids[0]!).sm.appliedIndex})`,
        );
    }
    const restored = this.newMachine();
    restored.restore(images[0]!);
    if (!Buffer.from(restored.snapshot()).equals(images[0]!))
      this.divergences.push('the final state did not survive a snapshot');
  }

  private newMachine(): LockStateMachine {
    return new LockStateMachine({ lockDelayMs: this.ctx.lockDelayMs, maxWaitersPerLock: 4 });
  }

  /**
   * The simulator's nodes snapshot and restore its own state machine; a node that skipped ahead (it installed the
   * leader's snapshot, or restarted from its own) gets the lock state of that index restored the same way.
   */
  private followSnapshot(node: NodeId, service: NodeService, snapshotIndex: number): void {
    if (snapshotIndex <= service.appliedIndex) return;
    const image = this.imagesByIndex.get(snapshotIndex);
    if (!image) {
      this.divergences.push(`${node} skipped to index ${snapshotIndex}, which no replica applied`);
      return;
    }
    service.machine.restore(image);
    service.appliedIndex = snapshotIndex;
    this.ctx.count('snapshotRestores');
  }

  private applyLockEntry(node: NodeId, service: NodeService, entry: Entry): void {
    const { ctx } = this;
    const data = unwrapEntry(entry.data);
    const lockEntry = decodeLockEntry(data);
    const command = lockEntry.command;
    const wasWaiting =
      command.type === 'acquire' &&
      (service.machine.session(command.sessionId)?.waiting.includes(command.name) ?? false);
    service.events.length = 0;
    const result = service.machine.apply({ ...entry, data });
    const events = [...service.events];
    const signature = JSON.stringify({ result, events }, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
    const known = this.signatures.get(entry.index);
    if (known === undefined) this.signatures.set(entry.index, signature);
    else if (known !== signature)
      this.divergences.push(`${node} applied index ${entry.index} as ${signature}, not ${known}`);
    if (entry.index > this.firstAppliedIndex) {
      this.firstAppliedIndex = entry.index;
      this.recordServerEvents(lockEntry, result, events, wasWaiting);
    }
    if (ctx.leading(node) && service.trackerTerm === ctx.cluster.core(node).term) {
      this.onLeaderApplied(service, command, events);
    }
    this.answer(node, entry, result);
    const clients = this.clients();
    for (const event of events) {
      if (event.type === 'revoked') {
        // The server pushes the revocation to the session's stream, if the client is connected to this node.
        const client = clients.ofSession(event.sessionId);
        if (client?.node === node)
          ctx.cluster.schedule(ctx.delay(), () => clients.onRevoked(client, event.sessionId, event.name, event.token));
      }
      if (event.type !== 'granted') continue;
      const client = clients.ofSession(event.sessionId);
      const op = client?.op;
      if (
        client &&
        op?.command.type === 'acquire' &&
        op.command.requestSeq === event.requestSeq &&
        client.node === node
      ) {
        const granted: LockResult = { status: 'granted', token: event.token, grantedAtMs: event.atMs };
        ctx.cluster.schedule(ctx.delay(), () => clients.onAnswer(client, op, event.sessionId, granted));
      }
    }
  }

  private recordServerEvents(
    entry: LockEntry,
    result: LockResult,
    events: readonly LockEvent[],
    wasWaiting: boolean,
  ): void {
    const { ctx } = this;
    const { history } = ctx;
    const { command, atMs } = entry;
    if (command.type === 'acquire' && result.status === 'queued' && !wasWaiting) {
      history.push({ kind: 'enqueue', session: command.sessionId, lock: command.name, mode: command.mode, atMs });
    }
    if (command.type === 'acquire' && result.status === 'error' && result.code === 'DEADLOCK') ctx.count('deadlocks');
    if (command.type === 'acquire' && result.status === 'error' && result.code === 'NOT_HELD')
      ctx.count('fencedAcquires');
    for (const event of events) {
      switch (event.type) {
        case 'granted':
          ctx.count('grants');
          history.push({
            kind: 'grant',
            session: event.sessionId,
            lock: event.name,
            mode: event.mode,
            token: event.token,
            fenced: event.fenced,
            atMs,
          });
          break;
        case 'released':
          ctx.count(command.type === 'sessions-expire' ? 'expiredHolds' : 'releases');
          history.push({
            kind: command.type === 'sessions-expire' ? 'expire' : 'release',
            session: event.sessionId,
            lock: event.name,
            token: event.token,
            atMs,
          });
          break;
        case 'revoked':
          ctx.count(event.cause === 'operator-force' ? 'forcedRevokes' : 'revokes');
          history.push({
            kind: 'revoke',
            session: event.sessionId,
            lock: event.name,
            token: event.token,
            forced: event.cause === 'operator-force',
            atMs,
          });
          break;
        case 'cancelled':
          history.push({ kind: 'dequeue', session: event.sessionId, lock: event.name, atMs });
          break;
        case 'session-ended':
          if (event.expired) ctx.count('expiredSessions');
          break;
        case 'session-opened':
          ctx.count('sessions');
          break;
      }
    }
  }

  private answer(node: NodeId, entry: Entry, result: LockResult): void {
    const key = `${node}@${entry.index}`;
    const attempt = this.attempts.get(key);
    if (!attempt) return;
    this.attempts.delete(key);
    if (attempt.term !== entry.term) return; // overwritten by another leader's entry: the client retries
    const clients = this.clients();
    this.ctx.cluster.schedule(this.ctx.delay(), () =>
      clients.onAnswer(attempt.client, attempt.op, attempt.session, result),
    );
  }
}
