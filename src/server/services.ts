// The client and admin services of one node over any RaftNodeApi: lock service, session hub, leader duties,
// metrics, and their registration on a grpc.Server. The node process (node-server.ts) adds Raft, HTTP and flags.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { LockStateMachine } from '../lock/state-machine.js';
import { NotLeaderError } from '../raft/errors.js';
import type { RaftNodeApi } from '../raft/node-api.js';
import { SessionTracker } from '../session/tracker.js';
import { type Clock, systemClock } from '../util/clock.js';
import { forelockServices } from '../util/proto.js';
import { adminHandlers } from './admin-service.js';
import { limitRequestSize } from './frame-limit.js';
import { type GuaranteePolicy, ttlGuarantee } from './guarantee.js';
import { LeaderDuties } from './leader-duties.js';
import { LockService } from './lock-service.js';
import { ServerMetrics } from './metrics.js';
import { SessionHub } from './session-hub.js';
import { type SessionCall, SessionStream } from './session-stream.js';

/** How the services of one node are built. */
export interface ForelockServicesOptions {
  readonly raft: RaftNodeApi;
  readonly machine: LockStateMachine;
  readonly log: Logger;
  /** Largest client or admin request accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** The leader's clock (entry timestamps, promises). Default: the system clock. */
  readonly clock?: Clock;
  /** Default: every session is promised its TTL. */
  readonly guarantees?: GuaranteePolicy;
  /** How often the leader checks for expiries, due revocations and lock-delay ends, in ms. Default 50. */
  readonly dutyIntervalMs?: number;
  /**
   * How long a deposed leader may still answer keepalives after this node's election (SessionTrackerOptions):
   * a new leader adds it to every session's TTL before expiring anything. Default 0.
   */
  readonly deposedLeaderOverhangMs?: number;
}

/** The Forelock and Admin services of one node, with the leader's background duties. */
export class ForelockServices {
  readonly metrics: ServerMetrics;
  readonly service: LockService;
  readonly hub: SessionHub;
  readonly duties: LeaderDuties;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: (() => void)[];

  constructor(private readonly options: ForelockServicesOptions) {
    const { raft, machine, log } = options;
    const clock = options.clock ?? systemClock;
    this.metrics = new ServerMetrics({
      status: () => raft.status(),
      sessionCount: () => machine.sessions().length,
      connectedSessionCount: () => this.hub.size,
      lockCount: () => machine.locks().length,
      eventLoopDelayMs: () => raft.eventLoopDelayMs(),
    });
    const tracker = new SessionTracker({ deposedLeaderOverhangMs: options.deposedLeaderOverhangMs ?? 0 });
    this.service = new LockService({
      raft,
      machine,
      tracker,
      clock,
      guarantees: options.guarantees ?? ttlGuarantee,
      metrics: this.metrics,
    });
    this.hub = new SessionHub(machine, raft);
    const logProposalError = (error: unknown): void => {
      if (error instanceof NotLeaderError) log.debug({ err: error }, 'leader duty skipped: not the leader');
      else log.warn({ err: error }, 'leader duty proposal failed');
    };
    this.duties = new LeaderDuties(raft, this.service, tracker, clock, logProposalError);
    this.unsubscribe = [
      raft.onStatusChange((status) => {
        this.duties.statusChanged(status);
      }),
      machine.onEvent((event) => {
        this.duties.applied(event);
        if (event.type === 'granted') this.metrics.grants.inc();
        else if (event.type === 'released') this.metrics.releases.inc();
        else if (event.type === 'revoked') this.metrics.revocations.inc();
        else if (event.type === 'session-ended' && event.expired) this.metrics.expiries.inc();
      }),
    ];
    this.duties.statusChanged(raft.status());
    this.timer = setInterval(() => {
      this.duties.runDue();
    }, options.dutyIntervalMs ?? 50);
    this.timer.unref();
  }

  /** Adds the Forelock and Admin services to `server` (with the client request size limit). */
  register(server: grpc.Server): void {
    const { Forelock, Admin } = forelockServices();
    const { raft, log, maxMessageBytes } = this.options;
    const clock = this.options.clock ?? systemClock;
    server.addService(limitRequestSize(Forelock.service, maxMessageBytes), {
      Session: (call: SessionCall) => {
        new SessionStream(call, { service: this.service, hub: this.hub, raft, clock, log });
      },
    });
    server.addService(
      limitRequestSize(Admin.service, maxMessageBytes),
      adminHandlers({ raft, service: this.service, duties: this.duties, log }),
    );
  }

  /** Stops the duties and ends every connected session stream (clients then look for another node). */
  close(): void {
    clearInterval(this.timer);
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.hub.close();
  }
}
