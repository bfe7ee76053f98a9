// The lock service in the Raft simulator: LockStateMachine replicas and leader-local SessionTrackers on SimCluster
// nodes, clients with sessions, keepalives, retries after ambiguous failures and pauses, under crashes, partitions
// and lost unsynced writes; the resulting history is handed to the lock-history checker.
import { decodeLockEntry, encodeLockEntry } from '../lock/codec.js';
import type { LockCommand, LockEntry, LockEvent, LockMode, LockResult } from '../lock/commands.js';
import { hashSecret } from '../lock/secret.js';
import { LockStateMachine } from '../lock/state-machine.js';
import type { Entry, NodeId } from '../raft/types.js';
import { type GrantedDuration, keepaliveIntervalMs, safeUntilMs } from '../session/safe-period.js';
import { SessionTracker } from '../session/tracker.js';
import { SeededRng } from '../util/rng.js';
import { checkLockHistory, type HistoryEvent, type Violation } from './lock-history-checker.js';
import { SimCluster } from './raft-cluster.js';

/** How one simulated history runs. */
export interface LockSimOptions {
  /** Virtual time with faults and new requests, ms. */
  readonly faultyMs: number;
  /** Virtual time after every fault is healed, for pending requests to finish and replicas to converge, ms. */
  readonly healMs: number;
  readonly clients: number;
  readonly lockNames: readonly string[];
  readonly ttlMs: number;
}

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

/** One node's lock service: its replica, and the leader-local state it keeps while it leads. */
interface NodeService {
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

interface HeldLock {
  readonly token: bigint;
  readonly fenced: boolean;
  holdUntilMs: number;
}

interface PendingOp {
  readonly opId: string;
  readonly command: LockCommand;
  readonly firstSentAtMs: number;
  lastTryMs: number;
  /** Acquire answered 'queued': wait for the grant, polling with the same requestSeq. */
  queued: boolean;
  /** Acquire: when the client stops waiting and cancels (as an aborted `signal` does). */
  giveUpAtMs?: number;
  /** Cancel: the acquire it withdraws. */
  cancelling?: PendingOp;
}

interface SimLockClient {
  readonly name: string;
  generation: number;
  session: string | null;
  node: NodeId | null;
  nextSeq: number;
  op: PendingOp | null;
  readonly held: Map<string, HeldLock>;
  /**
   * Revocation graces received, by "lock@token". Kept even for a grant not yet known here: the pre-emption
   * request may overtake the answer to the acquire.
   */
  readonly graces: Map<string, GrantedDuration>;
  /** The last answered keepalive (or the open): send time and guarantee. */
  lastAnswered: GrantedDuration | null;
  lastKeepaliveSentAtMs: number;
  pausedUntilMs: number;
  thinkUntilMs: number;
}

interface Attempt {
  readonly client: SimLockClient;
  readonly op: PendingOp;
  readonly session: string | null;
  readonly term: number;
}

const POLL_MS = 25;
const DUTY_MS = 50;
const RETRY_MS = 800;
const QUEUED_POLL_MS = 2_000;
const DUTY_REPEAT_MS = 1_000;
/** Twice the longest election timeout of the simulated cores (default config: 2 x 10 ticks of 100 ms). */
const DEPOSED_LEADER_OVERHANG_MS = 4_000;

/**
 * Runs one seeded history of the lock service on a 3- or 5-node simulated Raft cluster and checks it. Deterministic:
 * the same seed gives the same history.
 */
export function runLockSimulation(seed: number, options: LockSimOptions = DEFAULT_LOCK_SIM): LockSimResult {
  const rng = new SeededRng(seed ^ 0x10c6);
  const voters = seed % 2 === 0 ? 3 : 5;
  const compactEvery = rng.pick([undefined, 25, 60]);
  const cluster = new SimCluster({ seed, voters, compactEvery, config: { preVote: true, checkQuorum: true } });
  const lockDelayMs = rng.pick([0, 0, 500]);
  const newService = (): NodeService => ({
    machine: new LockStateMachine({ lockDelayMs, maxWaitersPerLock: 4 }),
    events: [],
    tracker: new SessionTracker({ deposedLeaderOverhangMs: DEPOSED_LEADER_OVERHANG_MS }),
    trackerTerm: -1,
    appliedIndex: 0,
    appliedTerm: 0,
    lastKeepaliveSentAtMs: new Map(),
    lastDutyMs: new Map(),
  });
  const services = new Map<NodeId, NodeService>();
  const serviceOf = (id: NodeId): NodeService => {
    let service = services.get(id);
    if (!service) {
      service = newService();
      service.machine.onEvent((event) => service!.events.push(event));
      services.set(id, service);
    }
    return service;
  };
  for (const id of cluster.ids) serviceOf(id);

  const history: HistoryEvent[] = [];
  const divergences: string[] = [];
  const stats: Record<string, number> = {};
  const count = (key: string, by = 1) => {
    stats[key] = (stats[key] ?? 0) + by;
  };
  const signatures = new Map<number, string>();
  /** When each term's leader took office, to measure how long deposed leaders keep answering keepalives. */
  const electedAtMs = new Map<number, number>();
  let firstAppliedIndex = 0;
  let proposalId = 0;
  let opId = 0;
  let accepting = true;
  let stopped = false;
  const attempts = new Map<string, Attempt>();
  const clients: SimLockClient[] = Array.from({ length: options.clients }, (_, i) => ({
    name: `client${i + 1}`,
    generation: 0,
    session: null,
    node: null,
    nextSeq: 1,
    op: null,
    held: new Map(),
    graces: new Map(),
    lastAnswered: null,
    lastKeepaliveSentAtMs: 0,
    pausedUntilMs: 0,
    thinkUntilMs: 0,
  }));
  const clientOfSession = (sessionId: string) => clients.find((c) => c.session === sessionId);
  const leading = (id: NodeId) => cluster.isUp(id) && cluster.core(id).role === 'leader';
  const delay = () => rng.uniform(1, 20);

  const promise = (session: string, untilMs: number) =>
    history.push({ kind: 'promise', session, untilMs, atMs: cluster.now });

  /** Proposes on `node`; returns the index and term, or null when it is not the leader. */
  const propose = (node: NodeId, command: LockCommand) => {
    if (!cluster.isUp(node)) return null;
    const data = wrapEntry(++proposalId, { atMs: cluster.now, command });
    return cluster.act(node, (core) => core.propose(data));
  };

  // ---- replicas: apply every committed entry, record the log's effects once, answer the proposer ----

  /** The lock state after each index, as first applied: what a snapshot at that index holds. */
  const imagesByIndex = new Map<number, Uint8Array>();

  /**
   * The simulator's nodes snapshot and restore its own state machine; a node that skipped ahead (it installed the
   * leader's snapshot, or restarted from its own) gets the lock state of that index restored the same way.
   */
  const followSnapshot = (node: NodeId, service: NodeService, snapshotIndex: number) => {
    if (snapshotIndex <= service.appliedIndex) return;
    const image = imagesByIndex.get(snapshotIndex);
    if (!image) {
      divergences.push(`${node} skipped to index ${snapshotIndex}, which no replica applied`);
      return;
    }
    service.machine.restore(image);
    service.appliedIndex = snapshotIndex;
    count('snapshotRestores');
  };

  cluster.onApply((node, entry) => {
    const service = serviceOf(node);
    followSnapshot(node, service, entry.index - 1);
    if (entry.type === 'normal') applyLockEntry(node, service, entry);
    service.appliedIndex = entry.index;
    service.appliedTerm = entry.term;
    if (!imagesByIndex.has(entry.index)) imagesByIndex.set(entry.index, service.machine.snapshot());
  });

  function applyLockEntry(node: NodeId, service: NodeService, entry: Entry) {
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
    const known = signatures.get(entry.index);
    if (known === undefined) signatures.set(entry.index, signature);
    else if (known !== signature)
      divergences.push(`${node} applied index ${entry.index} as ${signature}, not ${known}`);
    if (entry.index > firstAppliedIndex) {
      firstAppliedIndex = entry.index;
      recordServerEvents(lockEntry, result, events, wasWaiting);
    }
    if (leading(node) && service.trackerTerm === cluster.core(node).term) trackLog(service, command, events);
    answer(node, entry, result);
    for (const event of events) {
      if (event.type === 'revoked') {
        // The server pushes the revocation to the session's stream, if the client is connected to this node.
        const client = clientOfSession(event.sessionId);
        if (client?.node === node)
          cluster.schedule(delay(), () => onRevoked(client, event.sessionId, event.name, event.token));
      }
      if (event.type !== 'granted') continue;
      const client = clientOfSession(event.sessionId);
      const op = client?.op;
      if (
        client &&
        op?.command.type === 'acquire' &&
        op.command.requestSeq === event.requestSeq &&
        client.node === node
      ) {
        const granted: LockResult = { status: 'granted', token: event.token, grantedAtMs: event.atMs };
        cluster.schedule(delay(), () => onAnswer(client, op, event.sessionId, granted));
      }
    }
  }

  function recordServerEvents(entry: LockEntry, result: LockResult, events: readonly LockEvent[], wasWaiting: boolean) {
    const { command, atMs } = entry;
    if (command.type === 'acquire' && result.status === 'queued' && !wasWaiting) {
      history.push({ kind: 'enqueue', session: command.sessionId, lock: command.name, mode: command.mode, atMs });
    }
    if (command.type === 'acquire' && result.status === 'error' && result.code === 'DEADLOCK') count('deadlocks');
    if (command.type === 'acquire' && result.status === 'error' && result.code === 'NOT_HELD') count('fencedAcquires');
    for (const event of events) {
      switch (event.type) {
        case 'granted':
          count('grants');
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
          count(command.type === 'sessions-expire' ? 'expiredHolds' : 'releases');
          history.push({
            kind: command.type === 'sessions-expire' ? 'expire' : 'release',
            session: event.sessionId,
            lock: event.name,
            token: event.token,
            atMs,
          });
          break;
        case 'revoked':
          count(event.cause === 'operator-force' ? 'forcedRevokes' : 'revokes');
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
          if (event.expired) count('expiredSessions');
          break;
        case 'session-opened':
          count('sessions');
          break;
      }
    }
  }

  /** A leader keeps its tracker in step with the log. */
  function trackLog(service: NodeService, command: LockCommand, events: readonly LockEvent[]) {
    if (command.type === 'revoke' && command.sessionId !== undefined)
      service.tracker.revocationDone(command.name, command.sessionId);
    for (const event of events) {
      if (event.type === 'session-opened') {
        service.tracker.opened(event.sessionId, options.ttlMs, cluster.now);
        promise(event.sessionId, service.tracker.promisedUntil(event.sessionId)!);
      } else if (event.type === 'session-ended') {
        service.tracker.ended(event.sessionId);
      } else if (event.type === 'released' || event.type === 'revoked') {
        service.tracker.revocationDone(event.name, event.sessionId);
      }
    }
  }

  function answer(node: NodeId, entry: Entry, result: LockResult) {
    const key = `${node}@${entry.index}`;
    const attempt = attempts.get(key);
    if (!attempt) return;
    attempts.delete(key);
    if (attempt.term !== entry.term) return; // overwritten by another leader's entry: the client retries
    cluster.schedule(delay(), () => onAnswer(attempt.client, attempt.op, attempt.session, result));
  }

  // ---- leaders' duties: expiries, due revocations, lock-delay ticks, pre-emption requests ----

  function duties() {
    if (stopped) return;
    for (const id of cluster.ids) {
      if (!leading(id)) {
        if (cluster.isUp(id)) serviceOf(id).trackerTerm = -1;
        continue;
      }
      const service = serviceOf(id);
      const term = cluster.core(id).term;
      const now = cluster.now;
      if (service.trackerTerm !== term) {
        // Take office only once an entry of this term is applied: an expiry proposed by a predecessor may still
        // commit ahead of it, and renewing that session first would be a promise the log then breaks.
        if (service.appliedTerm !== term) continue;
        count('leaderships');
        if (!electedAtMs.has(term)) electedAtMs.set(term, now);
        service.trackerTerm = term;
        service.lastKeepaliveSentAtMs.clear();
        service.tracker.becameLeader(now, service.machine.sessions());
      }
      const due = (key: string) => {
        const last = service.lastDutyMs.get(key);
        if (last !== undefined && now - last < DUTY_REPEAT_MS) return false;
        service.lastDutyMs.set(key, now);
        return true;
      };
      const expired = service.tracker.expiredAt(now).filter((s) => due(`expire:${s}`));
      if (expired.length > 0) propose(id, { type: 'sessions-expire', sessionIds: expired });
      for (const r of service.tracker.dueRevocations(now)) {
        if (due(`revoke:${r.lockName}:${r.sessionId}`)) {
          propose(id, {
            type: 'revoke',
            name: r.lockName,
            sessionId: r.sessionId,
            token: r.token,
            cause: 'preemption',
            reason: 'deadline passed',
          });
        }
      }
      const delayEnd = service.machine.nextLockDelayEndMs();
      if (delayEnd !== null && delayEnd <= now && due('tick')) propose(id, { type: 'tick' });
      if (accepting && rng.chance(0.01)) requestPreemption(service);
      if (accepting && rng.chance(0.002)) forceRevoke(id, service);
    }
    cluster.schedule(DUTY_MS, duties);
  }

  /** The RPH's part, reduced to its effect: a pre-emption request with a deadline for a holder others wait for. */
  function requestPreemption(service: NodeService) {
    const contended = service.machine.locks().filter((l) => l.holders.length > 0 && l.waiters.length > 0);
    if (contended.length === 0) return;
    const lock = rng.pick(contended);
    const lockName = lock.name;
    const target = rng.pick(lock.holders);
    if (service.tracker.revocation(lockName, target.sessionId)) return;
    if (!service.lastKeepaliveSentAtMs.has(target.sessionId)) return; // it must name a keepalive it received
    const graceMs = rng.uniform(300, 2_500);
    service.tracker.requestRevocation(lockName, target.token, target.sessionId, cluster.now + graceMs, target.fenced);
    count('preemptionRequests');
    history.push({
      kind: 'revocation-requested',
      session: target.sessionId,
      lock: lockName,
      token: target.token,
      atMs: cluster.now,
    });
    const keepaliveSentAtMs = service.lastKeepaliveSentAtMs.get(target.sessionId)!;
    cluster.schedule(delay(), () =>
      onPreemption(target.sessionId, lockName, target.token, { keepaliveSentAtMs, durationMs: graceMs }),
    );
  }

  function forceRevoke(id: NodeId, service: NodeService) {
    const held = service.machine.locks().filter((l) => l.holders.length > 0);
    if (held.length === 0) return;
    const lock = rng.pick(held);
    propose(id, {
      type: 'revoke',
      name: lock.name,
      token: lock.holders[0]!.token,
      sessionId: lock.holders[0]!.sessionId,
      cause: 'operator-force',
      reason: 'sim',
    });
  }

  // ---- clients ----

  function route(client: SimLockClient): NodeId | null {
    if (client.node === null || !leading(client.node)) client.node = cluster.leader();
    return client.node;
  }

  function send(client: SimLockClient, op: PendingOp) {
    op.lastTryMs = cluster.now;
    const node = route(client);
    if (node === null) return;
    const session = client.session;
    cluster.schedule(delay(), () => {
      if (!cluster.isUp(node)) return;
      const position = propose(node, op.command);
      if (position === null) {
        client.node = null; // not leader: the client asks another node at its next retry
        return;
      }
      attempts.set(`${node}@${position.index}`, { client, op, session, term: position.term });
    });
  }

  function startOp(
    client: SimLockClient,
    command: LockCommand,
    invoke: HistoryEvent | null,
    extra: Pick<PendingOp, 'giveUpAtMs' | 'cancelling'> = {},
  ) {
    const op: PendingOp = {
      opId: `op${++opId}`,
      command,
      firstSentAtMs: cluster.now,
      lastTryMs: cluster.now,
      queued: false,
      ...extra,
    };
    client.op = op;
    if (invoke) history.push({ ...invoke, opId: op.opId } as HistoryEvent);
    send(client, op);
  }

  function clientStep(client: SimLockClient) {
    if (stopped) return;
    const now = cluster.now;
    cluster.schedule(POLL_MS, () => clientStep(client));
    if (now < client.pausedUntilMs) return;
    if (client.session !== null && client.lastAnswered !== null) {
      const intervalMs = keepaliveIntervalMs(client.lastAnswered.durationMs);
      if (now - client.lastKeepaliveSentAtMs >= intervalMs) sendKeepalive(client);
    }
    const op = client.op;
    if (op?.command.type === 'acquire' && op.giveUpAtMs !== undefined && now >= op.giveUpAtMs) {
      count('cancels');
      const cancel: LockCommand = {
        type: 'cancel',
        sessionId: op.command.sessionId,
        requestSeq: client.nextSeq++,
        name: op.command.name,
      };
      startOp(client, cancel, null, { cancelling: op });
      return;
    }
    if (op) {
      const waitedMs = now - op.lastTryMs;
      if (op.queued ? waitedMs >= QUEUED_POLL_MS : waitedMs >= RETRY_MS) {
        if (!op.queued && op.command.type !== 'session-open') {
          count('ambiguous');
          history.push({ kind: 'ambiguous', opId: op.opId, atMs: now });
        }
        send(client, op); // the same requestSeq: applied once
      }
      return;
    }
    if (client.session === null) {
      if (!accepting) return;
      client.generation += 1;
      const sessionId = `${client.name}.${client.generation}`;
      startOp(
        client,
        {
          type: 'session-open',
          sessionId,
          secretHash: hashSecret(sessionId),
          ttlMs: options.ttlMs,
          clientName: client.name,
        },
        null,
      );
      return;
    }
    if (now < client.thinkUntilMs) return;
    const releasable = [...client.held].find(([, held]) => held.holdUntilMs <= now);
    if (releasable) {
      const [name, held] = releasable;
      client.held.delete(name); // a lock being released is no longer used
      const command: LockCommand = {
        type: 'release',
        sessionId: client.session,
        requestSeq: client.nextSeq++,
        name,
        token: held.token,
      };
      startOp(client, command, {
        kind: 'invoke',
        opId: '',
        session: client.session,
        op: 'release',
        lock: name,
        token: held.token,
        atMs: now,
      });
      return;
    }
    if (!accepting || client.held.size >= 2) return;
    const name = rng.pick(options.lockNames.filter((n) => !client.held.has(n)));
    const mode: LockMode = rng.chance(0.3) ? 'shared' : 'exclusive';
    const command: LockCommand = {
      type: 'acquire',
      sessionId: client.session,
      requestSeq: client.nextSeq++,
      name,
      mode,
      fenced: rng.chance(0.3),
      preemptible: true,
      tryOnly: rng.chance(0.1),
    };
    const giveUpAtMs = rng.chance(0.3) ? now + rng.uniform(300, 3_000) : undefined;
    startOp(
      client,
      command,
      {
        kind: 'invoke',
        opId: '',
        session: client.session,
        op: 'acquire',
        lock: name,
        mode,
        atMs: now,
      },
      { giveUpAtMs },
    );
  }

  function onAnswer(client: SimLockClient, op: PendingOp, session: string | null, result: LockResult) {
    if (stopped || client.op !== op || cluster.now < client.pausedUntilMs) return; // answered, or the process is paused
    const now = cluster.now;
    const command = op.command;
    if (command.type === 'session-open') {
      if (result.status !== 'ok') return; // retried at the next poll
      client.session = command.sessionId;
      // The open's promise counts from the FIRST attempt: a retried open of a session an earlier attempt already
      // opened is answered 'ok' without a new promise (counting from the retry overran it).
      client.lastAnswered = { keepaliveSentAtMs: op.firstSentAtMs, durationMs: command.ttlMs };
      client.lastKeepaliveSentAtMs = op.firstSentAtMs;
      client.nextSeq = 1;
      client.op = null;
      return;
    }
    if (session !== client.session) return;
    if (result.status === 'queued') {
      op.queued = true;
      return;
    }
    if (command.type === 'cancel' && op.cancelling) {
      const acquire = op.cancelling;
      if (result.status === 'ok') {
        // Withdrawn, or fenced if it had not reached the log: it will never be granted.
        history.push({ kind: 'fail', opId: acquire.opId, code: 'CANCELLED', atMs: now });
      } else if (result.status === 'error' && result.code === 'ALREADY_HELD') {
        // The grant won the race: learn its token by asking again with the acquire's own requestSeq.
        acquire.giveUpAtMs = undefined;
        client.op = acquire;
        send(client, acquire);
        return;
      }
    }
    client.op = null;
    client.thinkUntilMs = now + rng.uniform(0, 300);
    if (result.status === 'error') {
      count(`fail:${result.code}`);
      history.push({ kind: 'fail', opId: op.opId, code: result.code, atMs: now });
      if (result.code === 'SESSION_NOT_FOUND') loseSession(client);
      return;
    }
    if (command.type === 'acquire' && result.status === 'granted') {
      history.push({ kind: 'ok', opId: op.opId, token: result.token, atMs: now });
      client.held.set(command.name, {
        token: result.token,
        fenced: command.fenced,
        holdUntilMs: now + rng.uniform(50, 1_500),
      });
      reportSafePeriods(client);
    } else if (command.type === 'release') {
      history.push({ kind: 'ok', opId: op.opId, atMs: now });
    }
  }

  function loseSession(client: SimLockClient) {
    client.session = null;
    client.held.clear();
    client.graces.clear();
    client.lastAnswered = null;
    client.op = null;
  }

  /** The SDK's view: each held lock is safe until the formula of docs/design.md, principle 2 says so. */
  function reportSafePeriods(client: SimLockClient) {
    if (client.session === null || client.lastAnswered === null) return;
    for (const [name, held] of client.held) {
      history.push({
        kind: 'client-safe',
        session: client.session,
        lock: name,
        token: held.token,
        safeUntilMs: safeUntilMs(client.lastAnswered, client.graces.get(`${name}@${held.token}`)),
        atMs: cluster.now,
      });
    }
  }

  function sendKeepalive(client: SimLockClient) {
    const sentAtMs = cluster.now;
    client.lastKeepaliveSentAtMs = sentAtMs;
    const node = route(client);
    const session = client.session!;
    if (node === null) return;
    cluster.schedule(delay(), () => {
      if (stopped) return;
      if (!leading(node)) {
        client.node = null;
        return;
      }
      const service = serviceOf(node);
      if (service.trackerTerm !== cluster.core(node).term) return; // not set up yet: no answer
      const known = service.tracker.promisedUntil(session) !== undefined;
      const guaranteeMs = options.ttlMs;
      const until = service.tracker.keepaliveAnswered(session, cluster.now, guaranteeMs);
      if (until === null) {
        if (known) cluster.schedule(delay(), () => onSessionExpired(client, session));
        return;
      }
      service.lastKeepaliveSentAtMs.set(session, sentAtMs);
      const nodeTerm = cluster.core(node).term;
      for (const [term, atMs] of electedAtMs) {
        if (term > nodeTerm) stats.maxDeposedAnswerMs = Math.max(stats.maxDeposedAnswerMs ?? 0, cluster.now - atMs);
      }
      promise(session, until);
      // Every answer repeats the pending revocation deadlines, so a lost pre-emption request is not a silent one.
      const graces = (service.machine.session(session)?.held ?? []).flatMap((name) => {
        const r = service.tracker.revocation(name, session);
        return r ? [{ name, token: r.token, durationMs: r.deadlineMs - cluster.now }] : [];
      });
      cluster.schedule(delay(), () => {
        if (client.session !== session || cluster.now < client.pausedUntilMs) return;
        if (client.lastAnswered === null || sentAtMs > client.lastAnswered.keepaliveSentAtMs) {
          client.lastAnswered = { keepaliveSentAtMs: sentAtMs, durationMs: guaranteeMs };
        }
        for (const g of graces)
          applyGrace(client, g.name, g.token, { keepaliveSentAtMs: sentAtMs, durationMs: g.durationMs });
        reportSafePeriods(client);
      });
    });
  }

  function applyGrace(client: SimLockClient, name: string, token: bigint, grace: GrantedDuration) {
    const key = `${name}@${token}`;
    const known = client.graces.get(key);
    const capMs = (g: GrantedDuration) => safeUntilMs(g, undefined);
    if (known === undefined || capMs(grace) < capMs(known)) client.graces.set(key, grace);
  }

  function onPreemption(session: string, name: string, token: bigint, grace: GrantedDuration) {
    const client = clientOfSession(session);
    if (!client || cluster.now < client.pausedUntilMs) return;
    applyGrace(client, name, token, grace);
    const held = client.held.get(name);
    if (held && held.token === token && rng.chance(0.5)) held.holdUntilMs = cluster.now; // cooperative release
  }

  function onRevoked(client: SimLockClient, session: string, name: string, token: bigint) {
    if (client.session !== session || cluster.now < client.pausedUntilMs) return;
    if (client.held.get(name)?.token === token) client.held.delete(name);
  }

  function onSessionExpired(client: SimLockClient, session: string) {
    if (client.session !== session || cluster.now < client.pausedUntilMs) return;
    count('clientSawExpiry');
    loseSession(client);
  }

  // ---- faults ----

  const upIds = () => cluster.ids.filter((id) => cluster.isUp(id));
  const downIds = () => cluster.ids.filter((id) => !cluster.isUp(id));
  const restart = (id: NodeId) => {
    services.delete(id);
    serviceOf(id);
    cluster.restart(id);
  };
  const faults: [number, () => void][] = [
    [
      3,
      () => {
        const up = upIds();
        if (up.length <= Math.floor(voters / 2)) return;
        const victim = rng.chance(0.5) && cluster.leader() !== null ? cluster.leader()! : rng.pick(up);
        count('crashes');
        if (rng.chance(0.3)) cluster.node(victim).crashAfterNextPersist = true;
        else cluster.crash(victim);
      },
    ],
    [
      4,
      () => {
        const down = downIds();
        if (down.length > 0) restart(rng.pick(down));
      },
    ],
    [
      3,
      () => {
        count('partitions');
        const leader = cluster.leader();
        if (leader !== null && rng.chance(0.6)) cluster.network.isolate(leader, cluster.ids);
        else {
          const shuffled = shuffle(cluster.ids, rng);
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
    [
      3,
      () => {
        const client = rng.pick(clients);
        count('pauses');
        client.pausedUntilMs = cluster.now + rng.uniform(options.ttlMs * 0.3, options.ttlMs * 2);
      },
    ],
  ];
  const totalWeight = faults.reduce((sum, [weight]) => sum + weight, 0);
  const injectFault = () => {
    if (!accepting) return;
    let roll = rng.uniform(0, totalWeight);
    for (const [weight, action] of faults) {
      roll -= weight;
      if (roll < 0) {
        action();
        break;
      }
    }
    cluster.schedule(rng.uniform(300, 2_500), injectFault);
  };

  // ---- the run ----

  for (const client of clients) cluster.schedule(rng.uniform(0, POLL_MS), () => clientStep(client));
  cluster.schedule(DUTY_MS, duties);
  cluster.schedule(rng.uniform(1_000, 3_000), injectFault);
  cluster.runFor(options.faultyMs);
  accepting = false;
  cluster.network.heal();
  cluster.network.faults = {
    dropRate: 0,
    duplicateRate: 0,
    minDelayMs: 1,
    maxDelayMs: 5,
    longDelayRate: 0,
    longDelayMs: 0,
  };
  for (const id of cluster.ids) cluster.node(id).crashAfterNextPersist = false;
  for (const id of downIds()) restart(id);
  for (const client of clients) client.pausedUntilMs = 0;
  cluster.runFor(options.healMs);
  // Quiesce: no more requests, keepalives or duties; let what is in flight commit everywhere.
  stopped = true;
  cluster.runFor(3_000);

  // Every replica ends in the same state, and that state survives a snapshot round trip.
  for (const id of cluster.ids) followSnapshot(id, serviceOf(id), cluster.node(id).sm.appliedIndex);
  const images = cluster.ids.map((id) => Buffer.from(serviceOf(id).machine.snapshot()));
  for (const [i, image] of images.entries()) {
    if (!image.equals(images[0]!))
      divergences.push(
        `${cluster.ids[i]} (${cluster.isUp(cluster.ids[i]!) ? 'up' : 'down'}, applied ${cluster.node(cluster.ids[i]!).sm.appliedIndex}) ended in a different state than ${cluster.ids[0]} (applied ${cluster.node(cluster.ids[0]!).sm.appliedIndex})`,
      );
  }
  const restored = new LockStateMachine({ lockDelayMs, maxWaitersPerLock: 4 });
  restored.restore(images[0]!);
  if (!Buffer.from(restored.snapshot()).equals(images[0]!))
    divergences.push('the final state did not survive a snapshot');
  count('committedEntries', firstAppliedIndex);
  count('historyEvents', history.length);
  return { seed, voters, history, violations: checkLockHistory(history), divergences, stats };
}

function shuffle<T>(items: readonly T[], rng: SeededRng): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
