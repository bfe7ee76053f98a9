// The lock simulation's clients: sessions with keepalives, acquires (some given up and cancelled), releases, retries
// of unanswered requests with the same requestSeq, pauses; and the safe periods the SDK would report to them. They
// find the leader as the SDK does, with its LeaderFollower over the nodes' addresses: a refused or unreachable node
// sends them to the next endpoint (at once to a named leader, else after the SDK's backoff), never to a leader the
// simulation knows and the client could not.

import { Backoff } from '../../client/backoff.js';
import { EndpointPool } from '../../client/endpoints.js';
import { NotLeaderError, UnavailableError } from '../../client/errors.js';
import { LeaderFollower } from '../../client/leader-follower.js';
import { SafePeriodTracker } from '../../client/safe-period.js';
import type { LockCommand, LockMode, LockResult } from '../../lock/commands.js';
import type { NodeId } from '../../raft/types.js';
import { keepaliveIntervalMs } from '../../session/safe-period.js';
import type { HistoryEvent } from '../lock-history-checker.js';
import { simNodeAddress } from '../raft-cluster.js';
import type { LockSimContext } from './context.js';

/** A lock a client holds, and until when it means to. */
interface HeldLock {
  readonly token: bigint;
  readonly fenced: boolean;
  holdUntilMs: number;
}

/** A request to open a session: the server names it (LockService.openSession), so a retry may open another. */
export interface SessionOpenRequest {
  readonly type: 'open';
  readonly clientName: string;
  readonly ttlMs: number;
}

/** A request a client waits on; resent (a lock command with the same requestSeq) until answered. */
export interface PendingOp {
  readonly opId: string;
  readonly command: LockCommand | SessionOpenRequest;
  readonly firstSentAtMs: number;
  lastTryMs: number;
  /** When it is sent again unanswered: RETRY_MS after a send, or when the leader follower says after a refusal. */
  retryAtMs: number;
  /** Acquire answered 'queued': wait for the grant, polling with the same requestSeq. */
  queued: boolean;
  /** Acquire: when the client stops waiting and cancels (as an aborted `signal` does). */
  giveUpAtMs?: number;
  /** Cancel: the acquire it withdraws. */
  cancelling?: PendingOp;
}

/** One simulated client process. */
export interface SimLockClient {
  readonly name: string;
  /** The SDK's leader follower: which node to try next, and how long to wait first, after a refusal. */
  readonly follower: LeaderFollower;
  session: string | null;
  node: NodeId | null;
  nextSeq: number;
  op: PendingOp | null;
  readonly held: Map<string, HeldLock>;
  /** The SDK's own safe-period bookkeeping for the current session (null without one). */
  safePeriod: SafePeriodTracker | null;
  /** The guarantee of the last answer, which sets the keepalive interval. */
  guaranteeMs: number;
  /** The last keepalive's sequence number and send time. */
  keepaliveSeq: number;
  lastKeepaliveSentAtMs: number;
  pausedUntilMs: number;
  thinkUntilMs: number;
}

/**
 * Why a node did not take a request or keepalive: it is down (the connection fails), or it does not lead and names
 * the leader it knows, as a session stream's NotLeader frame does (null: none yet).
 */
export type NodeRefusal = { readonly down: true } | { readonly down: false; readonly leaderAddress: string | null };

/** What the clients need from the servers: somewhere to send requests and keepalives. */
export interface ClientTransport {
  /** Proposes `command` on `node` for `client`'s `op`; null when taken, else why not. */
  request(node: NodeId, client: SimLockClient, op: PendingOp, session: string | null): NodeRefusal | null;
  /** Delivers keepalive `seq` of `session` to `node` (it answers through the clients' callbacks); null when taken. */
  keepalive(node: NodeId, client: SimLockClient, session: string, seq: number): NodeRefusal | null;
}

/** How often a client looks at its state, ms. */
const POLL_MS = 25;
/** An unanswered request is resent after this long (an ambiguous failure), ms. */
const RETRY_MS = 800;
/** A queued acquire asks again (same requestSeq) this often, ms. */
const QUEUED_POLL_MS = 2_000;

/** The clients of one run. */
export class LockSimClients {
  readonly all: SimLockClient[];
  private opId = 0;
  /** The node at each address the clients know (the endpoints they are given: every node's). */
  private readonly nodeAt: ReadonlyMap<string, NodeId>;

  constructor(
    private readonly ctx: LockSimContext,
    private readonly transport: () => ClientTransport,
  ) {
    this.nodeAt = new Map(ctx.cluster.ids.map((id) => [simNodeAddress(id), id]));
    const endpoints = [...this.nodeAt.keys()];
    this.all = Array.from({ length: ctx.options.clients }, (_, i) => ({
      name: `client${i + 1}`,
      follower: new LeaderFollower(new EndpointPool(endpoints), new Backoff(ctx.rng.fork())),
      session: null,
      node: null,
      nextSeq: 1,
      op: null,
      held: new Map(),
      safePeriod: null,
      guaranteeMs: 0,
      keepaliveSeq: 0,
      lastKeepaliveSentAtMs: 0,
      pausedUntilMs: 0,
      thinkUntilMs: 0,
    }));
  }

  /** Starts every client polling. */
  start(): void {
    for (const client of this.all) this.ctx.cluster.schedule(this.ctx.rng.uniform(0, POLL_MS), () => this.step(client));
  }

  /** The client whose current session is `sessionId`. */
  ofSession(sessionId: string): SimLockClient | undefined {
    return this.all.find((c) => c.session === sessionId);
  }

  /** Freezes a random client (a GC pause or a stopped VM) for part of a TTL up to two. */
  pauseOne(): void {
    const { ctx } = this;
    const client = ctx.rng.pick(this.all);
    ctx.count('pauses');
    client.pausedUntilMs = ctx.now + ctx.rng.uniform(ctx.options.ttlMs * 0.3, ctx.options.ttlMs * 2);
  }

  /** Ends every pause (the faults heal). */
  resumeAll(): void {
    for (const client of this.all) client.pausedUntilMs = 0;
  }

  /** An answer to `op`, sent by the node when the command's entry was applied (or the grant happened). */
  onAnswer(client: SimLockClient, op: PendingOp, session: string | null, result: LockResult): void {
    const { ctx } = this;
    if (ctx.stopped || client.op !== op || ctx.now < client.pausedUntilMs) return; // answered, or the process is paused
    const now = ctx.now;
    const command = op.command;
    if (command.type === 'open' || session !== client.session) return;
    if (result.status === 'queued') {
      op.queued = true;
      return;
    }
    if (command.type === 'cancel' && op.cancelling) {
      const acquire = op.cancelling;
      if (result.status === 'ok') {
        // Withdrawn, or fenced if it had not reached the log: it will never be granted.
        ctx.history.push({ kind: 'fail', opId: acquire.opId, code: 'CANCELLED', atMs: now });
      } else if (result.status === 'error' && result.code === 'ALREADY_HELD') {
        // The grant won the race: learn its token by asking again with the acquire's own requestSeq.
        acquire.giveUpAtMs = undefined;
        client.op = acquire;
        this.send(client, acquire);
        return;
      }
    }
    client.op = null;
    client.thinkUntilMs = now + ctx.rng.uniform(0, 300);
    if (result.status === 'error') {
      ctx.count(`fail:${result.code}`);
      ctx.history.push({ kind: 'fail', opId: op.opId, code: result.code, atMs: now });
      if (result.code === 'SESSION_NOT_FOUND') this.loseSession(client);
      return;
    }
    if (command.type === 'acquire' && result.status === 'granted') {
      ctx.history.push({ kind: 'ok', opId: op.opId, token: result.token, atMs: now });
      client.held.set(command.name, {
        token: result.token,
        fenced: command.fenced,
        holdUntilMs: now + ctx.rng.uniform(50, 1_500),
      });
      this.reportSafePeriods(client);
    } else if (command.type === 'release') {
      ctx.history.push({ kind: 'ok', opId: op.opId, atMs: now });
    }
  }

  /** The open `op` was answered: the session `sessionId` lives one TTL from the attempt that opened it. */
  onOpened(client: SimLockClient, op: PendingOp, sessionId: string): void {
    const { ctx } = this;
    const command = op.command;
    if (ctx.stopped || client.op !== op || ctx.now < client.pausedUntilMs || command.type !== 'open') return;
    client.session = sessionId;
    // Counted from the FIRST attempt: the client cannot tell which of its attempts opened the session it was told.
    client.safePeriod = new SafePeriodTracker();
    client.safePeriod.streamOpened(op.firstSentAtMs);
    client.safePeriod.guaranteeReceived(0, command.ttlMs);
    client.guaranteeMs = command.ttlMs;
    client.keepaliveSeq = 0;
    client.lastKeepaliveSentAtMs = op.firstSentAtMs;
    client.nextSeq = 1;
    client.op = null;
  }

  /** Keepalive `seq` was answered with `guaranteeMs` (counted, as the SDK counts it, from that keepalive's send). */
  onKeepaliveAnswer(client: SimLockClient, session: string, seq: number, guaranteeMs: number): void {
    if (client.session !== session || client.safePeriod === null || this.ctx.now < client.pausedUntilMs) return;
    client.safePeriod.guaranteeReceived(seq, guaranteeMs);
    client.guaranteeMs = guaranteeMs;
    this.reportSafePeriods(client);
  }

  /** A Pre-emption Request for `session`'s hold of `name` at `token`, naming keepalive `seq`, with its grace. */
  onPreemption(session: string, name: string, token: bigint, seq: number, graceMs: number): void {
    const client = this.ofSession(session);
    if (!client) return;
    if (this.ctx.now < client.pausedUntilMs) {
      this.afterPause(client, () => this.onPreemption(session, name, token, seq, graceMs));
      return;
    }
    const held = client.held.get(name);
    // The frame may overtake the answer to the acquire: a lock not known yet is taken as fenced (the shorter cap).
    client.safePeriod?.preemptionReceived(name, token, seq, graceMs, held?.fenced ?? true);
    if (held && held.token === token && this.ctx.rng.chance(0.5)) held.holdUntilMs = this.ctx.now; // cooperative release
  }

  onRevoked(client: SimLockClient, session: string, name: string, token: bigint): void {
    if (this.ctx.now < client.pausedUntilMs) {
      this.afterPause(client, () => this.onRevoked(client, session, name, token));
      return;
    }
    if (client.session !== session) return;
    if (client.held.get(name)?.token === token) client.held.delete(name);
  }

  onSessionExpired(client: SimLockClient, session: string): void {
    if (this.ctx.now < client.pausedUntilMs) {
      this.afterPause(client, () => this.onSessionExpired(client, session));
      return;
    }
    if (client.session !== session) return;
    this.ctx.count('clientSawExpiry');
    this.loseSession(client);
  }

  /** A frame the server pushed reaches a paused process when it runs again (it waits in the socket meanwhile). */
  private afterPause(client: SimLockClient, deliver: () => void): void {
    this.ctx.cluster.schedule(client.pausedUntilMs - this.ctx.now, deliver);
  }

  /** The node a client talks to: the one that last took its frames, else the one its leader follower names. */
  private route(client: SimLockClient): NodeId {
    if (client.node === null) client.node = this.nodeAt.get(client.follower.next())!;
    return client.node;
  }

  /**
   * What `node` answered a frame of `client`: taken (the stream reached the leader), or refused, which sends the
   * client to the next endpoint after the delay its leader follower gives (returned, ms), as the SDK's dial loop does.
   */
  private answered(client: SimLockClient, node: NodeId, refusal: NodeRefusal | null): number {
    if (refusal === null) {
      client.follower.succeeded();
      return 0;
    }
    if (client.node === node) client.node = null;
    const address = simNodeAddress(node);
    const failure = refusal.down
      ? new UnavailableError(`cannot connect to ${address}`)
      : new NotLeaderError(`${address} is not the leader`, refusal.leaderAddress ?? undefined);
    const delayMs = client.follower.failed(address, failure);
    if (delayMs === null) throw new Error(`the leader follower gave up on a retriable ${failure.code}`);
    return delayMs;
  }

  private send(client: SimLockClient, op: PendingOp): void {
    const { ctx } = this;
    op.lastTryMs = ctx.now;
    op.retryAtMs = ctx.now + RETRY_MS;
    const node = this.route(client);
    const session = client.session;
    ctx.cluster.schedule(ctx.delay(), () => {
      const refusal = ctx.cluster.isUp(node)
        ? this.transport().request(node, client, op, session)
        : { down: true as const };
      const delayMs = this.answered(client, node, refusal);
      if (refusal !== null && client.op === op) op.retryAtMs = ctx.now + delayMs;
    });
  }

  private startOp(
    client: SimLockClient,
    command: LockCommand | SessionOpenRequest,
    invoke: HistoryEvent | null,
    extra: Pick<PendingOp, 'giveUpAtMs' | 'cancelling'> = {},
  ): void {
    const { ctx } = this;
    const op: PendingOp = {
      opId: `op${++this.opId}`,
      command,
      firstSentAtMs: ctx.now,
      lastTryMs: ctx.now,
      retryAtMs: ctx.now,
      queued: false,
      ...extra,
    };
    client.op = op;
    if (invoke) ctx.history.push({ ...invoke, opId: op.opId } as HistoryEvent);
    this.send(client, op);
  }

  private step(client: SimLockClient): void {
    const { ctx } = this;
    if (ctx.stopped) return;
    const now = ctx.now;
    const { rng, options } = ctx;
    ctx.cluster.schedule(POLL_MS, () => this.step(client));
    if (now < client.pausedUntilMs) return;
    if (client.session !== null && client.safePeriod !== null) {
      const intervalMs = keepaliveIntervalMs(client.guaranteeMs);
      if (now - client.lastKeepaliveSentAtMs >= intervalMs) this.sendKeepalive(client);
    }
    const op = client.op;
    if (op?.command.type === 'acquire' && op.giveUpAtMs !== undefined && now >= op.giveUpAtMs) {
      ctx.count('cancels');
      const cancel: LockCommand = {
        type: 'cancel',
        sessionId: op.command.sessionId,
        requestSeq: client.nextSeq++,
        name: op.command.name,
      };
      this.startOp(client, cancel, null, { cancelling: op });
      return;
    }
    if (op) {
      if (op.queued ? now - op.lastTryMs >= QUEUED_POLL_MS : now >= op.retryAtMs) {
        if (!op.queued && op.command.type !== 'open') {
          ctx.count('ambiguous');
          ctx.history.push({ kind: 'ambiguous', opId: op.opId, atMs: now });
        }
        this.send(client, op); // the same requestSeq: applied once
      }
      return;
    }
    if (client.session === null) {
      if (!ctx.accepting) return;
      this.startOp(client, { type: 'open', clientName: client.name, ttlMs: options.ttlMs }, null);
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
      this.startOp(client, command, {
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
    if (!ctx.accepting || client.held.size >= 2) return;
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
    this.startOp(
      client,
      command,
      { kind: 'invoke', opId: '', session: client.session, op: 'acquire', lock: name, mode, atMs: now },
      { giveUpAtMs },
    );
  }

  private loseSession(client: SimLockClient): void {
    client.session = null;
    client.held.clear();
    client.safePeriod = null;
    client.op = null;
  }

  /** The SDK's view: each held lock is safe until the formula of docs/design.md, principle 2 says so. */
  private reportSafePeriods(client: SimLockClient): void {
    if (client.session === null || client.safePeriod === null) return;
    for (const [name, held] of client.held) {
      this.ctx.history.push({
        kind: 'client-safe',
        session: client.session,
        lock: name,
        token: held.token,
        safeUntilMs: client.safePeriod.lockSafeUntilMs(name, held.token),
        atMs: this.ctx.now,
      });
    }
  }

  private sendKeepalive(client: SimLockClient): void {
    const sentAtMs = this.ctx.now;
    const seq = ++client.keepaliveSeq;
    client.lastKeepaliveSentAtMs = sentAtMs;
    client.safePeriod?.keepaliveSent(seq, sentAtMs);
    const node = this.route(client);
    const session = client.session!;
    this.ctx.cluster.schedule(this.ctx.delay(), () => {
      if (this.ctx.stopped) return;
      const refusal = this.ctx.cluster.isUp(node)
        ? this.transport().keepalive(node, client, session, seq)
        : { down: true as const };
      this.answered(client, node, refusal);
    });
  }
}
