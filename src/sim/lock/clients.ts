// The lock simulation's clients: processes with a session stream to one node at a time, keepalives, acquires (some
// given up and cancelled), releases and pauses, and the safe periods the SDK would report to them. Every decision the
// SDK's SessionConnection and Client make is made here by the SDK's own pure units, so that a change to the SDK's
// rules changes these clients too (docs/design.md, "Simulation"):
// - which node to dial next and after how long: LeaderFollower over EndpointPool and Backoff;
// - how long an open or resume may go unanswered: openAnswerTimeoutMs;
// - which request_seq a request gets, and what a resumed stream sends again (with the same seq): RequestLedger;
// - which refusals are sent again, after how long: retryDelayAfterRefusal;
// - when a keepalive is due: KeepaliveSchedule, from the intervals the leader names;
// - what a given-up acquire becomes, and a grant that comes after: giveUpAcquire, grantFate;
// - which held locks a resume finds lost: locksLostOnResume;
// - when a held lock, or the session, has passed its safe period with no renewal: lapsedAt;
// - the safe periods: SafePeriodTracker.
// What stays the simulation's own: the workload (what to acquire or release, and when), and the stream's transport.

import { type GivenUpRequests, type GiveUpOutcome, giveUpAcquire, grantFate } from '../../client/acquire-give-up.js';
import { Backoff } from '../../client/backoff.js';
import { EndpointPool } from '../../client/endpoints.js';
import { NotLeaderError, TimeoutError, UnavailableError } from '../../client/errors.js';
import { KeepaliveSchedule } from '../../client/keepalive-schedule.js';
import { LeaderFollower } from '../../client/leader-follower.js';
import { defaultOpenTimeoutMs, openAnswerTimeoutMs } from '../../client/open-timeout.js';
import { retryDelayAfterRefusal } from '../../client/refusal-retry.js';
import { RequestLedger } from '../../client/request-ledger.js';
import { locksLostOnResume, type NamedToken } from '../../client/resume-reconcile.js';
import { SafePeriodTracker } from '../../client/safe-period.js';
import { lapsedAt } from '../../client/safety-lapse.js';
import type { LockCommand, LockMode, LockResult } from '../../lock/commands.js';
import type { NodeId } from '../../raft/types.js';
import type { ForelockError } from '../../util/errors.js';
import type { HistoryEvent } from '../lock-history-checker.js';
import { simNodeAddress } from '../raft-cluster.js';
import type { LockSimContext } from './context.js';

/** A lock a client holds, and until when it means to. */
interface HeldLock {
  readonly token: bigint;
  readonly fenced: boolean;
  holdUntilMs: number;
}

/** A session stream a client dialed: on one node, opening a new session or resuming its own. */
export interface SimStream {
  readonly id: number;
  readonly node: NodeId;
  /** When its open (or resume) frame left, ms: frames naming keepalive 0 count from then. */
  readonly sentAtMs: number;
  /** Until when the open may go unanswered before the next node is tried (openAnswerTimeoutMs), ms. */
  readonly answerByMs: number;
  /** Answered Opened: the session is open on it. */
  opened: boolean;
}

/** What a client asks of the lock service on its session stream. */
export type SimClientCommand = Extract<LockCommand, { type: 'acquire' | 'release' | 'cancel' }>;

/** A request a client waits on, kept in its RequestLedger under the command's requestSeq. */
export interface SimRequest {
  readonly opId: string;
  readonly command: SimClientCommand;
  /** Written to a stream at least once: sending it again before an answer is ambiguous. */
  sent: boolean;
  /** Acquire answered 'queued': its grant is pushed on the stream (or answered again after a resume). */
  queued: boolean;
  /** Acquire: when the client stops waiting (as a wait that runs out, or an aborted `signal`). */
  readonly giveUpAtMs?: number;
  /** Acquire: the client stopped waiting; a grant is handed back (grantFate). */
  givenUp: boolean;
  /** Cancel: the acquire it withdraws, and what the SDK does with the cancel's answer (giveUpAcquire). */
  readonly cancelling?: { readonly acquire: SimRequest; readonly answered: (withdrawn: boolean) => GiveUpOutcome };
}

/** What an open or resume was answered with (a session stream's Opened frame). */
export interface SimOpened {
  readonly sessionId: string;
  /** The session's secret ('' on a resume: the client has it). */
  readonly secret: string;
  readonly guaranteeMs: number;
  readonly keepaliveIntervalMs: number;
  /** The locks the cluster holds for the session (a resume's; [] for a new session). */
  readonly held: readonly NamedToken[];
}

/** A request's answer as a session stream carries it: the state machine's result, or a refusal's code. */
export type SimAnswer = Exclude<LockResult, { status: 'error' }> | { readonly status: 'error'; readonly code: string };

/** One simulated client process. */
export interface SimLockClient {
  readonly name: string;
  /** The SDK's leader follower: which node to dial next, and how long to wait first, after a failed stream. */
  readonly follower: LeaderFollower;
  /** The backoff behind `follower`, which also spaces the retries of transient refusals (as in SessionConnection). */
  readonly backoff: Backoff;
  session: string | null;
  secret: string;
  /** The stream being opened or open; null between streams. */
  stream: SimStream | null;
  /** When the next stream may be dialed, ms. */
  dialAtMs: number;
  /** The session's requests awaiting an answer, as SessionConnection keeps them. */
  requests: RequestLedger<SimRequest>;
  /** The workload's request in progress (one at a time: an acquire, a release, or a given-up acquire's cancel). */
  op: SimRequest | null;
  readonly held: Map<string, HeldLock>;
  /** The SDK's own safe-period bookkeeping for the current session (null without one). */
  safePeriod: SafePeriodTracker | null;
  /** When keepalives are due on the open stream. */
  readonly keepalives: KeepaliveSchedule;
  /** The last keepalive's sequence number (per session, as SessionConnection counts them). */
  keepaliveSeq: number;
  pausedUntilMs: number;
  thinkUntilMs: number;
}

/**
 * Why a node did not take a stream's frame: it is down or no longer runs the incarnation that took the stream (the
 * connection fails), or it does not lead and names the leader it knows, as a NotLeader frame does (null: none yet).
 */
export type NodeRefusal = { readonly down: true } | { readonly down: false; readonly leaderAddress: string | null };

/** What the clients need from the servers: session streams that carry opens, requests and keepalives. */
export interface ClientTransport {
  /** Opens `stream` on its node for `client`: a new session, or a resume of `resume`; null when the node took it. */
  open(
    client: SimLockClient,
    stream: SimStream,
    resume: { readonly sessionId: string; readonly secret: string } | null,
  ): NodeRefusal | null;
  /** Delivers `command` on `stream`; null when taken (the answer comes through the clients' callbacks). */
  request(client: SimLockClient, stream: SimStream, command: SimClientCommand): NodeRefusal | null;
  /** Delivers keepalive `seq` of `session` on `stream`; null when taken. */
  keepalive(client: SimLockClient, stream: SimStream, session: string, seq: number): NodeRefusal | null;
  /** Whether `stream` is still connected: the incarnation that took it runs and has not ended it. */
  connected(stream: SimStream): boolean;
  /** The client closed its end of `stream`: `redialing` when it gave up on a stream its session lives on (the node
   * hears a cancel, as SessionStream does), false when its session ends with it. */
  closed(stream: SimStream, redialing: boolean): void;
  /** Asks the node of `stream` to close `session` (best effort: nothing is answered). */
  closeSession(client: SimLockClient, stream: SimStream, session: string): void;
}

/** How often a client looks at its state, ms. */
const POLL_MS = 25;

/** The clients of one run. */
export class LockSimClients {
  readonly all: SimLockClient[];
  private opId = 0;
  private streamId = 0;
  /** The node at each address the clients know (the endpoints they are given: every node's). */
  private readonly nodeAt: ReadonlyMap<string, NodeId>;
  /** The SDK's default connection timeout for the run's TTL. */
  private readonly openTimeoutMs: number;

  constructor(
    private readonly ctx: LockSimContext,
    private readonly transport: () => ClientTransport,
  ) {
    this.nodeAt = new Map(ctx.cluster.ids.map((id) => [simNodeAddress(id), id]));
    this.openTimeoutMs = defaultOpenTimeoutMs(ctx.options.ttlMs);
    const endpoints = [...this.nodeAt.keys()];
    this.all = Array.from({ length: ctx.options.clients }, (_, i) => {
      const backoff = new Backoff(ctx.rng.fork());
      return {
        name: `client${i + 1}`,
        follower: new LeaderFollower(new EndpointPool(endpoints), backoff),
        backoff,
        session: null,
        secret: '',
        stream: null,
        dialAtMs: 0,
        requests: new RequestLedger<SimRequest>(),
        op: null,
        held: new Map(),
        safePeriod: null,
        keepalives: new KeepaliveSchedule(),
        keepaliveSeq: 0,
        pausedUntilMs: 0,
        thinkUntilMs: 0,
      };
    });
  }

  /** Starts every client polling. */
  start(): void {
    for (const client of this.all) this.ctx.cluster.schedule(this.ctx.rng.uniform(0, POLL_MS), () => this.step(client));
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

  /** `stream` was answered Opened: a new session, or the client's own resumed. */
  onOpened(client: SimLockClient, stream: SimStream, opened: SimOpened): void {
    this.whenRunning(client, () => {
      if (client.stream !== stream || stream.opened) return;
      const { ctx } = this;
      stream.opened = true;
      client.follower.succeeded();
      const resumed = client.session !== null;
      if (!resumed) {
        client.session = opened.sessionId;
        client.secret = opened.secret;
        client.safePeriod = new SafePeriodTracker();
        client.safePeriod.streamOpened(stream.sentAtMs);
        client.keepaliveSeq = 0;
      }
      client.safePeriod!.guaranteeReceived(0, opened.guaranteeMs);
      client.keepalives.opened(opened.keepaliveIntervalMs, ctx.now);
      if (resumed) {
        ctx.count('resumes');
        const holds = [...client.held].map(([name, { token }]) => ({ name, token }));
        for (const name of locksLostOnResume(holds, opened.held)) {
          ctx.count('lostOnResume');
          client.held.delete(name);
          client.safePeriod!.forgetLock(name);
        }
        for (const request of client.requests.toResendOnResume()) {
          if (request.sent && !request.queued) {
            ctx.count('ambiguous');
            ctx.history.push({ kind: 'ambiguous', opId: request.opId, atMs: ctx.now });
          }
          this.send(client, request); // the same requestSeq: applied once
        }
      }
      this.sendKeepalive(client, stream);
      this.reportSafePeriods(client);
    });
  }

  /** `stream` ended or could not open, with `failure` as the SDK would see it. */
  onStreamEnded(client: SimLockClient, stream: SimStream, failure: ForelockError): void {
    this.whenRunning(client, () => this.streamFailed(client, stream, failure));
  }

  /** An answer to request `seq` on `stream` (a proposal's result, a refusal, or a pushed grant). */
  onAnswer(client: SimLockClient, stream: SimStream, seq: number, answer: SimAnswer): void {
    this.whenRunning(client, () => {
      if (this.ctx.stopped || client.stream !== stream) return;
      const request = client.requests.get(seq);
      if (request === undefined) return;
      const retryInMs = answer.status === 'error' ? retryDelayAfterRefusal(answer.code, client.backoff) : null;
      if (retryInMs !== null) {
        this.ctx.count('transientRetries');
        this.ctx.cluster.schedule(retryInMs, () =>
          this.whenRunning(client, () => {
            if (client.requests.resendable(seq, request)) this.send(client, request);
          }),
        );
        return;
      }
      if (this.answered(client, request, answer)) client.requests.forget(seq);
    });
  }

  /** Keepalive `seq` was answered with `guaranteeMs` (counted, as the SDK counts it, from that keepalive's send). */
  onKeepaliveAnswer(
    client: SimLockClient,
    stream: SimStream,
    seq: number,
    guaranteeMs: number,
    keepaliveIntervalMs: number,
  ): void {
    this.whenRunning(client, () => {
      if (client.stream !== stream || client.safePeriod === null) return;
      client.safePeriod.guaranteeReceived(seq, guaranteeMs);
      client.keepalives.intervalAnswered(keepaliveIntervalMs, this.ctx.now);
      this.reportSafePeriods(client);
    });
  }

  /** A Pre-emption Request on `stream` for the hold of `name` at `token`, naming keepalive `seq`, with its grace. */
  onPreemption(
    client: SimLockClient,
    stream: SimStream,
    name: string,
    token: bigint,
    seq: number,
    graceMs: number,
  ): void {
    this.whenRunning(client, () => {
      if (client.stream !== stream) return;
      const held = client.held.get(name);
      // The frame may overtake the answer to the acquire: a lock not known yet is taken as fenced (the shorter cap).
      client.safePeriod?.preemptionReceived(name, token, seq, graceMs, held?.fenced ?? true);
      if (held && held.token === token && this.ctx.rng.chance(0.5)) held.holdUntilMs = this.ctx.now; // cooperative release
    });
  }

  onRevoked(client: SimLockClient, stream: SimStream, name: string, token: bigint): void {
    this.whenRunning(client, () => {
      if (client.stream !== stream) return;
      if (client.held.get(name)?.token === token) client.held.delete(name);
    });
  }

  onSessionExpired(client: SimLockClient, stream: SimStream): void {
    this.whenRunning(client, () => {
      if (client.stream !== stream) return;
      this.ctx.count('clientSawExpiry');
      this.loseSession(client);
    });
  }

  /** Runs `action` now, or when `client`'s pause ends (frames wait in the socket, timers fire late, meanwhile). */
  private whenRunning(client: SimLockClient, action: () => void): void {
    if (this.ctx.now < client.pausedUntilMs) {
      this.ctx.cluster.schedule(client.pausedUntilMs - this.ctx.now, () => this.whenRunning(client, action));
      return;
    }
    action();
  }

  /** Dials the node the leader follower names: a new session's open, or the session's resume. */
  private dial(client: SimLockClient): void {
    const { ctx } = this;
    const address = client.follower.next();
    const node = this.nodeAt.get(address)!;
    const resuming = client.session !== null;
    const stream: SimStream = {
      id: ++this.streamId,
      node,
      sentAtMs: ctx.now,
      answerByMs: ctx.now + openAnswerTimeoutMs(this.openTimeoutMs, resuming, ctx.options.ttlMs),
      opened: false,
    };
    client.stream = stream;
    client.safePeriod?.streamOpened(stream.sentAtMs);
    const resume = resuming ? { sessionId: client.session!, secret: client.secret } : null;
    ctx.cluster.schedule(ctx.delay(), () => {
      if (client.stream !== stream) return;
      const refusal = ctx.cluster.isUp(node) ? this.transport().open(client, stream, resume) : { down: true as const };
      if (refusal !== null) this.streamFailed(client, stream, failureOf(node, refusal));
    });
  }

  /**
   * `stream` failed: the client dials again after the delay its leader follower gives, as SessionConnection's dial
   * loop does; a final failure (the session is gone) ends the session.
   */
  private streamFailed(client: SimLockClient, stream: SimStream, failure: ForelockError): void {
    if (client.stream !== stream) return;
    client.stream = null;
    client.keepalives.closed();
    this.transport().closed(stream, true);
    const delayMs = client.follower.failed(simNodeAddress(stream.node), failure);
    if (delayMs === null) {
      this.ctx.count(`streamEnded:${failure.code}`);
      this.loseSession(client);
      return;
    }
    client.dialAtMs = this.ctx.now + delayMs;
  }

  /** Writes `request` to the open stream; without one it waits for the resume, which sends it (RequestLedger). */
  private send(client: SimLockClient, request: SimRequest): void {
    const stream = client.stream;
    if (stream === null || !stream.opened) return;
    request.sent = true;
    this.ctx.cluster.schedule(this.ctx.delay(), () => {
      if (client.stream !== stream) return; // the client closed that stream: the frame never left
      const refusal = this.transport().request(client, stream, request.command);
      if (refusal !== null) this.streamFailed(client, stream, failureOf(stream.node, refusal));
    });
  }

  private sendKeepalive(client: SimLockClient, stream: SimStream): void {
    const { ctx } = this;
    const session = client.session!;
    const seq = ++client.keepaliveSeq;
    client.safePeriod?.keepaliveSent(seq, ctx.now);
    client.keepalives.turnTaken(ctx.now);
    ctx.cluster.schedule(ctx.delay(), () => {
      if (ctx.stopped || client.stream !== stream) return;
      const refusal = this.transport().keepalive(client, stream, session, seq);
      if (refusal !== null) this.streamFailed(client, stream, failureOf(stream.node, refusal));
    });
  }

  /** Records request `seq` and sends it; unless `aside`, it becomes the workload's request in progress. */
  private startRequest(
    client: SimLockClient,
    command: (requestSeq: number) => SimClientCommand,
    invoke: HistoryEvent | null,
    extra: Pick<SimRequest, 'giveUpAtMs' | 'cancelling'> = {},
    aside = false,
  ): void {
    const seq = client.requests.allocate();
    const request: SimRequest = {
      opId: `op${++this.opId}`,
      command: command(seq),
      sent: false,
      queued: false,
      givenUp: false,
      ...extra,
    };
    client.requests.add(seq, request);
    if (!aside) client.op = request;
    if (invoke) this.ctx.history.push({ ...invoke, opId: request.opId } as HistoryEvent);
    this.send(client, request);
  }

  /** The workload's request is done: the client thinks a while before its next one. */
  private finish(client: SimLockClient, request: SimRequest): void {
    if (client.op !== request) return;
    client.op = null;
    client.thinkUntilMs = this.ctx.now + this.ctx.rng.uniform(0, 300);
  }

  /**
   * What `request`'s answer means, as Client's handlers read it; returns true when the request needs nothing more.
   * A queued acquire waits for its grant; a cancel's answer goes to giveUpAcquire.
   */
  private answered(client: SimLockClient, request: SimRequest, answer: SimAnswer): boolean {
    const { ctx } = this;
    const now = ctx.now;
    const command = request.command;
    if (request.cancelling !== undefined) {
      const { acquire, answered } = request.cancelling;
      if (answered(answer.status === 'ok') === 'withdrawn') {
        // Withdrawn, or fenced if it had not reached the log: it will never be granted.
        ctx.history.push({ kind: 'fail', opId: acquire.opId, code: 'CANCELLED', atMs: now });
        this.finish(client, request);
      } else if (client.op === request) {
        client.op = acquire; // asked again with its own requestSeq, to learn the grant that won the race
      }
      return true;
    }
    if (answer.status === 'error') {
      ctx.count(`fail:${answer.code}`);
      ctx.history.push({ kind: 'fail', opId: request.opId, code: answer.code, atMs: now });
      this.finish(client, request);
      if (answer.code === 'SESSION_NOT_FOUND') this.loseSession(client);
      return true;
    }
    if (command.type === 'acquire') {
      if (answer.status === 'queued') {
        request.queued = true;
        return false;
      }
      if (answer.status !== 'granted') return true;
      ctx.history.push({ kind: 'ok', opId: request.opId, token: answer.token, atMs: now });
      const fate = grantFate(!request.givenUp);
      if (fate === 'hand-back') ctx.count('grantsHandedBack');
      client.held.set(command.name, {
        token: answer.token,
        fenced: command.fenced,
        holdUntilMs: fate === 'adopt' ? now + ctx.rng.uniform(50, 1_500) : now,
      });
      this.finish(client, request);
      if (fate === 'hand-back') client.thinkUntilMs = now;
      this.reportSafePeriods(client);
      return true;
    }
    if (command.type === 'release') ctx.history.push({ kind: 'ok', opId: request.opId, atMs: now });
    this.finish(client, request);
    return true;
  }

  /** The session's requests as a give-up acts on them: SessionConnection's stopResending, resendRequest, forget. */
  private givenUpRequests(client: SimLockClient): GivenUpRequests {
    const requests = client.requests;
    return {
      stopResending: (seq) => requests.stopResending(seq),
      forget: (seq) => requests.forget(seq),
      resendRequest: (seq) => {
        const request = requests.resendRequest(seq);
        if (request !== undefined && client.requests === requests) this.send(client, request);
      },
    };
  }

  /** Dials, times out an unanswered open, notices a failed connection, and sends keepalives as they come due. */
  private tendStream(client: SimLockClient): void {
    const { ctx } = this;
    const now = ctx.now;
    const stream = client.stream;
    if (stream === null) {
      if (now >= client.dialAtMs && (client.session !== null || ctx.accepting)) this.dial(client);
      return;
    }
    const address = simNodeAddress(stream.node);
    if (!stream.opened) {
      if (now >= stream.answerByMs) {
        this.streamFailed(client, stream, new TimeoutError(`${address} did not answer the session open in time`));
      }
      return;
    }
    if (!this.transport().connected(stream)) {
      this.streamFailed(client, stream, new UnavailableError(`the connection to ${address} failed`));
      return;
    }
    if (client.keepalives.isDue(now)) this.sendKeepalive(client, stream);
  }

  private step(client: SimLockClient): void {
    const { ctx } = this;
    if (ctx.stopped) return;
    const now = ctx.now;
    const { rng, options } = ctx;
    ctx.cluster.schedule(POLL_MS, () => this.step(client));
    if (now < client.pausedUntilMs) return;
    this.tendStream(client);
    const session = client.session;
    if (session === null) return;
    if (this.lapsed(client, session)) return;
    const op = client.op;
    if (op?.command.type === 'acquire' && !op.givenUp && op.giveUpAtMs !== undefined && now >= op.giveUpAtMs) {
      ctx.count('cancels');
      op.givenUp = true;
      const { name, requestSeq } = op.command;
      const answered = giveUpAcquire(this.givenUpRequests(client), requestSeq);
      this.startRequest(client, (seq) => ({ type: 'cancel', sessionId: session, requestSeq: seq, name }), null, {
        cancelling: { acquire: op, answered },
      });
      return;
    }
    if (op || now < client.thinkUntilMs) return;
    const releasable = [...client.held].find(([, held]) => held.holdUntilMs <= now);
    if (releasable) {
      const [name, held] = releasable;
      client.held.delete(name); // a lock being released is no longer used
      client.safePeriod?.forgetLock(name);
      this.startRequest(
        client,
        (requestSeq) => ({ type: 'release', sessionId: session, requestSeq, name, token: held.token }),
        { kind: 'invoke', opId: '', session, op: 'release', lock: name, token: held.token, atMs: now },
      );
      return;
    }
    if (!ctx.accepting || client.held.size >= 2) return;
    const name = rng.pick(options.lockNames.filter((n) => !client.held.has(n)));
    const mode: LockMode = rng.chance(0.3) ? 'shared' : 'exclusive';
    const fenced = rng.chance(0.3);
    const tryOnly = rng.chance(0.1);
    const giveUpAtMs = rng.chance(0.3) ? now + rng.uniform(300, 3_000) : undefined;
    this.startRequest(
      client,
      (requestSeq) => ({
        type: 'acquire',
        sessionId: session,
        requestSeq,
        name,
        mode,
        fenced,
        preemptible: true,
        tryOnly,
      }),
      { kind: 'invoke', opId: '', session, op: 'acquire', lock: name, mode, atMs: now },
      { giveUpAtMs },
    );
  }

  /**
   * The Client's safety check: a held lock past its safe deadline is lost and handed back; a session past its own is
   * treated as expired (returns true).
   */
  private lapsed(client: SimLockClient, session: string): boolean {
    const { ctx } = this;
    const tracker = client.safePeriod;
    if (tracker === null || !Number.isFinite(tracker.sessionSafeUntilMs)) return false;
    const deadlines = [...client.held].map(([name, { token }]) => ({
      name,
      safeUntilMs: tracker.lockSafeUntilMs(name, token),
    }));
    const lapse = lapsedAt(ctx.now, tracker.sessionSafeUntilMs, deadlines);
    for (const name of lapse.locks) {
      const { token } = client.held.get(name)!;
      ctx.count('lapsedLocks');
      client.held.delete(name);
      tracker.forgetLock(name);
      this.startRequest(
        client,
        (requestSeq) => ({ type: 'release', sessionId: session, requestSeq, name, token }),
        { kind: 'invoke', opId: '', session, op: 'release', lock: name, token, atMs: ctx.now },
        {},
        true,
      );
    }
    if (!lapse.session) return false;
    ctx.count('promisePassed');
    // As SessionConnection's end: the cluster is told (best effort) so the session's locks are freed before expiry.
    const stream = client.stream;
    if (stream?.opened) {
      ctx.cluster.schedule(ctx.delay(), () => this.transport().closeSession(client, stream, session));
    }
    this.loseSession(client);
    return true;
  }

  /** The session is gone: its locks, requests and stream with it; the next dial opens a new one. */
  private loseSession(client: SimLockClient): void {
    const stream = client.stream;
    client.stream = null;
    if (stream !== null) this.transport().closed(stream, false);
    client.keepalives.closed();
    client.session = null;
    client.secret = '';
    client.held.clear();
    client.safePeriod = null;
    client.op = null;
    client.requests = new RequestLedger<SimRequest>();
    client.dialAtMs = this.ctx.now;
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
}

/** A node's refusal as the SDK sees it: a failed connection, or a NotLeader answer naming the leader it knows. */
function failureOf(node: NodeId, refusal: NodeRefusal): ForelockError {
  const address = simNodeAddress(node);
  return refusal.down
    ? new UnavailableError(`cannot connect to ${address}`)
    : new NotLeaderError(`${address} is not the leader`, refusal.leaderAddress ?? undefined);
}
