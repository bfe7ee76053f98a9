// The operator client: Status, ListLocks, Revoke, membership and leadership transfer over unary Admin calls,
// following the leader as the session connection does (LeaderFollower: hints, then backoff) until the leader answers.
import { setTimeout as sleep } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import type { LockMode } from '../lock/commands.js';
import { channelCredentials, clientTls, type TlsOptions } from '../security/client-tls.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { ForelockError } from '../util/errors.js';
import { type Rng, randomRng } from '../util/rng.js';
import { type AdminCall, AuthAdmin, RoleAdmin, UserAdmin } from './admin-auth.js';
import {
  type AuthOptions,
  authorizationMetadata,
  type HeldTokenSource,
  holdTokenSource,
  type LoginResult,
  type TokenSource,
} from './auth-token.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { EndpointPool } from './endpoints.js';
import { InvalidArgumentError, NotLeaderError, TimeoutError, toForelockError, UnauthenticatedError } from './errors.js';
import { LeaderFollower } from './leader-follower.js';
import {
  type AdminMethods,
  type AdminStub,
  adminStub,
  modeFromWire,
  type UnaryMethod,
  type WireLockInfo,
  type WireStatusReply,
} from './wire.js';

/** A cluster member as Status reports it. */
export interface MemberInfo {
  readonly id: string;
  readonly address: string;
  /** "leader", "follower", "candidate" or "learner". */
  readonly role: string;
  /**
   * The leader's view of the member's replication (null when the node that answered is not the leader): whether it
   * answered within the last election timeout, the highest index replicated on it, and how far it lags the log.
   */
  readonly replication: {
    readonly reachable: boolean;
    readonly matchIndex: bigint;
    readonly lagEntries: bigint;
  } | null;
}

/** One node's view of the cluster. */
export interface ClusterStatus {
  /** The node that answered. */
  readonly id: string;
  /** The leader's id, or '' when none is known. */
  readonly leader: string;
  readonly leaderAddress: string;
  readonly term: bigint;
  readonly commitIndex: bigint;
  readonly appliedIndex: bigint;
  readonly members: readonly MemberInfo[];
  readonly sessions: number;
  readonly locks: number;
}

/** One holder of a lock. */
export interface LockHolderInfo {
  readonly session: string;
  readonly client: string;
  readonly token: bigint;
  readonly fenced: boolean;
  /** Server time of the grant, epoch ms. */
  readonly grantedAtMs: number;
  readonly mode: LockMode;
  readonly preemptible: boolean;
  readonly metadata: string;
  /** The user that opened the holding session ('' when it was opened with auth disabled). */
  readonly user: string;
}

/** A lock and its queue. */
/** Which locks `listLockPage` returns. */
export interface LockPageOptions {
  /** Only locks whose name starts with it (default: every lock). */
  readonly prefix?: string;
  /** Only locks whose name sorts after it (exclusive): the previous page's `nextAfter` (default: from the first). */
  readonly after?: string;
  /** At most this many locks (default 1,000; 0: every lock in one answer). */
  readonly limit?: number;
}

/** A page of locks: `nextAfter` continues the listing, null when this page ends it. */
export interface LockPage {
  readonly locks: LockInfo[];
  readonly nextAfter: string | null;
}

/** Locks per page when a listing does not say: an answer of a few hundred KB. */
export const DEFAULT_LOCK_PAGE = 1_000;

export interface LockInfo {
  readonly name: string;
  readonly mode: LockMode;
  readonly holders: readonly LockHolderInfo[];
  /** Queue length. */
  readonly waiters: number;
}

/** When one holder's revocation takes effect. */
export interface RevokedHolderInfo {
  readonly session: string;
  readonly token: bigint;
  /** Server time (epoch ms) at which the revocation takes effect. */
  readonly revokeAtMs: number;
  /** True for a fenced or forced revocation (at once). */
  readonly immediate: boolean;
}

/** Options of an admin client. */
export interface AdminOptions {
  /** "host:port" of any cluster members. Default ['127.0.0.1:7400']. */
  readonly endpoints?: readonly string[];
  /** Deadline of each call, following hints and backoff included. Default 10,000 ms. */
  readonly timeoutMs?: number;
  /** Channel credentials; default from `tls`, else plaintext. */
  readonly credentials?: grpc.ChannelCredentials;
  /** TLS to the nodes: the cluster CA, and a client certificate and key for mutual TLS (PEM strings or Buffers). */
  readonly tls?: TlsOptions;
  /** The clock the deadline is counted on. Default the system clock. */
  readonly clock?: Clock;
  /** Randomness of the backoff's jitter. Default Math.random. */
  readonly rng?: Rng;
  /** How the delay between failed attempts grows (the session connection's defaults). */
  readonly backoff?: BackoffOptions;
  /**
   * Credentials every call carries (`authorization: Bearer TOKEN`) once auth is enabled: a token from `forelock
   * login`, or a user and password to log in with before the first call and again before the token expires. Never
   * shown by util.inspect or JSON.stringify.
   */
  readonly auth?: AuthOptions;
}

/** Operator calls against a cluster. */
export class AdminClient {
  private readonly follower: LeaderFollower;
  private readonly stubs = new Map<string, AdminStub>();
  private readonly timeoutMs: number;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly clock: Clock;
  /** @internal the token the calls carry (null: none); a Client's sessions carry the same one. */
  readonly tokens: TokenSource | null;
  private readonly heldTokens: HeldTokenSource | null;
  /** Auth status, enable and disable. */
  readonly auth: AuthAdmin;
  /** Users and their roles. */
  readonly users: UserAdmin;
  /** Roles and their permissions. */
  readonly roles: RoleAdmin;

  constructor(options: AdminOptions = {}) {
    const endpoints = options.endpoints ?? ['127.0.0.1:7400'];
    const pool = new EndpointPool(endpoints);
    this.follower = new LeaderFollower(pool, new Backoff(options.rng ?? randomRng(), options.backoff));
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const tls = clientTls(options.tls);
    this.credentials = options.credentials ?? channelCredentials(tls);
    this.clock = options.clock ?? systemClock;
    // Clients of the same cluster (endpoints and TLS identity; given credentials are not comparable) and user share a
    // login and its token (auth-token.ts).
    const scope = options.credentials === undefined ? JSON.stringify([endpoints, tls?.channelKey ?? '']) : null;
    this.heldTokens =
      options.auth === undefined
        ? null
        : holdTokenSource(
            options.auth,
            scope,
            (user, password) => this.login(user, password),
            () => {
              const loginClient = new AdminClient({ ...options, auth: undefined, credentials: this.credentials });
              return { login: (user, password) => loginClient.login(user, password), close: () => loginClient.close() };
            },
            this.clock,
          );
    this.tokens = this.heldTokens?.tokens ?? null;
    const call: AdminCall = (method, request, callOptions) => this.call(method, request, callOptions);
    this.auth = new AuthAdmin(call);
    this.users = new UserAdmin(call);
    this.roles = new RoleAdmin(call);
  }

  /** What JSON.stringify shows: the user it logs in as, never a password or token. */
  toJSON(): { user: string | null } {
    return { user: this.tokens?.user ?? null };
  }

  /** What console.log and util.inspect show: no password, token or TLS key. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `AdminClient ${JSON.stringify(this.toJSON())}`;
  }

  /**
   * Logs in as `user` on any node that answers: a token to pass as `auth: { token }` (or FORELOCK_AUTH_TOKEN), and
   * when it expires (the node's epoch ms). UnauthenticatedError for a wrong user or password, AuthNotEnabledError
   * while auth is disabled.
   */
  async login(user: string, password: string): Promise<LoginResult> {
    const reply = await this.call('Login', { user, password }, { leaderOnly: false, anonymous: true });
    return { token: reply.token, expiresAtMs: Number(reply.expiresAtMs) };
  }

  /** The cluster's status as the leader sees it (or, with no leader, as the first node that answers does). */
  async status(): Promise<ClusterStatus> {
    return statusFromWire(await this.call('Status', {}, { leaderOnly: false }));
  }

  /**
   * Every lock whose name starts with `prefix`, with holders and queue length, sorted by name: fetched in pages of
   * `pageSize` (each a linearizable read), so that no answer grows with the cluster.
   */
  async listLocks(prefix = '', pageSize = DEFAULT_LOCK_PAGE): Promise<LockInfo[]> {
    const locks: LockInfo[] = [];
    for await (const page of this.lockPages({ prefix, limit: pageSize })) locks.push(...page.locks);
    return locks;
  }

  /**
   * One page of the locks whose name starts with `prefix` and sorts after `after` (exclusive): at most `limit` (0:
   * all), sorted by name, with `nextAfter` to pass as `after` for the next page (null when this page ends the listing).
   */
  async listLockPage(options: LockPageOptions = {}): Promise<LockPage> {
    const limit = options.limit ?? DEFAULT_LOCK_PAGE;
    if (!(Number.isInteger(limit) && limit >= 0 && limit <= 0xffffffff)) {
      throw new InvalidArgumentError(`limit must be an integer from 0 to ${0xffffffff}, got ${limit}`);
    }
    const request = { prefix: options.prefix ?? '', limit, after: options.after ?? '' };
    const reply = await this.call('ListLocks', request, { leaderOnly: true });
    return { locks: reply.locks.map(lockFromWire), nextAfter: reply.nextAfter === '' ? null : reply.nextAfter };
  }

  /** The pages of a listing from `after` on, one call each, until the last (see listLockPage). */
  async *lockPages(options: LockPageOptions = {}): AsyncGenerator<LockPage> {
    let after = options.after ?? '';
    for (;;) {
      const page = await this.listLockPage({ ...options, after });
      yield page;
      if (page.nextAfter === null) return;
      after = page.nextAfter;
    }
  }

  /** Revokes `name` (one holder of a shared lock with `session`); says when each revocation takes effect. */
  async revoke(
    name: string,
    options: { session?: string; force?: boolean; reason?: string } = {},
  ): Promise<RevokedHolderInfo[]> {
    const reply = await this.call(
      'Revoke',
      { name, session: options.session ?? '', force: options.force ?? false, reason: options.reason ?? '' },
      { leaderOnly: true },
    );
    return reply.revoked.map((r) => ({
      session: r.session,
      token: BigInt(r.token),
      revokeAtMs: r.revokeAtMs,
      immediate: r.immediate,
    }));
  }

  /**
   * Adds a member by the address it serves clients and peers on: a non-voting learner (promote it with
   * promoteMember() once it has caught up), or with `voter: true` a voter at once, which the leader refuses
   * (MembershipChangeRefusedError) when the cluster would lose its quorum if the new member never started.
   */
  async addMember(id: string, address: string, options: { voter?: boolean } = {}): Promise<ClusterStatus> {
    return statusFromWire(
      await this.call('AddMember', { id, address, learner: !(options.voter ?? false) }, { leaderOnly: true }),
    );
  }

  /**
   * Promotes a learner to voter; refused (MembershipChangeRefusedError) until it has caught up, and with
   * MemberNotFoundError for an id the cluster does not have.
   */
  async promoteMember(id: string): Promise<ClusterStatus> {
    return statusFromWire(await this.call('PromoteMember', { id }, { leaderOnly: true }));
  }

  /**
   * Removes a member. The leader refuses (MembershipChangeRefusedError) to remove a voter when fewer than a quorum
   * of the remaining voters are started, unless `force` (the removed member is gone for good).
   */
  async removeMember(id: string, options: { force?: boolean } = {}): Promise<ClusterStatus> {
    return statusFromWire(await this.call('RemoveMember', { id, force: options.force ?? false }, { leaderOnly: true }));
  }

  /**
   * A backup of the cluster: the leader's state after a linearizable read, as the bytes of a snapshot file (format
   * version, cluster id, index, term, membership, image and SHA-256 checksum) for `forelock snapshot status` and
   * `forelock snapshot restore`.
   */
  async snapshot(): Promise<Uint8Array> {
    return this.followLeader('Snapshot', { leaderOnly: true }, (address, timeoutMs, metadata) =>
      this.download(address, timeoutMs, metadata),
    );
  }

  /** Hands leadership to voter `id` (MemberNotFoundError for an id the cluster does not have). */
  async transferLeadership(id: string): Promise<ClusterStatus> {
    return statusFromWire(await this.call('TransferLeadership', { id }, { leaderOnly: true }));
  }

  /** Closes every channel (and lets go of a login shared with other clients). */
  close(): void {
    this.heldTokens?.release();
    for (const stub of this.stubs.values()) stub.close();
    this.stubs.clear();
  }

  private stub(address: string): AdminStub {
    let stub = this.stubs.get(address);
    if (!stub) {
      stub = adminStub(address, this.credentials);
      this.stubs.set(address, stub);
    }
    return stub;
  }

  /**
   * Calls `method` on the leader, with the session connection's rule (LeaderFollower): tries the endpoints in turn,
   * follows NotLeader hints, and backs off between other retriable failures until the call's deadline. Status is
   * served by any node, but the leader's answer is preferred: a follower's answer redirects to the leader it names,
   * and is returned when the leader cannot be reached.
   */
  private call<M extends keyof AdminMethods>(
    method: M,
    request: AdminMethods[M][0],
    options: { leaderOnly: boolean; anonymous?: boolean },
  ): Promise<AdminMethods[M][1]> {
    return this.followLeader(method, options, (address, timeoutMs, metadata) =>
      this.unary(address, method, request, timeoutMs, metadata),
    );
  }

  /**
   * The leader-following loop of call(), around one `attempt` at an address (a unary call or a stream), carrying the
   * client's token unless `anonymous`. A call refused as UNAUTHENTICATED is made once more after a new login.
   */
  private async followLeader<Reply>(
    method: string,
    options: { leaderOnly: boolean; anonymous?: boolean },
    attempt: (address: string, timeoutMs: number, metadata: grpc.Metadata) => Promise<Reply>,
  ): Promise<Reply> {
    const deadlineMs = this.clock.now() + this.timeoutMs;
    const tokens = options.anonymous ? null : this.tokens;
    let lastError: ForelockError | null = null;
    let fallback: Reply | null = null;
    let renewedAfterRefusal = false;
    while (this.clock.now() < deadlineMs) {
      const address = this.follower.next();
      let delayMs: number | null;
      // A login that fails has already tried the endpoints until its own deadline: its error is the call's.
      const token = tokens === null ? null : await tokens.current();
      try {
        const reply = await attempt(address, deadlineMs - this.clock.now(), authorizationMetadata(token));
        const status = method === 'Status' ? (reply as WireStatusReply) : null;
        if (
          status === null ||
          status.leaderAddress === '' ||
          status.leader === status.id ||
          status.leaderAddress === address
        ) {
          this.follower.succeeded();
          return reply;
        }
        // A follower answered Status: remember its answer, but prefer the leader's view.
        fallback ??= reply;
        delayMs = this.follower.redirected(status.leaderAddress);
      } catch (err) {
        lastError = toForelockError(err);
        if (
          lastError instanceof UnauthenticatedError &&
          tokens !== null &&
          !renewedAfterRefusal &&
          (await tokens.renewAfterRefusal(token))
        ) {
          renewedAfterRefusal = true;
          continue;
        }
        if (lastError.retriable && !(lastError instanceof NotLeaderError) && fallback && !options.leaderOnly) {
          return fallback;
        }
        delayMs = this.follower.failed(address, lastError);
        if (delayMs === null) throw lastError;
      }
      if (delayMs > 0) await sleep(Math.min(delayMs, Math.max(0, deadlineMs - this.clock.now())));
    }
    if (fallback) return fallback;
    throw new TimeoutError(`admin ${method} found no leader within ${this.timeoutMs} ms`, { cause: lastError });
  }

  /** The Snapshot stream of `address`, collected, which gRPC abandons after `timeoutMs`. */
  private download(address: string, timeoutMs: number, metadata: grpc.Metadata): Promise<Uint8Array> {
    const stub = this.stub(address);
    const deadline = systemClock.now() + Math.max(0, timeoutMs);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const stream = stub.Snapshot({}, metadata, { deadline });
      stream.on('data', (response: { chunk: Buffer }) => chunks.push(response.chunk));
      stream.on('error', reject);
      stream.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    });
  }

  /** One unary call to `address`, which gRPC abandons after `timeoutMs`. */
  private unary<M extends keyof AdminMethods>(
    address: string,
    method: M,
    request: AdminMethods[M][0],
    timeoutMs: number,
    metadata: grpc.Metadata,
  ): Promise<AdminMethods[M][1]> {
    const stub = this.stub(address);
    const fn = stub[method] as unknown as UnaryMethod<AdminMethods[M][0], AdminMethods[M][1]>;
    // gRPC deadlines are wall-clock instants: the time left on the injected clock, from now on the system one.
    const deadline = systemClock.now() + Math.max(0, timeoutMs);
    return new Promise((resolve, reject) => {
      fn.call(stub, request, metadata, { deadline }, (err, response) => {
        if (err) reject(err);
        else resolve(response as AdminMethods[M][1]);
      });
    });
  }
}

function statusFromWire(reply: WireStatusReply): ClusterStatus {
  return {
    id: reply.id,
    leader: reply.leader,
    leaderAddress: reply.leaderAddress,
    term: BigInt(reply.term),
    commitIndex: BigInt(reply.commitIndex),
    appliedIndex: BigInt(reply.appliedIndex),
    members: reply.members.map((m) => ({
      id: m.id,
      address: m.address,
      role: m.role,
      replication:
        reply.leader !== '' && reply.leader === reply.id
          ? { reachable: m.reachable, matchIndex: BigInt(m.matchIndex), lagEntries: BigInt(m.lagEntries) }
          : null,
    })),
    sessions: reply.sessions,
    locks: reply.locks,
  };
}

function lockFromWire(lock: WireLockInfo): LockInfo {
  return {
    name: lock.name,
    mode: modeFromWire(lock.mode),
    waiters: lock.waiters,
    holders: lock.holders.map((h) => ({
      session: h.session,
      client: h.client,
      token: BigInt(h.token),
      fenced: h.fenced,
      grantedAtMs: h.grantedAtMs,
      mode: modeFromWire(h.mode),
      preemptible: h.preemptible,
      metadata: h.metadata,
      user: h.user,
    })),
  };
}
