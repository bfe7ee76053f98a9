// One client's session stream on the leader: open/resume, keepalives, acquire/release/cancel with request
// sequence numbers, and the pushes (later grants, revocations, session end, NotLeader) that ride back on it.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { type LockCommand, type LockEvent, WAIT_WITHOUT_LIMIT_MS } from '../lock/commands.js';
import { RaftNotLeaderError } from '../raft/errors.js';
import type { RaftNodeApi } from '../raft/node-api.js';
import type { Clock } from '../util/clock.js';
import type { Authenticator, Caller, CredentialCarrier } from './authenticator.js';
import { type ClientLinkFaults, DelayedDelivery } from './client-link-faults.js';
import {
  InvalidRequestError,
  PermissionDeniedError,
  RequestRefusedError,
  SessionNotFoundError,
  StreamSupersededError,
  UnauthenticatedError,
} from './errors.js';
import { OversizedRequest } from './frame-limit.js';
import { refusalOf, toServiceError } from './grpc-status.js';
import type { AcceptedResult, LockService, ResumedSession } from './lock-service.js';
import type { ConnectedStream, SessionHub } from './session-hub.js';
import type { StalenessAdvisor } from './staleness.js';
import {
  type ClientFrame,
  heldLocksOf,
  modeFromWire,
  modeToWire,
  requestSeqFromWire,
  type ServerFramePayload,
  scheduledRevocationRequestsOf,
  tokenFromWire,
} from './wire.js';

/**
 * What a session stream is served on: a Forelock.Session call of its own, or one channel of a Sessions call
 * (session-mux.ts), which behaves the same. `emit('error', status)` ends it with that status, as on a grpc-js call.
 * write() answers false when the call's buffer is full: the stream then pauses reading its client's frames until
 * 'drain', and while MAX_REQUESTS_IN_FLIGHT of its requests await their answers, so a client that does not read its
 * answers cannot make the node queue ever more of them (docs/design.md, flow control on the shared stream).
 */
export interface SessionCall {
  on(event: 'data', listener: (frame: ClientFrame | OversizedRequest) => void): unknown;
  on(event: 'end' | 'error' | 'close' | 'cancelled' | 'drain', listener: () => void): unknown;
  write(frame: unknown): unknown;
  pause(): unknown;
  resume(): unknown;
  end(): unknown;
  emit(event: 'error', status: Partial<grpc.ServiceError>): unknown;
  /**
   * True once the client cancelled the call or went away (grpc-js sets it before 'cancelled'; a process killed with
   * kill -9 has its socket closed by its kernel). A call the node ended itself is not cancelled.
   */
  readonly cancelled: boolean;
}

type GrantedEvent = Extract<LockEvent, { type: 'granted' }>;

/**
 * Most requests of one stream submitted and not yet answered; past it the stream reads no more of its frames until an
 * answer goes. With the call's own buffer mark it bounds what the node queues for one client: answers leave
 * asynchronously, so a stream paused only once write() answered false would, on 'drain', take every frame that waited
 * at once and owe all their answers.
 */
export const MAX_REQUESTS_IN_FLIGHT = 1024;

/** What a session stream needs from the node. */
export interface SessionStreamDeps {
  readonly service: LockService;
  readonly hub: SessionHub;
  readonly advisor: StalenessAdvisor;
  readonly raft: RaftNodeApi;
  readonly clock: Clock;
  readonly log: Logger;
  /** Test-only latency on client links (`--test-fault-injection`): absent in production. */
  readonly linkFaults?: ClientLinkFaults;
  /** Who is calling and what it may do (auth). */
  readonly authenticator: Authenticator;
}

/** Serves one Forelock.Session call (see proto/forelock/v1/forelock.proto for the frame rules). */
export class SessionStream implements ConnectedStream {
  private sessionId: string | null = null;
  /** Whether the first frame (open or resume) has arrived. */
  private opening = false;
  /** Frames that arrived while the open was being handled, handled in order once it is. Null once open. */
  private waitingForOpen: ClientFrame[] | null = [];
  /** The last keepalive seq received (uint64 decimal string), named in every frame sent. */
  private lastKeepaliveSeq = '0';
  /** Acquires being proposed: their grant events are answered by the proposal, not pushed twice. */
  private readonly acquiresInFlight = new Map<number, GrantedEvent | null>();
  /** Requests (acquire, release, cancel) submitted and not yet answered. */
  private requestsInFlight = 0;
  /** The call's last write answered false and it has not drained since. */
  private callFull = false;
  /** Reading the client's frames is paused (readWhileAnswerable). */
  private readingPaused = false;
  /** A CloseSession proposed and not yet settled. */
  private closeInFlight = false;
  /** The session ended (this reason) while requests were in flight: SessionEnded follows their answers. */
  private endedReason: 'expired' | 'closed' | null = null;
  /** This node stopped leading: nothing more is served, and NotLeader follows once the new leader is known. */
  private deposed = false;
  /** The client half-closed: the stream ends once everything it sent has been answered. */
  private halfClosed = false;
  /** The staleness advisor was told that the client went away (once per stream). */
  private disconnectReported = false;
  private ended = false;
  /** With test link faults: the delivery line of this client's frames and the client's name. */
  private link: DelayedDelivery<ClientFrame | OversizedRequest | 'end'> | null = null;
  private linkClientName = '';

  /** Who opened the stream; re-checked at every frame, so a removed or changed user is locked out at once. */
  private caller: Caller | null = null;

  constructor(
    private readonly call: SessionCall,
    private readonly deps: SessionStreamDeps,
    /** The gRPC call whose credentials (token, client certificate) authenticate this stream. */
    private readonly credentials: CredentialCarrier,
  ) {
    const faults = deps.linkFaults;
    if (faults === undefined) {
      call.on('data', (frame: ClientFrame | OversizedRequest) => this.receive(frame));
      call.on('end', () => this.clientDone());
    } else {
      // Frames from a client whose link has a test fault reach the node that much later, in order (the half-close
      // too: it comes after every frame sent before it).
      const link = new DelayedDelivery<ClientFrame | OversizedRequest | 'end'>(
        (item) => (item === 'end' ? this.clientDone() : this.receive(item)),
        () => deps.clock.now(),
      );
      this.link = link;
      call.on('data', (frame: ClientFrame | OversizedRequest) => {
        if (!(frame instanceof OversizedRequest) && frame.open !== undefined)
          this.linkClientName = frame.open.clientName;
        link.push(frame, faults.delayMs(this.linkClientName));
      });
      call.on('end', () => link.push('end', 0));
    }
    call.on('drain', () => {
      this.callFull = false;
      this.readWhileAnswerable();
    });
    // The client went away (or the call failed): nothing more can be written; the session itself lives on.
    for (const event of ['error', 'close', 'cancelled'] as const) call.on(event, () => this.gone());
  }

  private receive(frame: ClientFrame | OversizedRequest): void {
    if (this.ended || this.deposed) return;
    if (frame instanceof OversizedRequest) {
      // A request of an open session is refused alone (its session goes on); anything else ends the stream.
      const request = this.opening && this.waitingForOpen === null ? requestOf(frame.decoded) : null;
      if (request === null) this.fail(frame.error);
      else
        this.refuse(
          request.requestSeq,
          request.name,
          new InvalidRequestError(`${frame.error.message} (maxMessageBytes)`),
        );
      return;
    }
    if (!this.opening) {
      this.opening = true;
      this.open(frame).then(
        () => this.openHandled(),
        (error: unknown) => this.fail(error),
      );
      return;
    }
    if (this.waitingForOpen !== null) this.waitingForOpen.push(frame);
    else this.handle(frame);
  }

  /** The open is answered: the frames that came meanwhile are handled now, in order, and later ones as they come. */
  private openHandled(): void {
    const waiting = this.waitingForOpen ?? [];
    this.waitingForOpen = null;
    for (const frame of waiting) this.handle(frame);
    this.finishIfAnswered();
  }

  /**
   * The client half-closed (it sends nothing more, and still reads). What it sent before is answered first: a
   * CloseSession followed at once by a half-close is committed and answered with SessionEnded{closed}.
   */
  private clientDone(): void {
    this.halfClosed = true;
    this.clientWentAway();
    this.finishIfAnswered();
  }

  /**
   * Ends the stream once everything sent before has been answered: after the session ended (SessionEnded comes after
   * the answers of requests applied before the end), or after a half-close (once the open, the requests and any
   * CloseSession are answered).
   */
  private finishIfAnswered(): void {
    if (this.requestsInFlight > 0) return;
    if (this.endedReason !== null) {
      this.send({ ended: { reason: this.endedReason } });
      this.finish();
      return;
    }
    const openPending = this.opening && this.waitingForOpen !== null;
    if (this.halfClosed && !openPending && !this.closeInFlight) this.finish();
  }

  /** Counts a request until the function returned runs (once it is answered, either way). */
  private track(): () => void {
    this.requestsInFlight += 1;
    this.readWhileAnswerable();
    return () => {
      this.requestsInFlight -= 1;
      this.readWhileAnswerable();
      this.finishIfAnswered();
    };
  }

  // ---- opening ----

  private async open(frame: ClientFrame): Promise<void> {
    if (frame.frame !== 'open' || frame.open === undefined) {
      throw new InvalidRequestError(`the first frame of a session stream must be "open", got "${frame.frame}"`);
    }
    const { service, raft, clock } = this.deps;
    if (raft.status().role !== 'leader') {
      // A node that knows no leader yet (restarting, or between leaders) names it as soon as it learns it, itself
      // included: the client dials that node at once instead of after a backoff (issue 13: a restarted node's
      // sessions came back up to a backoff after it took office). Never for longer than the hub's hint wait.
      this.deps.hub.whenLeaderKnown((leaderId, leaderAddress) => this.leadershipLost(leaderId, leaderAddress));
      return;
    }
    const receivedAtMs = clock.now();
    const { clientName, ttlMs, sessionId, secret } = frame.open;
    const caller = this.deps.authenticator.callerOf(this.credentials, 'OpenSession');
    this.caller = caller;
    if (sessionId === '') {
      const opened = await service.openSession(clientName, ttlMs, receivedAtMs, caller.user ?? '');
      this.bind(opened.sessionId);
      this.send({
        opened: {
          sessionId: opened.sessionId,
          secret: opened.secret,
          ttlMs: opened.ttlMs,
          guaranteeMs: opened.guarantee.guaranteeMs,
          keepaliveIntervalMs: opened.guarantee.keepaliveIntervalMs,
          leaderId: raft.id,
          held: [],
        },
      });
      this.deps.log.debug({ sessionId: opened.sessionId, clientName, ttlMs }, 'session opened');
      return;
    }
    let resumed: ResumedSession;
    try {
      resumed = await service.resumeSession(sessionId, secret, receivedAtMs);
      this.requireSameUser(caller, resumed.session.user, sessionId);
    } catch (error) {
      if (error instanceof SessionNotFoundError) this.send({ ended: { reason: 'not-found' } });
      throw error;
    }
    this.bind(sessionId);
    // The session's own locks only: a resume costs what the session holds, not what the cluster holds.
    const holds = service.machine.sessionHolds(sessionId);
    this.send({
      opened: {
        sessionId,
        secret: '',
        ttlMs: resumed.session.ttlMs,
        guaranteeMs: resumed.guarantee.guaranteeMs,
        keepaliveIntervalMs: resumed.guarantee.keepaliveIntervalMs,
        leaderId: raft.id,
        held: heldLocksOf(holds),
      },
    });
    // An operator's revoke scheduled while the session was away: its Pre-emption Request may never have arrived.
    for (const request of scheduledRevocationRequestsOf(holds, this.deps.clock.now())) {
      this.send({ preemption: request });
    }
    this.deps.log.debug({ sessionId }, 'session resumed');
  }

  /**
   * With auth enabled, only the user that opened a session may resume it (its secret alone does not move it to
   * another user). A session opened while auth was disabled belongs to nobody: any authenticated caller that has its
   * secret may resume it, so enabling auth does not end the sessions of clients that were given credentials first.
   */
  private requireSameUser(caller: Caller, owner: string, sessionId: string): void {
    if (!this.deps.authenticator.enabled || owner === '' || caller.user === owner) return;
    throw new PermissionDeniedError(
      `session ${sessionId} was opened by user "${owner}"; user "${caller.user}" may not resume it`,
    );
  }

  /** The stream's caller as it stands now (UnauthenticatedError once its user was removed or changed). */
  private currentCaller(action: string): Caller {
    this.caller = this.deps.authenticator.current(this.caller!, this.credentials, action);
    return this.caller;
  }

  private bind(sessionId: string): void {
    if (this.ended) return;
    this.sessionId = sessionId;
    this.deps.hub.attach(sessionId, this);
    // Leadership may have moved while the open was in flight, after the hub ended this node's streams.
    this.deps.service.requireLeader();
  }

  // ---- frames of an open session ----

  /** Handles one frame of an open session (synchronously: requests are submitted in the order they came). */
  private handle(frame: ClientFrame): void {
    const sessionId = this.sessionId;
    if (this.ended || this.deposed || this.endedReason !== null || sessionId === null) return;
    try {
      this.currentCaller(frame.frame ?? 'frame');
      switch (frame.frame) {
        case 'keepalive':
          this.keepalive(sessionId, frame.keepalive!);
          return;
        case 'acquire':
          this.acquire(sessionId, frame.acquire!);
          return;
        case 'release': {
          const release = frame.release!;
          this.request(
            'release',
            release.requestSeq,
            release.name,
            (requestSeq) => ({
              type: 'release',
              sessionId,
              requestSeq,
              name: release.name,
              token: tokenFromWire(release.token),
            }),
            (_result, requestSeq) => this.send({ done: { requestSeq: String(requestSeq), name: release.name } }),
          );
          return;
        }
        case 'cancel': {
          const cancel = frame.cancel!;
          this.request(
            'cancel',
            cancel.requestSeq,
            cancel.name,
            (requestSeq) => ({ type: 'cancel', sessionId, requestSeq, name: cancel.name }),
            (_result, requestSeq) => this.send({ done: { requestSeq: String(requestSeq), name: cancel.name } }),
          );
          return;
        }
        case 'close': {
          // The session-ended event answers with SessionEnded{closed} and ends the stream.
          this.closeInFlight = true;
          this.deps.service
            .proposeAccepted({ type: 'session-close', sessionId })
            .catch((error: unknown) => this.fail(error))
            .finally(() => {
              this.closeInFlight = false;
              this.finishIfAnswered();
            });
          return;
        }
        case 'warningAnswer': {
          const { name, kind, checkpointMs } = frame.warningAnswer!;
          if (!this.deps.advisor.answered(sessionId, name, kind, checkpointMs, this.deps.clock.now())) {
            this.deps.log.debug({ sessionId, answer: frame.warningAnswer }, 'answer to no open warning');
          }
          return;
        }
        default:
          throw new InvalidRequestError(`a session stream accepts one open frame, got "${frame.frame}" again`);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private acquire(sessionId: string, acquire: NonNullable<ClientFrame['acquire']>): void {
    this.request(
      'acquire',
      acquire.requestSeq,
      acquire.name,
      (requestSeq) => {
        this.deps.service.checkLockName(acquire.name);
        this.deps.advisor.requested(sessionId, acquire.name, this.deps.clock.now(), modeFromWire(acquire.mode));
        this.acquiresInFlight.set(requestSeq, null);
        return {
          type: 'acquire',
          sessionId,
          requestSeq,
          name: acquire.name,
          mode: modeFromWire(acquire.mode),
          fenced: acquire.fenced,
          // never_preempt, never the deprecated preemptible: an unset field must mean pre-emptible.
          preemptible: acquire.neverPreempt !== true,
          tryOnly: acquire.waitMs === 0,
          // The leader cancels the waiter when its wait runs out (LeaderDuties, 'waits-expire').
          ...(acquire.waitMs > 0 && acquire.waitMs < WAIT_WITHOUT_LIMIT_MS ? { waitMs: acquire.waitMs } : {}),
          ...(acquire.metadata === '' ? {} : { metadata: acquire.metadata }),
        };
      },
      (result, requestSeq) => this.answerAcquire(requestSeq, acquire, result),
      (requestSeq) => {
        // A grant applied meanwhile that this request's answer did not carry belongs to an earlier request under the
        // same request_seq (this one was refused as a different request): push it, or its client never learns of it.
        const grantedMeanwhile = this.acquiresInFlight.get(requestSeq) ?? null;
        this.acquiresInFlight.delete(requestSeq);
        if (grantedMeanwhile !== null) this.pushGrant(grantedMeanwhile);
      },
    );
  }

  private keepalive(sessionId: string, keepalive: NonNullable<ClientFrame['keepalive']>): void {
    const receivedAtMs = this.deps.clock.now();
    const { seq, clientTimeMs, rttMs } = keepalive;
    this.lastKeepaliveSeq = seq;
    const guarantee = this.deps.service.keepalive({
      sessionId,
      receiveMs: receivedAtMs,
      clientTimeMs,
      ...(rttMs > 0 ? { rttMs } : {}),
    });
    // No answer once the promise has passed: the session is expiring and its end will be pushed.
    if (guarantee === null) return;
    this.send({
      keepalive: {
        seq,
        serverReceiveMs: receivedAtMs,
        guaranteeMs: guarantee.guaranteeMs,
        keepaliveIntervalMs: guarantee.keepaliveIntervalMs,
      },
    });
  }

  /**
   * Submits one request's command once the caller may `lock` its name (`command` may throw to refuse it before
   * anything is proposed); an accepted result goes to `answer`, a refusal (a denial too) becomes a RequestError frame,
   * a lost leadership a NotLeader frame, lost credentials the end of the stream. `finished` runs once the request is
   * settled either way.
   */
  private request(
    action: 'acquire' | 'release' | 'cancel',
    requestSeqText: string,
    name: string,
    command: (requestSeq: number) => LockCommand,
    answer: (result: AcceptedResult, requestSeq: number) => void,
    finished?: (requestSeq: number) => void,
  ): void {
    let requestSeq: number;
    let built: LockCommand;
    try {
      requestSeq = requestSeqFromWire(requestSeqText);
      // Every request of a session needs `lock` on the name (docs/design.md, "Security").
      this.deps.authenticator.requirePermission(this.caller!, action, 'lock', name);
      built = command(requestSeq);
    } catch (error) {
      this.refuse(requestSeqText, name, error);
      return;
    }
    const settled = this.track();
    this.deps.service.submit(built, {
      result: (result) => {
        try {
          if (result.status === 'error') {
            this.refuse(requestSeqText, name, new RequestRefusedError(result.code, result.message));
          } else answer(result, requestSeq);
        } finally {
          finished?.(requestSeq);
          settled();
        }
      },
      failed: (error) => {
        try {
          this.refuse(requestSeqText, name, error);
        } finally {
          finished?.(requestSeq);
          settled();
        }
      },
    });
  }

  /**
   * Answers a refused request with a RequestError frame; a lost leadership ends the stream with NotLeader, lost
   * credentials with UNAUTHENTICATED.
   */
  private refuse(requestSeqText: string, name: string, error: unknown): void {
    if (error instanceof RaftNotLeaderError || error instanceof UnauthenticatedError) {
      this.fail(error);
      return;
    }
    this.send({ error: { requestSeq: requestSeqText, name, ...refusalOf(error) } });
  }

  /** Answers an acquire from its proposal's result; a grant applied meanwhile (after QUEUED) follows at once. */
  private answerAcquire(
    requestSeq: number,
    request: NonNullable<ClientFrame['acquire']>,
    result: AcceptedResult,
  ): void {
    const grantedMeanwhile = this.acquiresInFlight.get(requestSeq) ?? null;
    this.acquiresInFlight.delete(requestSeq);
    const granted = result.status === 'granted';
    this.send({
      acquire: {
        requestSeq: String(requestSeq),
        name: request.name,
        status: granted ? 'GRANTED' : 'QUEUED',
        token: granted ? String(result.token) : '0',
        grantedAtMs: granted ? result.grantedAtMs : 0,
        position: result.status === 'queued' ? result.position : 0,
        fenced: request.fenced,
        mode: request.mode,
      },
    });
    if (!granted && grantedMeanwhile !== null) this.pushGrant(grantedMeanwhile);
  }

  private pushGrant(event: GrantedEvent): void {
    this.send({
      acquire: {
        requestSeq: String(event.requestSeq),
        name: event.name,
        status: 'GRANTED',
        token: String(event.token),
        grantedAtMs: event.atMs,
        position: 0,
        fenced: event.fenced,
        mode: modeToWire(event.mode),
      },
    });
  }

  // ---- pushes from the hub ----

  onLockEvent(event: LockEvent): void {
    switch (event.type) {
      case 'granted':
        if (this.acquiresInFlight.has(event.requestSeq)) this.acquiresInFlight.set(event.requestSeq, event);
        else this.pushGrant(event);
        return;
      case 'revoked':
        this.send({
          revoked: {
            resourceId: event.name,
            token: String(event.token),
            cause: event.cause,
            reason: event.reason,
            revokedAtMs: event.atMs,
          },
        });
        return;
      case 'cancelled':
        // The leader cancelled a queued acquire whose wait_ms ran out: its answer is a TIMEOUT refusal.
        if (event.timedOut === true) {
          this.send({
            error: {
              requestSeq: String(event.requestSeq),
              name: event.name,
              code: 'TIMEOUT',
              message: `the acquire of "${event.name}" (request_seq ${event.requestSeq}) was not granted within its wait_ms; the leader cancelled it`,
              retriable: false,
            },
          });
        }
        return;
      case 'session-ended':
        // Sent (and the stream ended) once the requests applied before the end have had their answers.
        this.endedReason = event.expired ? 'expired' : 'closed';
        this.finishIfAnswered();
        return;
      default:
        // Releases and cancels the client asked for are answered to their requester; session-opened needs no push.
        return;
    }
  }

  push(payload: ServerFramePayload): void {
    this.send(payload);
  }

  leadershipLost(leaderId: string | null, leaderAddress: string | null): void {
    this.send({ notLeader: { leaderId: leaderId ?? '', leaderAddress: leaderAddress ?? '' } });
    this.finish();
  }

  superseded(): void {
    this.sessionId = null;
    this.fail(new StreamSupersededError());
  }

  // ---- sending and ending ----

  private send(payload: ServerFramePayload): void {
    if (this.ended) return;
    const more = this.call.write({
      lastKeepaliveSeq: this.lastKeepaliveSeq,
      serverTimeMs: this.deps.clock.now(),
      ...payload,
    });
    if (more === false) {
      this.callFull = true;
      this.readWhileAnswerable();
    }
  }

  /** Pauses reading the client's frames while its answers cannot leave or too many are owed; resumes after. */
  private readWhileAnswerable(): void {
    const pause = this.callFull || this.requestsInFlight >= MAX_REQUESTS_IN_FLIGHT;
    if (pause === this.readingPaused) return;
    // Set first: resume() may deliver frames at once, whose handling pauses again.
    this.readingPaused = pause;
    if (pause) this.call.pause();
    else this.call.resume();
  }

  /** Ends the stream with OK status. */
  private finish(): void {
    if (this.ended) return;
    this.detach();
    this.ended = true;
    this.call.end();
  }

  /**
   * Ends the stream with the gRPC status of `error`. NotLeader: with a NotLeader frame and OK, so SDKs fail over; when
   * this node does not know the new leader yet, the stream stops serving and the frame waits (briefly) to name it.
   */
  private fail(error: unknown): void {
    if (error instanceof RaftNotLeaderError) {
      if (error.leaderId !== null || this.ended) this.leadershipLost(error.leaderId, error.leaderAddress);
      else if (!this.deposed) {
        this.deposed = true;
        this.detach();
        this.deps.hub.whenLeaderKnown((leaderId, leaderAddress) => this.leadershipLost(leaderId, leaderAddress));
      }
      return;
    }
    if (this.ended) return;
    this.detach();
    this.ended = true;
    this.deps.log.debug({ err: error }, 'session stream refused');
    this.call.emit('error', toServiceError(error));
  }

  private detach(): void {
    if (this.sessionId !== null) this.deps.hub.detach(this.sessionId, this);
  }

  private gone(): void {
    if (this.call.cancelled) this.clientWentAway();
    this.detach();
    this.ended = true;
    this.link?.clear();
  }

  /**
   * The client ended the stream (it cancelled it, its connection went away, or it half-closed without a CloseSession):
   * when its session lives on and is served here, the staleness advisor learns that the session lost its connection
   * (a live client redials and resumes at once). A client killed with kill -9 looks like this: its kernel closes the
   * connection, which grpc-js delivers as a half-close, then a cancel. Not when this node ended the stream first
   * (NotLeader, shutdown, a refusal, SessionEnded), when a resume superseded it, or when the session is being closed.
   */
  private clientWentAway(): void {
    const { sessionId } = this;
    // Every end of the stream by this node detaches it from the hub, as a resume that supersedes it does.
    if (
      this.disconnectReported ||
      sessionId === null ||
      !this.deps.hub.isAttached(sessionId, this) ||
      this.closeInFlight ||
      this.endedReason !== null
    )
      return;
    this.disconnectReported = true;
    this.deps.advisor.sessionDisconnected(sessionId, this.deps.clock.now());
  }
}

/** The request seq and lock name of an acquire, release or cancel frame, or null for any other frame. */
function requestOf(frame: unknown): { requestSeq: string; name: string } | null {
  const client = frame as ClientFrame | undefined;
  const request = client?.acquire ?? client?.release ?? client?.cancel;
  if (request === undefined || request === null) return null;
  return { requestSeq: String(request.requestSeq ?? '0'), name: String(request.name ?? '') };
}
