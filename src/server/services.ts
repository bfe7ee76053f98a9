// The client and admin services of one node over any RaftNodeApi: lock service, session hub, leader duties,
// metrics, and their registration on a grpc.Server. The node process (node-server.ts) adds Raft, HTTP and flags.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { LockStateMachine } from '../lock/state-machine.js';
import { RaftNotLeaderError } from '../raft/errors.js';
import type { RaftNodeApi } from '../raft/node-api.js';
import type { LadderConfig, PreemptionMode } from '../rph/types.js';
import { SessionTracker } from '../session/tracker.js';
import { defaultSpmConfig } from '../spm/config.js';
import type { SpmConfig } from '../spm/types.js';
import { type Clock, systemClock } from '../util/clock.js';
import { forelockServices } from '../util/proto.js';
import { withFastSessionCodec } from '../util/session-frame-codec.js';
import { AdminForwarder } from './admin-forwarder.js';
import { adminHandlers } from './admin-service.js';
import { authHandlers } from './auth-service.js';
import { Authenticator, type CredentialCarrier } from './authenticator.js';
import type { ClientLinkFaults } from './client-link-faults.js';
import { limitRequestSize } from './frame-limit.js';
import { LeaderDuties } from './leader-duties.js';
import { LoadSampler } from './load-sampler.js';
import { LockService } from './lock-service.js';
import { ServerMetrics } from './metrics.js';
import { SessionHub } from './session-hub.js';
import { channelFrameCodec, SessionMux, type SessionsCall } from './session-mux.js';
import { type SessionCall, SessionStream } from './session-stream.js';
import { StalenessAdvisor } from './staleness.js';
import { TraceRecorder, type TraceSink } from './trace-recorder.js';

/** How often the leader assesses the held locks that are due (warnings, pre-emption), in ms. */
const ADVICE_INTERVAL_MS = 250;
/** How often the node's own load is sampled for the SPM, in ms. */
const LOAD_SAMPLE_INTERVAL_MS = 1_000;

/** How the services of one node are built. */
export interface ForelockServicesOptions {
  readonly raft: RaftNodeApi;
  readonly machine: LockStateMachine;
  readonly log: Logger;
  /** Largest client or admin request accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** The leader's clock (entry timestamps, promises). Default: the system clock. */
  readonly clock?: Clock;
  /** `on`: warn and pre-empt; `warn-only`: warn and shorten guarantees; `off`: the TTL for all, no warnings. */
  readonly preemption: PreemptionMode;
  /** SPM settings that differ from the defaults (the --config file's `spm`). */
  readonly spm?: Partial<SpmConfig>;
  /** Ladder timings that differ from the defaults (the --config file's `ladder`). */
  readonly ladder?: Partial<Omit<LadderConfig, 'mode'>>;
  /** How often the leader checks for expiries, due revocations and lock-delay ends, in ms. Default 50. */
  readonly dutyIntervalMs?: number;
  /**
   * How long a deposed leader may still answer keepalives after this node's election (SessionTrackerOptions):
   * a new leader adds it to every session's TTL before expiring anything. Default 0.
   */
  readonly deposedLeaderOverhangMs?: number;
  /** `--record-trace`: the leader writes the SPM's inputs as a trace named `name` to `sink`, `maxBytes` a file. */
  readonly recordTrace?: { readonly sink: TraceSink; readonly name: string; readonly maxBytes: number };
  /** Test-only latency on client links (`--test-fault-injection`). */
  readonly linkFaults?: ClientLinkFaults;
  /** Credentials this node dials other members with (forwarded Admin calls); default plaintext. */
  readonly peerCredentials?: () => grpc.ChannelCredentials;
  /** How long a login token lives (`--auth-token-ttl`); default AUTH_TOKEN_TTL_MS. */
  readonly authTokenTtlMs?: number;
}

/** The Forelock and Admin services of one node, with the leader's background duties. */
export class ForelockServices {
  readonly metrics: ServerMetrics;
  readonly service: LockService;
  readonly hub: SessionHub;
  readonly duties: LeaderDuties;
  readonly advisor: StalenessAdvisor;
  private readonly timers: NodeJS.Timeout[];
  /** The pass armed at the ladder's next deadline, if one falls between two regular passes. */
  private deadlineTimer: NodeJS.Timeout | null = null;
  private readonly clock: Clock;
  private readonly unsubscribe: (() => void)[];
  /** The Sessions streams open on this node. */
  private readonly muxes = new Set<SessionMux>();
  /** Sends leader-only Admin calls that reach this node as a follower on to the leader. */
  private readonly adminForwarder: AdminForwarder;
  /** Who is calling and what it may do, from the replicated auth state. */
  readonly authenticator: Authenticator;

  constructor(private readonly options: ForelockServicesOptions) {
    const { raft, machine, log } = options;
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    this.metrics = new ServerMetrics({
      status: () => raft.status(),
      sessionCount: () => machine.sessionCount(),
      connectedSessionCount: () => this.hub.size,
      lockCount: () => machine.lockCount(),
      eventLoopDelayMs: () => raft.eventLoopDelayMs(),
      eventLoopStallMs: () => raft.eventLoopStallMs(),
      preemptionSuspended: () => this.advisor.predictor.thresholds(clock.now()).preemptionSuspended,
    });
    const tracker = new SessionTracker({ deposedLeaderOverhangMs: options.deposedLeaderOverhangMs ?? 0 });
    this.hub = new SessionHub(machine, raft);
    this.authenticator = new Authenticator({
      auth: machine.auth,
      clock,
      log,
      metrics: this.metrics,
      ...(options.authTokenTtlMs === undefined ? {} : { tokenTtlMs: options.authTokenTtlMs }),
    });
    this.adminForwarder = new AdminForwarder(raft, options.peerCredentials);
    this.advisor = new StalenessAdvisor(
      {
        machine,
        tracker,
        hub: this.hub,
        clock,
        metrics: this.metrics,
        mode: options.preemption,
        spm: options.spm,
        ladder: options.ladder,
        ...(options.recordTrace === undefined ? {} : { recorder: this.traceRecorder(options.recordTrace) }),
        // Taking office indexes the held locks a few thousand per turn, so that heartbeats go on meanwhile.
        defer: (work) => setImmediate(work),
      },
      ADVICE_INTERVAL_MS,
    );
    this.service = new LockService({
      raft,
      machine,
      tracker,
      clock,
      guarantees: this.advisor,
      metrics: this.metrics,
      onOutcomeError: (error) => log.error({ err: error }, 'answering a lock command failed'),
    });
    const logProposalError = (error: unknown): void => {
      if (error instanceof RaftNotLeaderError) log.debug({ err: error }, 'leader duty skipped: not the leader');
      else log.warn({ err: error }, 'leader duty proposal failed');
    };
    this.duties = new LeaderDuties(raft, this.service, tracker, clock, logProposalError);
    this.unsubscribe = [
      raft.onStatusChange((status) => {
        this.duties.statusChanged(status);
        this.metrics.observeStatus(status);
      }),
      this.duties.onTookOffice((nowMs) => this.advisor.tookOffice(nowMs)),
      machine.onEvent((event) => {
        this.duties.applied(event);
        this.advisor.applied(event);
        if (event.type === 'granted') {
          this.metrics.grants.inc();
          this.metrics.acquireWait.observe(event.waitedMs / 1_000);
        } else if (event.type === 'released') this.metrics.releases.inc();
        else if (event.type === 'revoked') this.metrics.revocations.inc();
        else if (event.type === 'session-ended' && event.expired) this.metrics.expiries.inc();
      }),
    ];
    this.duties.statusChanged(raft.status());
    this.metrics.observeStatus(raft.status());
    const load = new LoadSampler(() => raft.eventLoopDelayMs(), clock);
    this.timers = [
      setInterval(() => {
        this.duties.runDue();
      }, options.dutyIntervalMs ?? 50),
      setInterval(() => this.advise(), ADVICE_INTERVAL_MS),
      setInterval(() => this.advisor.observeLoad(load.sample()), LOAD_SAMPLE_INTERVAL_MS),
    ];
    for (const timer of this.timers) timer.unref();
  }

  /**
   * Runs the SPM and the ladder now, and again at the ladder's next deadline when that comes within one advice
   * interval (a Pre-emption Request or a revocation is then not held up by the interval's granularity).
   */
  private advise(): void {
    const nowMs = this.clock.now();
    this.advisor.evaluate(nowMs, this.duties);
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    const dueMs = this.advisor.ladder.nextDeadlineMs();
    if (dueMs === null || dueMs <= nowMs || dueMs >= nowMs + ADVICE_INTERVAL_MS) return;
    this.deadlineTimer = setTimeout(() => this.advise(), dueMs - nowMs);
    this.deadlineTimer.unref();
  }

  /** The recorder of `--record-trace`: only the leader in office records, from the replicated state. */
  private traceRecorder(recordTrace: NonNullable<ForelockServicesOptions['recordTrace']>): TraceRecorder {
    const { machine } = this.options;
    const ttlMs = this.options.spm?.ttlMs ?? defaultSpmConfig.ttlMs;
    return new TraceRecorder({
      name: recordTrace.name,
      ttlMs,
      keepaliveMs: Math.max(1, Math.floor(ttlMs / 3)),
      maxBytes: recordTrace.maxBytes,
      sink: recordTrace.sink,
      recording: () => this.duties?.active === true,
      state: {
        sessions: () => machine.sessions(),
        sessionTtlMs: (sessionId) => machine.sessionTtlMs(sessionId),
        holds: () =>
          machine
            .locks()
            .flatMap((view) => view.holders.map((holder) => ({ sessionId: holder.sessionId, resource: view.name }))),
      },
    });
  }

  /** Adds the Forelock and Admin services to `server` (with the client request size limit, and the fast frame codec). */
  register(server: grpc.Server): void {
    const { Forelock, Admin } = forelockServices();
    const { raft, log, maxMessageBytes } = this.options;
    const clock = this.options.clock ?? systemClock;
    const fast = withFastSessionCodec(Forelock.service);
    const limited = limitRequestSize(fast, maxMessageBytes);
    const streamDeps = {
      service: this.service,
      hub: this.hub,
      advisor: this.advisor,
      raft,
      clock,
      log,
      authenticator: this.authenticator,
      ...(this.options.linkFaults === undefined ? {} : { linkFaults: this.options.linkFaults }),
    };
    server.addService(
      // A Sessions batch may carry many frames: each frame is held to the limit instead (with Session's decoder).
      { ...limited, Sessions: fast.Sessions! },
      {
        Session: (call: SessionCall & CredentialCarrier) => {
          new SessionStream(call, streamDeps, call);
        },
        Sessions: (call: SessionsCall) => {
          // Every channel is authenticated by the credentials of the Sessions call that carries it.
          const mux = new SessionMux(call, channelFrameCodec(limited.Session!), (channel) => {
            new SessionStream(channel, streamDeps, call);
          });
          this.muxes.add(mux);
          for (const event of ['close', 'cancelled', 'error']) call.on(event, () => this.muxes.delete(mux));
        },
      },
    );
    const authenticator = this.authenticator;
    server.addService(limitRequestSize(Admin.service, maxMessageBytes), {
      ...adminHandlers({
        raft,
        service: this.service,
        duties: this.duties,
        hub: this.hub,
        forwarder: this.adminForwarder,
        authenticator,
        log,
      }),
      ...authHandlers({ service: this.service, forwarder: this.adminForwarder, authenticator, log }),
    });
  }

  /** Stops the duties and ends every connected session stream (clients then look for another node). */
  close(): void {
    for (const timer of this.timers) clearInterval(timer);
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.hub.close();
    this.adminForwarder.close();
    // The hub told every channel where to go; a Sessions stream would otherwise outlive its last channel.
    for (const mux of this.muxes) mux.close();
    this.muxes.clear();
  }
}
