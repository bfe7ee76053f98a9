// The SDK's entry: connect() opens a session; the Client acquires locks on it, tracks each lock's safe period
// (docs/design.md, principle 2; Chubby's jeopardy) and aborts lock and session signals when they are lost (etcd
// concurrency).
import type { LockMode } from '../lock/commands.js';
import { lockNameProblem, metadataProblem } from '../lock/validation.js';
import { channelCredentials, clientTls, type TlsOptions } from '../security/client-tls.js';
import { type Clock, systemClock } from '../util/clock.js';
import { ForelockError } from '../util/errors.js';
import { type Rng, randomRng } from '../util/rng.js';
import type { WireSessionAdvisory, WireSessionOpened } from '../util/wire-frames.js';
import { giveUpAcquire, grantFate } from './acquire-give-up.js';
import { AdminClient } from './admin.js';
import { AdvisoryFilter, type AdvisoryHandler, advisoryFromWire, type SessionAdvisory } from './advisory.js';
import type { AuthOptions } from './auth-token.js';
import type { BackoffOptions } from './backoff.js';
import {
  type ConnectionListener,
  type GuaranteeAnswer,
  type LockFrame,
  type RequestFrame,
  SessionConnection,
} from './connection.js';
import { Election } from './election.js';
import {
  AbortError,
  ClientClosedError,
  errorFromServerCode,
  InvalidArgumentError,
  LockLostError,
  LockReleasedError,
  NotHeldError,
  StaleTokenError,
  TimeoutError,
} from './errors.js';
import { Lock, type LockGrant, type LockOwner, type PreemptionHandler, type WarningHandler } from './lock.js';
import { defaultOpenTimeoutMs } from './open-timeout.js';
import { locksLostOnResume } from './resume-reconcile.js';
import { type LockDeadline, lapsedAt, nextLapseAtMs } from './safety-lapse.js';
import { modeFromWire, modeToWire } from './wire.js';

/** Wall time that never jumps backwards: the epoch at process start plus a monotonic count. */
const monotonicEpochClock: Clock = { now: () => performance.timeOrigin + performance.now() };

/**
 * Turns a deadline on the SDK's internal clock into one on the clock users compare with (`Date.now()` by default), by
 * keeping the time left: safe periods are counted on a monotonic clock, immune to wall-clock steps, but reported in
 * the wall clock's terms at the moment they are read.
 */
export type DeadlineReporter = (internalMs: number) => number;

/** A DeadlineReporter from the SDK's `internal` clock to the `reported` one (identity when they are the same). */
export function deadlineReporter(internal: Clock, reported: Clock): DeadlineReporter {
  if (internal === reported) return (internalMs) => internalMs;
  return (internalMs) => (Number.isFinite(internalMs) ? reported.now() + (internalMs - internal.now()) : internalMs);
}

/** The largest wait the wire carries (uint32 ms); `waitMs: Infinity` sends it. */
const MAX_WIRE_WAIT_MS = 0xffff_ffff;

/** Options of `connect()`. */
export interface ConnectOptions {
  /** "host:port" of any cluster members; the SDK finds the leader. Default ['127.0.0.1:7400']. */
  readonly endpoints?: readonly string[];
  /** Session TTL, 1 s..1 h. Default 10,000 ms. */
  readonly ttlMs?: number;
  /** This client's name, shown in `forelock locks`. Default "<hostname>:<pid>"-like "node-<pid>". */
  readonly name?: string;
  /** How long connect() keeps dialing before it fails with UnavailableError. Default 10,000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * How long one endpoint may take to accept a connection and answer the session open before the next is tried (a
   * crashed host may never answer at all). Keep it well under the TTL so failover fits in a session's promise. Default
   * min(1,000, ttlMs / 10). Once a node accepted the stream, a resume waits for its answer at least half the TTL (a node
   * catching up after a restart answers late, and giving up would only start the resume again).
   */
  readonly openTimeoutMs?: number;
  /** Aborting it stops connect() (rejecting with AbortError). */
  readonly signal?: AbortSignal;
  /** Clock-rate bound used by the safe period. Default 0.01. */
  readonly maxDrift?: number;
  /** Safety margin subtracted from the safe period. Default 100 ms. */
  readonly marginMs?: number;
  /** Reconnect delays. */
  readonly backoff?: BackoffOptions;
  /**
   * Time source for safe periods and for the deadlines reported (epoch ms). Default: safe periods are counted on a
   * monotonic clock and reported as `Date.now()`-comparable epoch ms.
   */
  readonly clock?: Clock;
  /** Randomness for backoff jitter. */
  readonly rng?: Rng;
  /**
   * Observation hook (tests, diagnostics): called synchronously with every keepalive answer, in stream order, before
   * any lock event the frames after it cause. Must not throw. The SDK's own safe period does not depend on it.
   */
  readonly onGuarantee?: (answer: GuaranteeAnswer) => void;
  /**
   * Registered with `client.session.onAdvisory()` before the session opens: called on each Session Advisory, when a
   * condition of the session (`'clock-drift'`, `'link-degrading'`) begins and when it ends.
   */
  readonly onAdvisory?: AdvisoryHandler;
  /**
   * True (the default): the session rides the one Sessions stream this process keeps to each endpoint, shared with
   * its other sessions there, whose frames of one event-loop turn travel as one message. False: the session gets a
   * Session stream of its own. Both behave the same; sharing costs far less CPU per request when a process holds
   * many sessions. Servers without Sessions are handled either way.
   */
  readonly multiplex?: boolean;
  /**
   * TLS to the nodes, PEM strings or Buffers: `ca` the cluster CA, `cert` and `key` this client's certificate for
   * mutual TLS (required by a node serving with --tls-ca). Never shown by util.inspect or JSON.stringify.
   */
  readonly tls?: TlsOptions;
  /**
   * Credentials for a cluster with auth enabled: a token from `forelock login`, or a user and password the SDK logs in
   * with (Admin.Login on any node that answers) before it opens the session, and again before the token expires (at
   * 80% of its life) and once when a call is refused as UNAUTHENTICATED. Every stream and admin call carries the token
   * as `authorization: Bearer TOKEN`. A session stream stays authenticated while its user is unchanged. Never shown by
   * util.inspect or JSON.stringify.
   */
  readonly auth?: AuthOptions;
}

/** Options of `acquire()`. */
export interface AcquireOptions {
  /** Default 'exclusive'. */
  readonly mode?: LockMode;
  /** How long to wait in the queue: 0 tries once (LockBusyError when taken), Infinity waits until aborted. Default 30,000 ms. */
  readonly waitMs?: number;
  /** Aborting it while waiting cancels the waiter on the server and rejects with AbortError. */
  readonly signal?: AbortSignal;
  /** Every resource this lock protects checks the fencing token (revocations may then be immediate). Default false. */
  readonly fenced?: boolean;
  /** False: the cluster never pre-empts this grant (it may still warn). Default true. */
  readonly preemptible?: boolean;
  /** A value kept with the grant while held (at most 1 KiB), visible to `forelock locks` and elections. */
  readonly metadata?: string;
  /**
   * Registered with `lock.onWarning()` at the grant: answers each Staleness Warning with `'ack'`, `'releasing'` or
   * `{ checkpointing: ms }`. Default: every warning is acknowledged.
   */
  readonly onWarning?: WarningHandler;
  /** Registered with `lock.onPreemption()` at the grant: called on a Pre-emption Request. */
  readonly onPreemptionRequest?: PreemptionHandler;
}

/** The client's session: aborted `signal` means every lock of this client is gone and the client is unusable. */
export class ClientSession {
  /** Made on first use: most sessions never register an advisory handler. */
  private advisoryHandlers: Set<AdvisoryHandler> | null = null;

  /** @internal made by the Client. */
  constructor(
    private readonly connection: SessionConnection,
    private readonly controller: AbortController,
    private readonly report: DeadlineReporter,
  ) {}

  /** The session id the cluster assigned. */
  get id(): string {
    return this.connection.id;
  }

  /** What JSON.stringify shows: the id, never the secret (docs/design.md, principle 8). */
  toJSON(): { id: string } {
    return { id: this.id };
  }

  /** What console.log and util.inspect show: the id, never the secret. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ClientSession { id: ${JSON.stringify(this.id)} }`;
  }

  /** Aborted when the session is gone (ended by the cluster, closed, or its promise passed with no renewal). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Epoch ms (comparable with `Date.now()`) until which the session is known alive, from the guarantees received. */
  get safeUntil(): number {
    return this.report(this.connection.tracker.sessionSafeUntilMs);
  }

  /** The leader the session stream is open to, or null while failing over. */
  get connectedTo(): string | null {
    return this.connection.connectedTo;
  }

  /**
   * Calls `handler` on each Session Advisory: once when an episode of a session condition begins (`active` true) and
   * once when it ends (`active` false, same `advisoryId`). The same advisories reach `lock.events()` of every lock held
   * at the time. An advisory changes no safe period. Returns a function that unregisters the handler.
   */
  onAdvisory(handler: AdvisoryHandler): () => void {
    this.advisoryHandlers ??= new Set();
    const handlers = this.advisoryHandlers;
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  /** @internal called by the client: runs the advisory handlers. */
  advised(advisory: SessionAdvisory): void {
    if (this.advisoryHandlers === null) return;
    for (const handler of [...this.advisoryHandlers]) handler(advisory);
  }
}

/** A connected client: one session on the leader, with its locks. Create it with `connect()`. */
export class Client implements LockOwner {
  /** The session every lock of this client belongs to. */
  readonly session: ClientSession;

  /** What JSON.stringify shows: the session id, the endpoints and the names held (docs/design.md, principle 8). */
  toJSON(): { session: string; endpoints: readonly string[]; locks: string[] } {
    return { session: this.session.id, endpoints: this.endpoints, locks: [...this.held.keys()] };
  }

  /** What console.log and util.inspect show: no session secret, no TLS key. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Client ${JSON.stringify(this.toJSON())}`;
  }
  private readonly sessionController = new AbortController();
  /** Held locks by name, with the last Pre-emption Request their handlers heard (revokeAtMs/warningId). */
  private readonly held = new Map<string, { lock: Lock; lastPreemption?: string }>();
  private readonly report: DeadlineReporter;
  private safetyTimer: NodeJS.Timeout | null = null;
  /** When the armed safety check runs (internal clock; Infinity when none is armed). */
  private safetyCheckAtMs = Number.POSITIVE_INFINITY;
  private adminClient: AdminClient | null = null;
  private readonly advisoryFilter = new AdvisoryFilter();
  private closed = false;

  /** @internal use connect(); `admin` is the client's admin client when it was made first (to log in). */
  constructor(
    private readonly connection: SessionConnection,
    private readonly endpoints: readonly string[],
    private readonly clock: Clock,
    reportedClock: Clock,
    admin: AdminClient | null = null,
  ) {
    this.adminClient = admin;
    this.report = deadlineReporter(clock, reportedClock);
    this.session = new ClientSession(connection, this.sessionController, this.report);
    const listener: ConnectionListener = {
      opened: (opened, resumed) => this.reconcile(opened, resumed),
      lockFrame: (frame) => this.onLockFrame(frame),
      advisory: (advisory) => this.onAdvisoryFrame(advisory),
      safeUntilChanged: () => this.scheduleSafetyCheck(),
      ended: (error) => this.onSessionEnded(error),
    };
    connection.listen(listener);
  }

  /**
   * Acquires `name`. Resolves with the Lock once granted; rejects with LockBusyError (try-lock), TimeoutError (the
   * wait ran out; the waiter is cancelled), AbortError (`signal` aborted; the waiter is cancelled), AlreadyHeldError,
   * DeadlockError, InvalidArgumentError, SessionExpiredError, ...
   */
  acquire(name: string, options: AcquireOptions = {}): Promise<Lock> {
    const mode = options.mode ?? 'exclusive';
    const waitMs = options.waitMs ?? 30_000;
    const signal = options.signal;
    if (this.closed) return Promise.reject(new ClientClosedError('the client is closed; connect() again'));
    if (!(waitMs >= 0)) {
      return Promise.reject(new InvalidArgumentError(`waitMs must be >= 0 (or Infinity), got ${waitMs}`));
    }
    // Checked here as well as typed: a JavaScript caller's mode: 'write' must not become an exclusive lock unasked.
    if (mode !== 'exclusive' && mode !== 'shared') {
      return Promise.reject(
        new InvalidArgumentError(`mode must be 'exclusive' or 'shared', got ${JSON.stringify(mode)}`),
      );
    }
    // The server's own rules, checked before sending: an oversized field would otherwise make a frame larger than
    // the server accepts, which ends the whole session stream instead of failing this one request.
    const fieldProblem = lockNameProblem(name) ?? metadataProblem(options.metadata);
    if (fieldProblem !== null) return Promise.reject(new InvalidArgumentError(fieldProblem));
    if (signal?.aborted) return Promise.reject(new AbortError(`acquire of "${name}" aborted before it was sent`));
    return new Promise<Lock>((resolve, reject) => {
      let waiting = true;
      let timer: NodeJS.Timeout | null = null;
      let seq = 0;
      // Declared first: the connection may fail the request synchronously (a session that already ended).
      const settle = () => {
        waiting = false;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const giveUp = (error: ForelockError) => {
        if (!waiting) return;
        settle();
        reject(error);
        this.cancelWaiter(seq, name);
      };
      const onAbort = () => giveUp(new AbortError(`acquire of "${name}" aborted`, { cause: signal?.reason }));
      const onFrame = (frame: RequestFrame): boolean => {
        if (frame.frame === 'acquire') {
          const result = frame.acquire;
          if (result.status === 'QUEUED') return false;
          const token = BigInt(result.token);
          if (grantFate(waiting) === 'hand-back') {
            // Granted after this client gave up: hand it straight back.
            this.sendRelease(name, token, () => true);
            return true;
          }
          settle();
          resolve(
            this.adopt(
              {
                name,
                mode: modeFromWire(result.mode),
                token,
                fenced: result.fenced,
                grantedAtMs: result.grantedAtMs,
              },
              options,
            ),
          );
          return true;
        }
        if (frame.frame === 'error' && waiting) {
          settle();
          reject(errorFromServerCode(frame.error));
        }
        return true;
      };
      seq = this.connection.request(
        (requestSeq) => ({
          acquire: {
            requestSeq: String(requestSeq),
            name,
            mode: modeToWire(mode),
            fenced: options.fenced ?? false,
            // never_preempt is what servers read; the deprecated preemptible is kept for servers that predate it.
            preemptible: options.preemptible ?? true,
            neverPreempt: options.preemptible === false,
            waitMs: Math.min(waitMs, MAX_WIRE_WAIT_MS),
            metadata: options.metadata ?? '',
          },
        }),
        onFrame,
        (error) => {
          if (!waiting) return;
          settle();
          reject(error);
        },
      );
      if (!waiting) return;
      signal?.addEventListener('abort', onAbort, { once: true });
      if (waitMs > 0 && Number.isFinite(waitMs)) {
        timer = setTimeout(
          () => giveUp(new TimeoutError(`lock "${name}" was not granted within ${waitMs} ms`)),
          waitMs,
        );
      }
    });
  }

  /** Acquires `name`, runs `work` holding it, and always releases it (also when `work` throws). */
  async withLock<T>(name: string, work: (lock: Lock) => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    const lock = await this.acquire(name, options);
    let result: T;
    try {
      result = await work(lock);
    } catch (err) {
      await lock.release().catch(() => {});
      throw err;
    }
    await lock.release();
    return result;
  }

  /** A leader election named `name`, built on the exclusive lock `election/<name>`. */
  election(name: string): Election {
    return new Election(this, name);
  }

  /**
   * Calls `handler` on each Session Advisory (the begin and the end of each episode of a session condition); the same
   * as `client.session.onAdvisory(handler)`. Returns a function that unregisters the handler.
   */
  onAdvisory(handler: AdvisoryHandler): () => void {
    return this.session.onAdvisory(handler);
  }

  /** An admin client over the same endpoints and credentials (created on first use, closed with this client). */
  admin(): AdminClient {
    this.adminClient ??= new AdminClient({
      endpoints: this.endpoints,
      credentials: channelCredentials(this.connection.tls),
    });
    return this.adminClient;
  }

  /** The locks this client holds now. */
  locks(): Lock[] {
    return [...this.held.values()].map((h) => h.lock);
  }

  /** Closes the session (the cluster releases its locks) and every channel. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connection.close();
    this.adminClient?.close();
    if (this.safetyTimer) clearTimeout(this.safetyTimer);
  }

  /** @internal LockOwner: sends the release with the lock's token. */
  releaseLock(lock: Lock): Promise<void> {
    const entry = this.held.get(lock.name);
    if (!entry || entry.lock !== lock) return Promise.resolve();
    this.held.delete(lock.name);
    this.connection.tracker.forgetLock(lock.name);
    lock.end(() => new LockReleasedError(`lock "${lock.name}" was released`));
    return new Promise((resolve, reject) => {
      this.sendRelease(
        lock.name,
        lock.token,
        (frame) => {
          if (frame.frame === 'done') resolve();
          else if (frame.frame === 'error') {
            const error = errorFromServerCode(frame.error);
            if (error instanceof NotHeldError || error instanceof StaleTokenError) {
              reject(
                new LockLostError(
                  `lock "${lock.name}" (token ${lock.token}) had already been taken away when it was released`,
                  'revoked',
                  { cause: error },
                ),
              );
            } else reject(error);
          }
          return true;
        },
        (error) => {
          if (error instanceof ClientClosedError || this.closed) resolve();
          else
            reject(
              new LockLostError(`lock "${lock.name}" was lost with its session`, 'session-ended', { cause: error }),
            );
        },
      );
    });
  }

  /** @internal LockOwner: the lock's safe deadline, as reported to users. */
  safeUntilOf(lock: Lock): number {
    return this.report(this.deadlineOf(lock));
  }

  /** The lock's safe deadline on the internal clock. */
  private deadlineOf(lock: Lock): number {
    return this.connection.tracker.lockSafeUntilMs(lock.name, lock.token);
  }

  /** @internal test-only: freeze (true) or thaw (false) this client's outgoing frames, keepalives included. */
  simulatePause(paused: boolean): void {
    this.connection.simulatePause(paused);
  }

  private sendRelease(
    name: string,
    token: bigint,
    onFrame: (frame: RequestFrame) => boolean,
    onSessionEnd: (error: ForelockError) => void = () => {},
  ): void {
    this.connection.request(
      (requestSeq) => ({ release: { requestSeq: String(requestSeq), name, token: token.toString() } }),
      onFrame,
      onSessionEnd,
    );
  }

  /** Cancels a queued acquire; if it was granted meanwhile, re-asks its fate so the grant gets released. */
  private cancelWaiter(acquireSeq: number, name: string): void {
    const cancelAnswered = giveUpAcquire(this.connection, acquireSeq);
    this.connection.request(
      (requestSeq) => ({ cancel: { requestSeq: String(requestSeq), name } }),
      (frame) => {
        cancelAnswered(frame.frame === 'done');
        return true;
      },
      () => {},
    );
  }

  private adopt(grant: LockGrant, options: AcquireOptions): Lock {
    const lock = new Lock(this, grant);
    if (options.onWarning) lock.onWarning(options.onWarning);
    if (options.onPreemptionRequest) lock.onPreemption(options.onPreemptionRequest);
    this.connection.tracker.forgetLock(grant.name);
    this.held.set(grant.name, { lock });
    // O(1) per grant: a new lock is safe until the session's deadline, which the armed check already covers.
    this.armSafetyCheck(this.deadlineOf(lock));
    return lock;
  }

  private lose(name: string, error: LockLostError): void {
    const entry = this.held.get(name);
    if (!entry) return;
    this.held.delete(name);
    this.connection.tracker.forgetLock(name);
    entry.lock.end(() => error);
  }

  /** After resuming: the locks this client holds but the cluster no longer lists for the session are lost. */
  private reconcile(opened: WireSessionOpened, resumed: boolean): void {
    if (!resumed) return;
    const listed = opened.held.map((h) => ({ name: h.name, token: BigInt(h.token) }));
    const held = [...this.held.values()].map(({ lock }) => lock);
    for (const name of locksLostOnResume(held, listed)) {
      this.lose(name, new LockLostError(`lock "${name}" was not held by the session when it resumed`, 'not-resumed'));
    }
  }

  private onLockFrame(frame: LockFrame): void {
    switch (frame.frame) {
      case 'revoked': {
        const notice = frame.revoked;
        const entry = this.held.get(notice.resourceId);
        if (entry && entry.lock.token === BigInt(notice.token)) {
          this.lose(
            notice.resourceId,
            new LockLostError(
              `lock "${notice.resourceId}" was revoked (${notice.cause}${notice.reason ? `: ${notice.reason}` : ''})`,
              'revoked',
            ),
          );
        }
        return;
      }
      case 'preemption': {
        const request = frame.preemption;
        const entry = this.held.get(request.resourceId);
        const token = BigInt(request.token);
        if (!entry || entry.lock.token !== token) return;
        this.connection.tracker.preemptionReceived(
          request.resourceId,
          token,
          Number(frame.lastKeepaliveSeq),
          request.graceMs,
          entry.lock.fenced,
        );
        this.scheduleSafetyCheck();
        // A resumed session is sent again the requests it may have missed: handlers hear each request once.
        const key = `${request.revokeAtMs}/${request.warningId}`;
        if (entry.lastPreemption === key) return;
        entry.lastPreemption = key;
        entry.lock.preempted({
          name: request.resourceId,
          token,
          graceMs: request.graceMs,
          reason: request.reason,
          warningId: request.warningId,
        });
        return;
      }
      case 'warning': {
        const warning = frame.warning;
        const entry = this.held.get(warning.resourceId);
        const token = BigInt(warning.token);
        if (!entry || entry.lock.token !== token) return;
        const response = entry.lock.warned({
          warningId: warning.warningId,
          name: warning.resourceId,
          token,
          predictedStalenessMs: warning.predictedStalenessMs,
          preemptionScore: warning.preemptionScore,
          probability: warning.probability,
          reasons: warning.reasons,
          ackTimeoutMs: warning.ackTimeoutMs,
        });
        if (!response) return;
        this.connection.sendOneWay({
          warningAnswer: {
            warningId: warning.warningId,
            name: warning.resourceId,
            kind: response.kind === 'ack' ? 'ACK' : response.kind === 'checkpointing' ? 'CHECKPOINTING' : 'RELEASING',
            checkpointMs: response.kind === 'checkpointing' ? response.checkpointMs : 0,
          },
        });
        return;
      }
    }
  }

  /**
   * A Session Advisory, heard once per begin and end (a repeat after a resumption is dropped): by the event streams
   * of every lock held now, then by the session's handlers. Safe periods are left as they are.
   */
  private onAdvisoryFrame(wire: WireSessionAdvisory): void {
    if (this.advisoryFilter.isRepeat(wire)) return;
    const advisory = advisoryFromWire(wire);
    for (const { lock } of this.held.values()) lock.advised(advisory);
    this.session.advised(advisory);
  }

  /** Makes sure a safety check runs by the earliest safe deadline of the session and its locks. */
  private scheduleSafetyCheck(): void {
    this.armSafetyCheck(nextLapseAtMs(this.connection.tracker.sessionSafeUntilMs, this.lockDeadlines()));
  }

  /** Each held lock's safe deadline on the internal clock. */
  private lockDeadlines(): LockDeadline[] {
    return [...this.held.values()].map(({ lock }) => ({ name: lock.name, safeUntilMs: this.deadlineOf(lock) }));
  }

  /**
   * Arms the safety check for `atMs` unless one is armed no later: a check that comes early finds nothing passed and
   * re-arms for what is left, so deadlines that move later (every renewal) need no new timer.
   */
  private armSafetyCheck(atMs: number): void {
    if (this.connection.ended || !Number.isFinite(atMs) || atMs >= this.safetyCheckAtMs) return;
    if (this.safetyTimer) clearTimeout(this.safetyTimer);
    this.safetyCheckAtMs = atMs;
    this.safetyTimer = setTimeout(() => this.checkSafety(), Math.ceil(Math.max(0, atMs - this.clock.now())));
    this.safetyTimer.unref();
  }

  private checkSafety(): void {
    this.safetyTimer = null;
    this.safetyCheckAtMs = Number.POSITIVE_INFINITY;
    const lapse = lapsedAt(this.clock.now(), this.connection.tracker.sessionSafeUntilMs, this.lockDeadlines());
    for (const name of lapse.locks) {
      const { lock } = this.held.get(name)!;
      this.lose(
        name,
        new LockLostError(
          `lock "${name}" passed its safe period with no renewal from the cluster; treat it as lost`,
          'safe-period-passed',
        ),
      );
      // If the session is still alive, hand the lock back so the next holder need not wait for expiry.
      this.sendRelease(name, lock.token, () => true);
    }
    if (lapse.session) this.connection.promisePassed();
    else this.scheduleSafetyCheck();
  }

  private onSessionEnded(error: ForelockError): void {
    if (this.safetyTimer) clearTimeout(this.safetyTimer);
    this.safetyTimer = null;
    for (const name of [...this.held.keys()]) {
      this.lose(name, new LockLostError(`lock "${name}" was lost with its session: ${error.message}`, 'session-ended'));
    }
    this.sessionController.abort(error);
  }
}

/**
 * Opens a session on the cluster (finding the leader among `endpoints`) and returns the client.
 *
 * @example
 * const client = await connect({ endpoints: ['127.0.0.1:7400'], ttlMs: 10_000, name: 'worker-1' });
 * await client.withLock('orders/42', async (lock) => {
 *   await store.write(order, { fencingToken: lock.token, signal: lock.signal });
 * });
 * await client.close();
 */
export async function connect(options: ConnectOptions = {}): Promise<Client> {
  const endpoints = options.endpoints ?? ['127.0.0.1:7400'];
  const ttlMs = options.ttlMs ?? 10_000;
  const clock = options.clock ?? monotonicEpochClock;
  const reportedClock = options.clock ?? systemClock;
  let connection: SessionConnection;
  // With credentials, the client's admin client logs in (and renews) for the session and for admin calls alike.
  let admin: AdminClient | null = null;
  try {
    const tls = options.tls === undefined ? undefined : clientTls(options.tls);
    if (options.auth !== undefined) {
      admin = new AdminClient({ endpoints, ...(options.tls && { tls: options.tls }), auth: options.auth, clock });
    }
    connection = new SessionConnection({
      endpoints,
      ttlMs,
      openTimeoutMs: options.openTimeoutMs ?? defaultOpenTimeoutMs(ttlMs),
      clientName: options.name ?? `node-${process.pid}`,
      clock,
      rng: options.rng ?? randomRng(),
      backoff: options.backoff,
      maxDrift: options.maxDrift,
      marginMs: options.marginMs,
      onGuarantee: options.onGuarantee,
      multiplex: options.multiplex ?? true,
      ...(tls === undefined ? {} : { tls }),
      ...(admin?.tokens ? { tokens: admin.tokens } : {}),
    });
  } catch (err) {
    // Malformed endpoints, backoff or safe-period settings.
    throw new InvalidArgumentError((err as Error).message, { cause: err });
  }
  const client = new Client(connection, endpoints, clock, reportedClock, admin);
  if (options.onAdvisory) client.session.onAdvisory(options.onAdvisory);
  try {
    await connection.start(options.connectTimeoutMs ?? 10_000, options.signal);
  } catch (err) {
    await client.close();
    throw err instanceof ForelockError ? err : new InvalidArgumentError(String(err), { cause: err });
  }
  return client;
}
