// One session's connection to the cluster: the dial loop over the endpoints (leader discovery and failover), the
// session stream, keepalives, resumption with id + secret, and requests re-sent with the SAME request_seq after a
// reconnect (the server dedups them; Raft thesis §6.3).
import type { ClientTls } from '../security/client-tls.js';
import type { Clock } from '../util/clock.js';
import type { ForelockError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { WireSessionAdvisory, WireSessionOpened } from '../util/wire-frames.js';
import type { TokenSource } from './auth-token.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { EndpointPool } from './endpoints.js';
import {
  AbortError,
  ClientClosedError,
  errorFromGrpc,
  errorFromServerCode,
  isServiceError,
  NotLeaderError,
  type SessionEndReason,
  SessionExpiredError,
  TimeoutError,
  toForelockError,
  UnauthenticatedError,
  UnavailableError,
} from './errors.js';
import { KeepaliveSchedule } from './keepalive-schedule.js';
import { LeaderFollower } from './leader-follower.js';
import { openAnswerTimeoutMs } from './open-timeout.js';
import { retryDelayAfterRefusal } from './refusal-retry.js';
import { RequestLedger } from './request-ledger.js';
import { SafePeriodTracker } from './safe-period.js';
import { grpcSessionDialer, type SessionDialer } from './session-dialer.js';
import { StreamWriter } from './stream-writer.js';
import { nodeTimers, type Timers } from './timers.js';
import type { ClientFrame, ServerFrame, SessionStream } from './wire.js';

/** The frames that answer a request, by request_seq. */
export type RequestFrame = Extract<ServerFrame, { frame: 'acquire' | 'done' | 'error' }>;

/** The frames that concern a held lock rather than a request. */
export type LockFrame = Extract<ServerFrame, { frame: 'warning' | 'preemption' | 'revoked' }>;

/** A request in flight: re-sent with its seq after every reconnect (RequestLedger) until `onFrame` says it is finished. */
interface PendingRequest {
  readonly frame: ClientFrame;
  /** Handles an answer; returns true when the request needs nothing more. */
  readonly onFrame: (frame: RequestFrame) => boolean;
  /** Called once if the session ends first. */
  readonly onSessionEnd: (error: ForelockError) => void;
}

/** What the owner of the connection (the Client) hears about. */
export interface ConnectionListener {
  /** A stream (re)opened the session; `held` lists the locks the cluster says this session holds. */
  opened(opened: WireSessionOpened, resumed: boolean): void;
  /** A warning, pre-emption request or revocation for one lock. */
  lockFrame(frame: LockFrame): void;
  /** A Session Advisory: a condition of the whole session began or ended (repeats included). */
  advisory(advisory: WireSessionAdvisory): void;
  /** The session's safe deadline moved (a guarantee arrived or a pre-emption capped a lock). */
  safeUntilChanged(): void;
  /** The session is gone for good. */
  ended(error: ForelockError): void;
}

/** A keepalive answer as received: the leader promised the session until `serverReceiveMs + guaranteeMs`. */
export interface GuaranteeAnswer {
  /** When the leader received the keepalive (epoch ms, server clock). */
  readonly serverReceiveMs: number;
  readonly guaranteeMs: number;
  /** When the leader sent the answer (epoch ms, server clock). */
  readonly serverTimeMs: number;
}

/** Options of a session connection (see ConnectOptions for the user-facing ones). */
export interface ConnectionOptions {
  readonly endpoints: readonly string[];
  readonly ttlMs: number;
  /**
   * How long one endpoint may take to accept a connection before the next one is tried (a crashed host may never
   * answer). A new session's open waits at least FIRST_OPEN_TIMEOUT_MS for its answer, a resume at least half the TTL.
   */
  readonly openTimeoutMs: number;
  readonly clientName: string;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly backoff?: BackoffOptions;
  readonly maxDrift?: number;
  readonly marginMs?: number;
  /** Observes every keepalive answer, in stream order (see ConnectOptions.onGuarantee). */
  readonly onGuarantee?: (answer: GuaranteeAnswer) => void;
  /** Share the process's Sessions stream to each endpoint (default true; see ConnectOptions.multiplex). */
  readonly multiplex?: boolean;
  /** TLS to the nodes (see ConnectOptions.tls); plaintext when absent. */
  readonly tls?: ClientTls;
  /** The token each stream carries when it opens (see ConnectOptions.auth); none when absent. */
  readonly tokens?: TokenSource;
  /** How streams are dialed (default: gRPC, with `multiplex` and `tls`); a test or simulator injects its own. */
  readonly dialer?: SessionDialer;
  /** The timers the connection arms (default: Node's); a test or simulator injects virtual ones. */
  readonly timers?: Timers;
}

/** The session stream to the leader, kept alive across failovers. */
export class SessionConnection {
  readonly tracker: SafePeriodTracker;
  private readonly pool: EndpointPool;
  private readonly backoff: Backoff;
  /** Which endpoint to dial next and when, after each stream's outcome. */
  private readonly follower: LeaderFollower;
  /** Reaches the nodes and opens streams on them (what it holds is given back when the session ends). */
  private readonly dialer: SessionDialer;
  private readonly timers: Timers;
  /** The requests awaiting an answer, and the seq the next one gets. */
  private readonly requests = new RequestLedger<PendingRequest>();
  private stream: SessionStream | null = null;
  /** Writes to `stream` as its buffer allows (set and cleared with it). */
  private writer: StreamWriter | null = null;
  /** A keepalive came due while the stream was full: a fresh one is sent when it drains. */
  private keepaliveDue = false;
  private sessionId = '';
  /** The session secret: an ES private field, so util.inspect and JSON.stringify never show it (docs/design.md, principle 8). */
  #secret = '';
  private nextKeepaliveSeq = 1;
  /** When the next keepalive is due; `keepaliveTimer` fires then. */
  private readonly keepalives = new KeepaliveSchedule();
  private keepaliveTimer: unknown = null;
  private lastRttMs = 0;
  private paused = false;
  /** Test-only: the non-keepalive frames written while paused, sent on unpause. */
  private readonly heldWhilePaused: ClientFrame[] = [];
  private endError: ForelockError | null = null;
  private closing = false;
  private wake: (() => void) | null = null;
  private readonly listeners: ConnectionListener[] = [];
  private firstOpen: { resolve: () => void; reject: (e: ForelockError) => void } | null = null;
  private leaderAddress: string | null = null;

  constructor(private readonly options: ConnectionOptions) {
    if (!(options.openTimeoutMs > 0 && Number.isFinite(options.openTimeoutMs))) {
      throw new RangeError(`openTimeoutMs must be a positive number of ms, got ${options.openTimeoutMs}`);
    }
    this.pool = new EndpointPool(options.endpoints);
    this.dialer = options.dialer ?? grpcSessionDialer(options.multiplex ?? true, options.tls);
    this.timers = options.timers ?? nodeTimers;
    this.backoff = new Backoff(options.rng, options.backoff);
    this.follower = new LeaderFollower(this.pool, this.backoff);
    this.tracker = new SafePeriodTracker({ maxDrift: options.maxDrift, marginMs: options.marginMs });
  }

  /** Registers the connection's owner. */
  listen(listener: ConnectionListener): void {
    this.listeners.push(listener);
  }

  /** Dials until the session is open (resolves), or rejects when `timeoutMs` passes, `signal` aborts or a refusal is final. */
  start(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const opened = new Promise<void>((resolve, reject) => {
      this.firstOpen = { resolve, reject };
    });
    const timer = this.timers.after(timeoutMs, () => {
      this.end(
        new UnavailableError(
          `no leader answered on ${this.pool.list().join(', ')} within ${timeoutMs} ms; check the endpoints and that the cluster has a leader`,
        ),
      );
    });
    const onAbort = () => this.end(new AbortError('connect() was aborted', { cause: signal?.reason }));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    void this.dialLoop();
    return opened.finally(() => {
      this.timers.cancel(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  }

  /** The TLS material the connection dials with (undefined: plaintext). */
  get tls(): ClientTls | undefined {
    return this.options.tls;
  }

  /** The session's id ('' until opened). */
  get id(): string {
    return this.sessionId;
  }

  /** The address of the leader the stream is open to, or null while reconnecting. */
  get connectedTo(): string | null {
    return this.stream ? this.leaderAddress : null;
  }

  /** Why the session ended, or null while it lives. */
  get ended(): ForelockError | null {
    return this.endError;
  }

  /** Allocates a request seq and sends (now, or after the next reconnect) the frame `build(seq)` makes. */
  request(
    build: (seq: number) => ClientFrame,
    onFrame: (frame: RequestFrame) => boolean,
    onSessionEnd: (error: ForelockError) => void,
  ): number {
    const seq = this.requests.allocate();
    if (this.endError) {
      onSessionEnd(this.endError);
      return seq;
    }
    const request: PendingRequest = { frame: build(seq), onFrame, onSessionEnd };
    this.requests.add(seq, request);
    this.write(request.frame);
    return seq;
  }

  /** Stops re-sending request `seq` after reconnects, but keeps routing its answers to it. */
  stopResending(seq: number): void {
    this.requests.stopResending(seq);
  }

  /** Sends request `seq` again now (and after reconnects), e.g. to learn the fate of a cancelled acquire. */
  resendRequest(seq: number): void {
    const request = this.requests.resendRequest(seq);
    if (request) this.write(request.frame);
  }

  /** Forgets request `seq` (its owner gave up on it). */
  forget(seq: number): void {
    this.requests.forget(seq);
  }

  /** Sends a frame that needs no answer (a warning answer) if a stream is open; dropped otherwise. */
  sendOneWay(frame: ClientFrame): void {
    this.write(frame);
  }

  /**
   * Test-only: while paused, nothing is written to the stream (no keepalives, no requests, no close), as if the
   * process were frozen or its network stalled; answers still arrive. Unpausing sends the requests held meanwhile
   * (as a stalled connection delivers them late; keepalives are periodic and are not replayed), then a keepalive.
   */
  simulatePause(paused: boolean): void {
    this.paused = paused;
    if (paused || !this.stream) return;
    const held = this.heldWhilePaused.splice(0);
    for (const frame of held) this.write(frame);
    this.sendKeepalive();
  }

  /** The safe deadline passed without renewal: the session is treated as gone (Chubby's jeopardy, then expiry). */
  promisePassed(): void {
    this.end(
      new SessionExpiredError(
        'the session received no renewal before its promise passed; it is treated as expired',
        'promise-passed',
      ),
    );
  }

  /** Closes the session on the server (best effort, bounded by `timeoutMs`), then every channel. */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const stream = this.stream;
    if (stream && !this.endError) {
      await new Promise<void>((resolve) => {
        const timer = this.timers.after(timeoutMs, resolve);
        const done = () => {
          this.timers.cancel(timer);
          resolve();
        };
        stream.once('end', done);
        stream.once('error', done);
        stream.once('close', done);
        stream.write({ close: {} });
        stream.end();
      });
    }
    this.end(closedByClient());
  }

  private write(frame: ClientFrame): void {
    if (this.paused) {
      if (!('keepalive' in frame)) this.heldWhilePaused.push(frame);
      return;
    }
    if (this.stream && !this.endError) this.writer?.write(frame);
  }

  /** The stream drained and what waited is written: a keepalive that came due meanwhile leaves now. */
  private writable(): void {
    if (!this.keepaliveDue) return;
    this.keepaliveDue = false;
    this.sendKeepalive();
  }

  private async dialLoop(): Promise<void> {
    // Whether the last open failed UNAUTHENTICATED and was tried again after a new login (once, until one succeeds).
    let renewedAfterRefusal = false;
    while (!this.endError && !this.closing) {
      const address = this.follower.next();
      let failure: ForelockError;
      let token: string | null = null;
      let sent = false;
      try {
        await this.dialer.reachable(address, this.options.openTimeoutMs, () => this.endError !== null || this.closing);
        // Logs in first when the token is due (a stream is authenticated once, when it opens: docs/protocol.md).
        token = (await this.options.tokens?.current()) ?? null;
        sent = true;
        const closed = await this.openOn(address, token);
        this.follower.succeeded();
        renewedAfterRefusal = false;
        failure = await closed;
      } catch (err) {
        failure = toForelockError(err);
      }
      if (this.endError || this.closing) return;
      if (
        failure instanceof UnauthenticatedError &&
        sent &&
        this.options.tokens !== undefined &&
        !renewedAfterRefusal
      ) {
        // Refused as UNAUTHENTICATED (an expired token, a changed user): once more after a new login, then give up.
        try {
          if (await this.options.tokens.renewAfterRefusal(token)) {
            renewedAfterRefusal = true;
            continue;
          }
        } catch (err) {
          failure = toForelockError(err);
        }
        if (this.endError || this.closing) return;
      }
      const delayMs = this.follower.failed(address, failure);
      if (delayMs === null) {
        this.end(failure);
        return;
      }
      if (delayMs > 0) await this.pause(delayMs);
    }
  }

  private pause(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.timers.after(delayMs, () => {
        this.wake = null;
        resolve();
      });
      this.wake = () => {
        this.timers.cancel(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /**
   * Opens a stream on `address` carrying `token` (none: null) and sends the open (or resume) frame. Resolves once the
   * session is open with a promise of why the stream later closed; rejects with why it could not open.
   */
  private openOn(address: string, token: string | null): Promise<Promise<ForelockError>> {
    return new Promise((resolveOpen, rejectOpen) => {
      let stream: SessionStream;
      try {
        stream = this.dialer.open(address, token);
      } catch (err) {
        rejectOpen(new UnavailableError(`cannot dial ${address}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      let opened = false;
      let settled = false;
      let resolveClosed: (failure: ForelockError) => void = () => {};
      const closed = new Promise<ForelockError>((resolve) => {
        resolveClosed = resolve;
      });
      const finish = (failure: ForelockError) => {
        if (settled) return;
        settled = true;
        this.timers.cancel(openTimer);
        if (this.stream === stream) {
          this.stream = null;
          this.writer = null;
          this.keepaliveDue = false;
          this.keepalives.closed();
          this.stopKeepalives();
        }
        stream.removeAllListeners('data');
        stream.on('error', () => {});
        stream.cancel();
        if (opened) resolveClosed(failure);
        else rejectOpen(failure);
      };
      const openTimeoutMs = openAnswerTimeoutMs(this.options.openTimeoutMs, this.sessionId !== '', this.options.ttlMs);
      const openTimer = this.timers.after(openTimeoutMs, () =>
        finish(new TimeoutError(`${address} did not answer the session open within ${openTimeoutMs} ms`)),
      );
      stream.on('data', (frame: ServerFrame) => {
        if (!opened) {
          if (frame.frame === 'opened') {
            opened = true;
            this.timers.cancel(openTimer);
            this.stream = stream;
            const writer = new StreamWriter(stream, () => {
              if (this.writer === writer) this.writable();
            });
            this.writer = writer;
            this.leaderAddress = address;
            resolveOpen(closed);
            this.sessionOpened(frame);
            return;
          }
          finish(this.openRefusal(frame, address));
          return;
        }
        const failure = this.dispatch(frame);
        if (failure) finish(failure);
      });
      stream.on('error', (err: Error) => {
        finish(isServiceError(err) ? errorFromGrpc(err) : new UnavailableError(err.message, { cause: err }));
      });
      stream.on('end', () => finish(new UnavailableError(`${address} ended the session stream`)));
      this.tracker.streamOpened(this.options.clock.now());
      stream.write({
        open: {
          clientName: this.options.clientName,
          ttlMs: this.options.ttlMs,
          sessionId: this.sessionId,
          secret: this.#secret,
        },
      });
    });
  }

  private openRefusal(frame: ServerFrame, address: string): ForelockError {
    switch (frame.frame) {
      case 'notLeader':
        return new NotLeaderError(
          `${address} is not the leader${frame.notLeader.leaderAddress ? `; the leader is ${frame.notLeader.leaderAddress}` : ' and knows no leader yet'}`,
          frame.notLeader.leaderAddress || undefined,
        );
      case 'ended':
        return this.sessionEndedError(frame.ended.reason);
      case 'error':
        return errorFromServerCode(frame.error);
      default:
        return new UnavailableError(`${address} answered the session open with a '${frame.frame}' frame`);
    }
  }

  private sessionEndedError(reason: string): SessionExpiredError {
    const known: readonly SessionEndReason[] = ['expired', 'closed', 'not-found'];
    const endReason = (known as readonly string[]).includes(reason) ? (reason as SessionEndReason) : 'expired';
    return new SessionExpiredError(`the cluster ended the session (${reason || 'no reason given'})`, endReason);
  }

  private sessionOpened(frame: Extract<ServerFrame, { frame: 'opened' }>): void {
    const opened = frame.opened;
    const resumed = this.sessionId !== '';
    if (!resumed) {
      this.sessionId = opened.sessionId;
      this.#secret = opened.secret;
    }
    this.keepalives.opened(opened.keepaliveIntervalMs, this.options.clock.now());
    this.tracker.guaranteeReceived(Number(frame.lastKeepaliveSeq), opened.guaranteeMs);
    for (const listener of this.listeners) listener.opened(opened, resumed);
    for (const listener of this.listeners) listener.safeUntilChanged();
    if (resumed) for (const request of this.requests.toResendOnResume()) this.write(request.frame);
    this.sendKeepalive();
    if (this.firstOpen) {
      this.firstOpen.resolve();
      this.firstOpen = null;
    }
  }

  /** Handles one frame of an open stream; returns why the stream must close, if it must. */
  private dispatch(frame: ServerFrame): ForelockError | null {
    switch (frame.frame) {
      case 'keepalive': {
        const answer = frame.keepalive;
        const seq = Number(answer.seq);
        const sentAtMs = this.tracker.sentAtOf(seq);
        if (sentAtMs !== undefined) this.lastRttMs = Math.max(0, this.options.clock.now() - sentAtMs);
        this.tracker.guaranteeReceived(Number(frame.lastKeepaliveSeq), answer.guaranteeMs);
        this.options.onGuarantee?.({
          serverReceiveMs: answer.serverReceiveMs,
          guaranteeMs: answer.guaranteeMs,
          serverTimeMs: frame.serverTimeMs,
        });
        this.setKeepaliveInterval(answer.keepaliveIntervalMs);
        for (const listener of this.listeners) listener.safeUntilChanged();
        return null;
      }
      case 'acquire':
      case 'done':
      case 'error': {
        const seq = Number(requestSeqOf(frame));
        const request = this.requests.get(seq);
        if (!request) return null;
        const retryInMs = frame.frame === 'error' ? retryDelayAfterRefusal(frame.error.code, this.backoff) : null;
        if (retryInMs !== null) {
          // The leader could not take the request just now: sent again with its seq (refusal-retry.ts).
          this.timers.after(
            retryInMs,
            () => {
              if (this.requests.resendable(seq, request)) this.write(request.frame);
            },
            true,
          );
          return null;
        }
        if (request.onFrame(frame)) this.requests.forget(seq);
        return null;
      }
      // A warning's guarantee_ms only informs: promises are made by keepalive answers (and SessionOpened), so
      // only they extend the safe period (docs/design.md, principle 2).
      case 'warning':
      case 'preemption':
      case 'revoked':
        for (const listener of this.listeners) listener.lockFrame(frame);
        return null;
      // Likewise an advisory's guarantee_ms: it informs, and changes no safe period.
      case 'advisory':
        for (const listener of this.listeners) listener.advisory(frame.advisory);
        return null;
      case 'notLeader':
        return new NotLeaderError('the leader stepped down', frame.notLeader.leaderAddress || undefined);
      case 'ended':
        this.end(this.closing ? closedByClient() : this.sessionEndedError(frame.ended.reason));
        return this.endError;
      case 'opened':
        return null;
    }
  }

  private setKeepaliveInterval(intervalMs: number): void {
    const nowMs = this.options.clock.now();
    if (this.keepalives.intervalAnswered(intervalMs, nowMs)) this.armKeepaliveTimer(nowMs);
  }

  private sendKeepalive(): void {
    if (!this.stream || this.endError) return;
    // Not while the stream is full: it would wait there and leave with a stale send time.
    const nowMs = this.options.clock.now();
    if (this.writer?.full) this.keepaliveDue = true;
    else if (!this.paused) {
      const seq = this.nextKeepaliveSeq++;
      this.tracker.keepaliveSent(seq, nowMs);
      this.write({ keepalive: { seq: String(seq), clientTimeMs: nowMs, rttMs: this.lastRttMs } });
    }
    this.keepalives.turnTaken(nowMs);
    this.armKeepaliveTimer(nowMs);
  }

  /** Arms the keepalive timer for when the schedule says the next one is due. */
  private armKeepaliveTimer(nowMs: number): void {
    this.stopKeepalives();
    const dueAtMs = this.keepalives.nextDueAtMs;
    if (dueAtMs === null || !this.stream) return;
    this.keepaliveTimer = this.timers.after(Math.max(0, dueAtMs - nowMs), () => this.sendKeepalive(), true);
  }

  private stopKeepalives(): void {
    if (this.keepaliveTimer !== null) this.timers.cancel(this.keepaliveTimer);
    this.keepaliveTimer = null;
  }

  /** Ends the session for good: fails pending requests, tells the owner, stops the dial loop. */
  private end(error: ForelockError): void {
    if (this.endError) return;
    this.endError = error;
    this.stopKeepalives();
    const stream = this.stream;
    this.stream = null;
    this.writer = null;
    if (stream) {
      stream.on('error', () => {});
      // Tell the server (best effort) so the session's locks are freed now rather than at expiry.
      if (!this.closing && !this.paused) stream.write({ close: {} });
      stream.end();
      this.timers.after(1_000, () => stream.cancel(), true);
    }
    this.wake?.();
    this.keepalives.closed();
    for (const request of this.requests.drain()) request.onSessionEnd(error);
    if (this.firstOpen) {
      this.firstOpen.reject(error);
      this.firstOpen = null;
    }
    for (const listener of this.listeners) listener.ended(error);
    this.dialer.release();
  }
}

/** The request_seq a request answer refers to. */
export function requestSeqOf(frame: RequestFrame): string {
  switch (frame.frame) {
    case 'acquire':
      return frame.acquire.requestSeq;
    case 'done':
      return frame.done.requestSeq;
    case 'error':
      return frame.error.requestSeq;
  }
}

function closedByClient(): ClientClosedError {
  return new ClientClosedError('the client closed its session; connect() again to get a new one');
}
