// The servers of the lock simulation: on every node the server's own code, as ForelockServices wires it (src/server/
// services.ts), over the node's RaftDriver and virtual time: the LockStateMachine replica, LockService (proposals,
// session opens, keepalive promises), SessionTracker and LeaderDuties (taking office after a read barrier, expiries,
// due revocations, lock-delay ticks, operator revokes, pre-emption holds). The log's effects are recorded once in the
// history, replicas that disagree are reported, and what a session stream would push reaches connected clients.
import { errorFromServerCode, NotLeaderError, SessionExpiredError } from '../../client/errors.js';
import type { LockEntry, LockEvent, LockResult } from '../../lock/commands.js';
import { LockStateMachine } from '../../lock/state-machine.js';
import type { RaftDriver } from '../../raft/driver.js';
import { RaftNotLeaderError } from '../../raft/errors.js';
import type { Entry, NodeId, StateMachine } from '../../raft/types.js';
import { SessionNotFoundError } from '../../server/errors.js';
import { refusalOf } from '../../server/grpc-status.js';
import { LeaderDuties } from '../../server/leader-duties.js';
import { LockService } from '../../server/lock-service.js';
import { ServerMetrics } from '../../server/metrics.js';
import { StalenessAdvisor } from '../../server/staleness.js';
import {
  operatorPreemptionRequests,
  type ServerFramePayload,
  scheduledRevocationRequestsOf,
} from '../../server/wire.js';
import { SessionTracker } from '../../session/tracker.js';
import type { Clock } from '../../util/clock.js';
import type { ForelockError } from '../../util/errors.js';
import type { SeededRng } from '../../util/rng.js';
import type {
  ClientTransport,
  LockSimClients,
  NodeRefusal,
  SimClientCommand,
  SimLockClient,
  SimOpened,
  SimStream,
} from './clients.js';
import type { LockSimContext } from './context.js';

/** Twice the longest election timeout of the simulated cores (default config: 2 x 10 ticks of 100 ms). */
const DEPOSED_LEADER_OVERHANG_MS = 4_000;
/** How often each node runs its leader duties (ForelockServices' dutyIntervalMs default), ms. */
const DUTY_MS = 50;
/** How often each node runs the SPM and the ladder (ForelockServices' advice interval), ms. */
const ADVICE_MS = 250;
/** The reason of the pre-emptions the simulation starts itself (the ladder's name what it saw). */
const SIMULATED_CONTENTION = 'simulated contention';

/**
 * LeaderDuties as the server runs it, observed: every pre-emption hold (the ladder's, through StalenessAdvisor, or
 * the simulation's own) is recorded in the history when it freezes the promise.
 */
class ObservedLeaderDuties extends LeaderDuties {
  constructor(
    private readonly ctx: LockSimContext,
    ...args: ConstructorParameters<typeof LeaderDuties>
  ) {
    super(...args);
  }

  override holdForPreemption(name: string, token: bigint, sessionId: string, fenced: boolean, reason: string): void {
    super.holdForPreemption(name, token, sessionId, fenced, reason);
    this.ctx.count(reason === SIMULATED_CONTENTION ? 'preemptionRequests' : 'ladderPreemptions');
    this.ctx.history.push({ kind: 'revocation-requested', session: sessionId, lock: name, token, atMs: this.ctx.now });
  }
}

/** How a replica's apply of one entry goes, command by command (a batch entry's parts in order). */
interface ApplyObserver {
  /** Before `entry`'s command changes anything (what the history needs of the state before it). */
  before(entry: LockEntry): void;
  after(entry: LockEntry, result: LockResult): void;
}

/**
 * The real LockStateMachine, observed: its apply of an entry (a batch's parts each through applyEntry, as the machine
 * applies them) tells the observer about every command, so that the history attributes each event to its command
 * while the leaders' LockService batches a turn's commands into one entry as on a real node.
 */
class ObservedLockStateMachine extends LockStateMachine {
  observer: ApplyObserver | null = null;

  override applyEntry(entry: LockEntry): LockResult {
    const observer = this.observer;
    observer?.before(entry);
    const result = super.applyEntry(entry);
    observer?.after(entry, result);
    return result;
  }
}

/** One command of an applied entry, with what the history records of it. */
interface AppliedCommand {
  readonly entry: LockEntry;
  readonly result: LockResult;
  readonly events: readonly LockEvent[];
  /** The acquiring session was already waiting for the lock before the command. */
  readonly wasWaiting: boolean;
}

/** One node's server, for one incarnation (a restart builds a new one, as a new process would). */
interface ServerNode {
  readonly id: NodeId;
  readonly driver: RaftDriver;
  readonly machine: LockStateMachine;
  readonly tracker: SessionTracker;
  readonly service: LockService;
  readonly duties: LeaderDuties;
  readonly advisor: StalenessAdvisor;
  /** The last keepalive seq this node answered on each session's stream: what its frames name (0: the open). */
  readonly lastKeepaliveSeq: Map<string, number>;
  /** The session streams open on this node, by session (SessionHub's attached streams): its frames reach only them. */
  readonly attached: Map<string, AttachedStream>;
}

/** A client's session stream as the node holds it. */
interface AttachedStream {
  readonly client: SimLockClient;
  readonly stream: SimStream;
}

/** Every node's server in one run; the clients reach them through ClientTransport. */
export class LockSimServers implements ClientTransport {
  /** Replicas that applied one index with different results or events, or ended with different states. */
  readonly divergences: string[] = [];
  /** The highest log index applied anywhere. */
  highestAppliedIndex = 0;
  /**
   * When the last frame sent on each stream arrives (by stream id): one stream delivers its frames in the order they
   * were sent, as gRPC does, so a keepalive's answer never overtakes a Pre-emption Request sent before it.
   */
  private readonly streamArrivals = new Map<number, number>();
  /** The node incarnation that took each stream still connected (by stream id). */
  private readonly streams = new Map<number, ServerNode>();
  private readonly nodes = new Map<NodeId, ServerNode>();
  /** Replicas built by `application` and not yet started, with the events each one's apply collects. */
  private readonly starting = new Map<NodeId, { machine: ObservedLockStateMachine; events: LockEvent[] }>();
  private readonly signatures = new Map<number, string>();
  /** When each term's leader took office, to measure how long deposed leaders keep answering keepalives. */
  private readonly electedAtMs = new Map<number, number>();
  private readonly clock: Clock;
  private readonly bytes: SeededRng;
  /** One set of counters for the run (the advisor counts warnings and requests in it). */
  private readonly metrics: ServerMetrics;

  constructor(
    private readonly ctx: LockSimContext,
    private readonly clients: () => LockSimClients,
  ) {
    this.clock = { now: () => ctx.now };
    this.bytes = ctx.rng.fork();
    const leader = () =>
      [...this.nodes.values()].find((node) => this.running(node.id) === node && ctx.leading(node.id));
    this.metrics = new ServerMetrics({
      status: () => (leader() ?? [...this.nodes.values()][0]!).driver.status(),
      sessionCount: () => leader()?.machine.sessionCount() ?? 0,
      connectedSessionCount: () => 0,
      lockCount: () => leader()?.machine.lockCount() ?? 0,
      eventLoopDelayMs: () => 0,
      eventLoopStallMs: () => 0,
      preemptionSuspended: () => false,
    });
  }

  /** SimCluster's application: a fresh replica for `id` whose every apply is checked and recorded. */
  application(id: NodeId): StateMachine {
    const machine = this.newMachine();
    const events: LockEvent[] = [];
    machine.onEvent((event) => events.push(event));
    this.starting.set(id, { machine, events });
    return {
      apply: (entry) => this.apply(id, machine, events, entry),
      snapshot: () => machine.snapshot(),
      restore: (data) => {
        machine.restore(data);
        this.ctx.count('snapshotRestores');
      },
      // Slices of one record each, so that entries are applied between almost every two records of a snapshot.
      beginSnapshot: () => machine.beginSnapshot(1),
      beginRestore: (data) => {
        const job = machine.beginRestore(data, 1);
        return {
          step: () => {
            const done = job.step();
            if (done) this.ctx.count('snapshotRestores');
            return done;
          },
          cancel: () => job.cancel(),
        };
      },
    };
  }

  /** SimCluster's onStarted: the node's server over its new driver, wired as ForelockServices wires it. */
  started(id: NodeId, driver: RaftDriver): void {
    const { ctx } = this;
    const { machine } = this.starting.get(id)!;
    this.starting.delete(id);
    const tracker = new SessionTracker({ deposedLeaderOverhangMs: DEPOSED_LEADER_OVERHANG_MS });
    const advisor = new StalenessAdvisor(
      {
        machine,
        tracker,
        hub: { push: (sessionId, payload) => this.pushFrame(id, sessionId, payload) },
        clock: this.clock,
        metrics: this.metrics,
        mode: 'on',
      },
      ADVICE_MS,
    );
    const service = new LockService({
      raft: driver,
      machine,
      tracker,
      clock: this.clock,
      guarantees: advisor,
      // A turn's commands in one entry, as on a node: "the end of the turn" is the same virtual instant, after what is
      // already due then.
      defer: (action) => ctx.cluster.schedule(0, action),
      randomBytes: (size) => Buffer.from(Array.from({ length: size }, () => this.bytes.int(0, 255))),
    });
    const duties = new ObservedLeaderDuties(ctx, driver, service, tracker, this.clock, (error) =>
      ctx.count(error instanceof RaftNotLeaderError ? 'dutiesNotLeader' : 'dutiesFailed'),
    );
    const node: ServerNode = {
      id,
      driver,
      machine,
      tracker,
      service,
      duties,
      advisor,
      lastKeepaliveSeq: new Map(),
      attached: new Map(),
    };
    this.nodes.set(id, node);
    driver.onStatusChange((status) => {
      if (status.role !== 'leader') this.endStreams(node, status.leaderAddress); // as SessionHub does
      void duties.statusChanged(status);
    });
    duties.onTookOffice((nowMs) => {
      ctx.count('leaderships');
      const term = driver.status().term;
      if (!this.electedAtMs.has(term)) this.electedAtMs.set(term, nowMs);
      node.lastKeepaliveSeq.clear();
    });
    duties.onTookOffice((nowMs) => advisor.tookOffice(nowMs));
    machine.onEvent((event) => {
      duties.applied(event);
      advisor.applied(event);
    });
    void duties.statusChanged(driver.status());
    ctx.cluster.schedule(DUTY_MS, () => this.runDuties(node));
    ctx.cluster.schedule(ADVICE_MS, () => this.runAdvice(node));
  }

  open(
    client: SimLockClient,
    stream: SimStream,
    resume: { readonly sessionId: string; readonly secret: string } | null,
  ): NodeRefusal | null {
    const { ctx } = this;
    const node = this.running(stream.node);
    const refusal = this.refusal(stream.node, node);
    if (node === null || refusal !== null) return refusal;
    this.streams.set(stream.id, node);
    const opened = (
      sessionId: string,
      secret: string,
      guarantee: { guaranteeMs: number; keepaliveIntervalMs: number },
    ) => {
      // The promise is made whether or not the client hears it.
      ctx.promise(sessionId, node.tracker.promisedUntil(sessionId)!);
      if (!this.connectedTo(stream, node)) return; // ended meanwhile (deposed, crashed, or the client gave up on it)
      this.attach(node, sessionId, client, stream);
      // As SessionStream's Opened frame: a resume lists the session's own locks.
      const holds = resume === null ? [] : node.machine.sessionHolds(sessionId);
      const held = holds.map(({ name, holder }) => ({ name, token: holder.token }));
      const answer: SimOpened = {
        sessionId,
        secret,
        guaranteeMs: guarantee.guaranteeMs,
        keepaliveIntervalMs: guarantee.keepaliveIntervalMs,
        held,
      };
      this.toStream(stream, () => this.clients().onOpened(client, stream, answer));
      // As SessionStream does after a resume: an operator's revoke scheduled while the session was away is requested
      // again (its Pre-emption Request may never have arrived), naming the stream's open (keepalive 0).
      for (const request of scheduledRevocationRequestsOf(holds, ctx.now)) {
        const token = BigInt(request.token);
        const { resourceId, graceMs } = request;
        this.toStream(stream, () => this.clients().onPreemption(client, stream, resourceId, token, 0, graceMs));
      }
    };
    const failed = (error: unknown) => {
      if (!this.connectedTo(stream, node)) return;
      this.streams.delete(stream.id);
      this.toStream(stream, () => this.clients().onStreamEnded(client, stream, clientErrorOf(error)));
    };
    if (resume === null) {
      node.service
        .openSession(client.name, ctx.options.ttlMs, ctx.now)
        .then((session) => opened(session.sessionId, session.secret, session.guarantee), failed);
    } else {
      node.service
        .resumeSession(resume.sessionId, resume.secret, ctx.now)
        .then((resumed) => opened(resume.sessionId, '', resumed.guarantee), failed);
    }
    return null;
  }

  request(client: SimLockClient, stream: SimStream, command: SimClientCommand): NodeRefusal | null {
    const { ctx } = this;
    const node = this.running(stream.node);
    if (node === null || !this.connectedTo(stream, node)) return { down: true };
    const refusal = this.refusal(stream.node, node);
    if (refusal !== null) return refusal;
    if (command.type === 'acquire') node.advisor.requested(command.sessionId, command.name, ctx.now, command.mode);
    const seq = command.requestSeq;
    node.service.propose(command).then(
      (result) => {
        if (this.connectedTo(stream, node))
          this.toStream(stream, () => this.clients().onAnswer(client, stream, seq, result));
      },
      (error: unknown) => {
        if (!this.connectedTo(stream, node)) return;
        // As SessionStream.refuse: a lost leadership ends the stream, any other failure is the request's refusal.
        if (error instanceof RaftNotLeaderError) {
          this.streams.delete(stream.id);
          this.toStream(stream, () => this.clients().onStreamEnded(client, stream, clientErrorOf(error)));
          return;
        }
        const { code } = refusalOf(error);
        this.toStream(stream, () => this.clients().onAnswer(client, stream, seq, { status: 'error', code }));
      },
    );
    return null;
  }

  keepalive(client: SimLockClient, stream: SimStream, session: string, seq: number): NodeRefusal | null {
    const { ctx } = this;
    const node = this.running(stream.node);
    if (node === null || !this.connectedTo(stream, node)) return { down: true };
    const refusal = this.refusal(stream.node, node);
    if (refusal !== null) return refusal;
    const guarantee = node.service.keepalive({ sessionId: session, receiveMs: ctx.now });
    // No answer once the promise has passed: the session is expiring and its end will be pushed (session-stream.ts).
    if (guarantee === null) return null;
    node.lastKeepaliveSeq.set(session, seq);
    const nodeTerm = node.driver.status().term;
    for (const [term, atMs] of this.electedAtMs) {
      if (term > nodeTerm) ctx.stats.maxDeposedAnswerMs = Math.max(ctx.stats.maxDeposedAnswerMs ?? 0, ctx.now - atMs);
    }
    ctx.promise(session, node.tracker.promisedUntil(session)!);
    const { guaranteeMs, keepaliveIntervalMs } = guarantee;
    this.toStream(stream, () =>
      this.clients().onKeepaliveAnswer(client, stream, seq, guaranteeMs, keepaliveIntervalMs),
    );
    return null;
  }

  closeSession(_client: SimLockClient, stream: SimStream, session: string): void {
    const node = this.running(stream.node);
    if (node === null || this.refusal(stream.node, node) !== null) return;
    node.service.propose({ type: 'session-close', sessionId: session }).catch(() => {});
  }

  connected(stream: SimStream): boolean {
    const node = this.streams.get(stream.id);
    return node !== undefined && this.connectedTo(stream, node);
  }

  closed(stream: SimStream, redialing: boolean): void {
    const node = this.streams.get(stream.id);
    const connected = node !== undefined && this.connectedTo(stream, node);
    this.streams.delete(stream.id);
    if (node === undefined) return;
    for (const [sessionId, attached] of node.attached) {
      if (attached.stream !== stream) continue;
      node.attached.delete(sessionId);
      // As SessionStream: a stream its client gave up on, still the session's on a running node, is a disconnect.
      if (!redialing || !connected) continue;
      this.ctx.count('disconnects');
      node.advisor.sessionDisconnected(sessionId, this.ctx.now);
    }
  }

  /** Whether `stream` is connected to `node`: the incarnation that took it runs and has not ended it. */
  private connectedTo(stream: SimStream, node: ServerNode): boolean {
    return this.streams.get(stream.id) === node && this.running(node.id) === node;
  }

  /** The node no longer leads: every session stream on it ends with NotLeader, as SessionHub ends them. */
  private endStreams(node: ServerNode, leaderAddress: string | null): void {
    for (const [id, holder] of this.streams) {
      if (holder !== node) continue;
      this.streams.delete(id);
    }
    for (const { client, stream } of node.attached.values()) {
      const failure = new NotLeaderError('the leader stepped down', leaderAddress ?? undefined);
      this.toStream(stream, () => this.clients().onStreamEnded(client, stream, failure));
    }
    node.attached.clear();
  }

  /**
   * Why `nodeId` takes no frame now: down, or not leading, naming the leader its Raft status knows as a session
   * stream's NotLeader frame does; null when it leads.
   */
  private refusal(nodeId: NodeId, node: ServerNode | null): NodeRefusal | null {
    if (node === null) return { down: true };
    if (this.ctx.leading(nodeId)) return null;
    return { down: false, leaderAddress: node.driver.status().leaderAddress };
  }

  /** Sends a frame on `stream`: it arrives after a trip, and after the frames sent on it before. */
  private toStream(stream: SimStream, deliver: () => void): void {
    const { ctx } = this;
    const arrivesAtMs = Math.max(ctx.now + ctx.delay(), this.streamArrivals.get(stream.id) ?? 0);
    this.streamArrivals.set(stream.id, arrivesAtMs);
    ctx.cluster.schedule(arrivesAtMs - ctx.now, deliver);
  }

  /** After the run: every replica applied the same log and ends in the same state, which survives a snapshot. */
  checkConvergence(): void {
    const { cluster } = this.ctx;
    const images = cluster.ids.map((id) => Buffer.from(this.nodes.get(id)!.machine.snapshot()));
    for (const [i, image] of images.entries()) {
      const id = cluster.ids[i]!;
      if (!image.equals(images[0]!))
        this.divergences.push(
          `${id} (${cluster.isUp(id) ? 'up' : 'down'}, applied ${cluster.node(id).sm.appliedIndex}) ended in a different state than ${cluster.ids[0]} (applied ${cluster.node(cluster.ids[0]!).sm.appliedIndex})`,
        );
    }
    const restored = this.newMachine();
    restored.restore(images[0]!);
    if (!Buffer.from(restored.snapshot()).equals(images[0]!))
      this.divergences.push('the final state did not survive a snapshot');
  }

  private newMachine(): ObservedLockStateMachine {
    return new ObservedLockStateMachine({ lockDelayMs: this.ctx.lockDelayMs, maxWaitersPerLock: 4 });
  }

  /** The server of `id` while its incarnation runs. */
  private running(id: NodeId): ServerNode | null {
    const node = this.nodes.get(id);
    return node !== undefined && this.ctx.cluster.node(id).driver === node.driver ? node : null;
  }

  /** `sessionId`'s stream is now `stream` on `node` (an open or a resume); any other one ended. */
  private attach(node: ServerNode, sessionId: string, client: SimLockClient, stream: SimStream): void {
    for (const other of this.nodes.values()) other.attached.delete(sessionId);
    node.attached.set(sessionId, { client, stream });
    node.lastKeepaliveSeq.delete(sessionId); // a new stream's frames name its own keepalives (0: its open)
  }

  /** The advice timer of one incarnation: the SPM and the ladder assess the holds and act through LeaderDuties. */
  private runAdvice(node: ServerNode): void {
    const { ctx } = this;
    if (ctx.stopped || this.running(node.id) !== node) return;
    if (node.duties.active) node.advisor.evaluate(ctx.now, node.duties);
    ctx.cluster.schedule(ADVICE_MS, () => this.runAdvice(node));
  }

  /**
   * A frame the advisor sends to `sessionId`'s stream on `nodeId`: it arrives when the client's stream is on that
   * node (a Pre-emption Request's grace counts from the last keepalive the node answered, as the SDK counts it from
   * the keepalive the frame names). Warnings are counted and left unanswered: the ladder then escalates.
   */
  private pushFrame(nodeId: NodeId, sessionId: string, payload: ServerFramePayload): boolean {
    const { ctx } = this;
    const attached = this.nodes.get(nodeId)?.attached.get(sessionId);
    if (attached === undefined) {
      if ('preemption' in payload) ctx.count('preemptionFramesLost');
      return false;
    }
    if ('warning' in payload) ctx.count('warnings');
    if (!('preemption' in payload)) return true;
    const request = payload.preemption;
    // The frame names the last keepalive this node answered on the session (0, its open, when none).
    const seq = this.nodes.get(nodeId)?.lastKeepaliveSeq.get(sessionId) ?? 0;
    const token = BigInt(request.token);
    const { resourceId, graceMs } = request;
    const { client, stream } = attached;
    this.toStream(stream, () => this.clients().onPreemption(client, stream, resourceId, token, seq, graceMs));
    return true;
  }

  /** The duty timer of one incarnation (ForelockServices' setInterval), plus what the RPH and operators start. */
  private runDuties(node: ServerNode): void {
    const { ctx } = this;
    if (ctx.stopped || this.running(node.id) !== node) return;
    void node.duties.runDue();
    if (node.duties.active && ctx.accepting) {
      if (ctx.rng.chance(0.01)) this.requestPreemption(node);
      if (ctx.rng.chance(0.002)) this.operatorRevoke(node);
    }
    ctx.cluster.schedule(DUTY_MS, () => this.runDuties(node));
  }

  /**
   * What the RPH does to a holder others wait for: hold its promise (LeaderDuties.holdForPreemption), send a
   * Pre-emption Request with a grace counted from the last keepalive it answered, and when the grace ends ask
   * LeaderDuties to revoke (preemptNow), which then happens no earlier than the held promise.
   */
  private requestPreemption(node: ServerNode): void {
    const { ctx } = this;
    const { rng, cluster } = ctx;
    const contended = node.machine.locks().filter((l) => l.holders.length > 0 && l.waiters.length > 0);
    if (contended.length === 0) return;
    const lock = rng.pick(contended);
    const name = lock.name;
    const target = rng.pick(lock.holders);
    const { sessionId, token, fenced } = target;
    if (node.tracker.revocation(name, sessionId)) return;
    if (node.tracker.promisedUntil(sessionId) === undefined) return;
    const seq = node.lastKeepaliveSeq.get(sessionId);
    if (seq === undefined) return; // it must name a keepalive it answered
    const graceMs = rng.uniform(300, 2_500);
    node.duties.holdForPreemption(name, token, sessionId, fenced, SIMULATED_CONTENTION);
    const attached = node.attached.get(sessionId);
    if (attached === undefined) ctx.count('preemptionFramesLost');
    else {
      const { client, stream } = attached;
      this.toStream(stream, () => this.clients().onPreemption(client, stream, name, token, seq, graceMs));
    }
    cluster.schedule(graceMs, () => {
      if (this.running(node.id) !== node || !node.duties.active) return;
      const stillHeld = node.machine.lock(name)?.holders.some((holder) => holder.token === token) ?? false;
      if (stillHeld && node.tracker.promisedUntil(sessionId) !== undefined) {
        node.duties.preemptNow(name, token, sessionId, fenced);
      }
    });
  }

  /** `forelock revoke` on the leader: forced (at once) or ordinary (at the end of the holder's promise). */
  private operatorRevoke(node: ServerNode): void {
    const { rng } = this.ctx;
    const held = node.machine.locks().filter((l) => l.holders.length > 0);
    if (held.length === 0) return;
    const lock = rng.pick(held);
    const holder = rng.pick(lock.holders);
    const force = rng.chance(0.5);
    if (!force) {
      // An ordinary revoke holds the promise from when LeaderDuties takes it (after a read barrier), no earlier
      // than now: the promise recorded so far is a bound the revocation must respect.
      this.ctx.history.push({
        kind: 'revocation-requested',
        session: holder.sessionId,
        lock: lock.name,
        token: holder.token,
        atMs: this.ctx.now,
      });
    }
    const reason = 'simulated operator';
    // As the Admin service's Revoke does: a Pre-emption Request to each holder whose revocation comes later, sent as
    // soon as the revocation time is fixed.
    node.duties
      .revoke(lock.name, holder.sessionId, force, reason, (scheduled) => {
        for (const each of operatorPreemptionRequests(lock.name, scheduled, reason)) {
          this.pushFrame(node.id, each.sessionId, { preemption: each.preemption });
        }
      })
      .catch(() => {});
  }

  /**
   * One entry applied on `id` (a batch's commands in order): checked against the other replicas, recorded once,
   * command by command, pushed to connected clients.
   */
  private apply(id: NodeId, machine: ObservedLockStateMachine, events: LockEvent[], entry: Entry): LockResult {
    const commands: AppliedCommand[] = [];
    let firstEvent = 0;
    let wasWaiting = false;
    events.length = 0;
    machine.observer = {
      before: ({ command }) => {
        firstEvent = events.length;
        wasWaiting =
          command.type === 'acquire' && (machine.session(command.sessionId)?.waiting.includes(command.name) ?? false);
      },
      after: (part, result) => commands.push({ entry: part, result, events: events.slice(firstEvent), wasWaiting }),
    };
    let result: LockResult;
    try {
      result = machine.apply(entry);
    } finally {
      machine.observer = null;
    }
    const applied = [...events];
    const signature = JSON.stringify({ result, events: applied }, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
    const known = this.signatures.get(entry.index);
    if (known === undefined) this.signatures.set(entry.index, signature);
    else if (known !== signature)
      this.divergences.push(`${id} applied index ${entry.index} as ${signature}, not ${known}`);
    if (entry.index > this.highestAppliedIndex) {
      this.highestAppliedIndex = entry.index;
      if (commands.length > 1) this.ctx.count('batchEntries');
      for (const command of commands) this.record(command.entry, command.result, command.events, command.wasWaiting);
    }
    this.push(id, applied);
    return result;
  }

  /** What the node's session streams push: grants of queued acquires, revocations and session ends. */
  private push(id: NodeId, events: readonly LockEvent[]): void {
    const clients = this.clients();
    const node = this.nodes.get(id);
    if (node === undefined || this.running(id) !== node) return;
    for (const event of events) {
      if (event.type !== 'granted' && event.type !== 'revoked' && event.type !== 'session-ended') continue;
      const attached = node.attached.get(event.sessionId);
      if (attached === undefined) continue; // the session's stream is on another node, or on none
      const { client, stream } = attached;
      if (event.type === 'revoked') {
        this.toStream(stream, () => clients.onRevoked(client, stream, event.name, event.token));
      } else if (event.type === 'session-ended') {
        this.toStream(stream, () => clients.onSessionExpired(client, stream));
      } else {
        const granted: LockResult = { status: 'granted', token: event.token, grantedAtMs: event.atMs };
        this.toStream(stream, () => clients.onAnswer(client, stream, event.requestSeq, granted));
      }
    }
  }

  /** The log's effects, in log order, as the checker reads them. */
  private record(entry: LockEntry, result: LockResult, events: readonly LockEvent[], wasWaiting: boolean): void {
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
}

/** A failure to open a stream, or its end, as the SDK receives it (SessionStream's errors, errorFromGrpc's reading). */
function clientErrorOf(error: unknown): ForelockError {
  if (error instanceof RaftNotLeaderError) return new NotLeaderError(error.message, error.leaderAddress ?? undefined);
  if (error instanceof SessionNotFoundError) return new SessionExpiredError(error.message, 'not-found');
  return errorFromServerCode(refusalOf(error));
}
