// The replicated lock state machine: sessions, locks, FIFO waiters, fencing tokens, lock-delay, deadlock detection,
// request dedup and usage history. Deterministic: time comes only from entries (docs/design.md, principle 7), no
// clock, no I/O.
import { AuthState, type AuthStateData } from '../auth/auth-state.js';
import type { Entry, RestoreJob, SnapshotJob, StateMachine } from '../raft/types.js';
import { decodeLockData, isLockBatch, lockPackr } from './codec.js';
import {
  type LockBatchEntry,
  type LockCommand,
  type LockEntry,
  type LockErrorCode,
  type LockEvent,
  type LockMode,
  type LockResult,
  type RevokeCause,
  WAIT_WITHOUT_LIMIT_MS,
  type WaitRef,
} from './commands.js';
import { type Blocker, findWaitCycle, type WaitEdge, type WaitsForGraph } from './deadlock.js';
import { DedupWindow, type DedupWindowData, describeRequest } from './dedup.js';
import { type ImageField, ImageReader, ImageWriter, recordsField } from './image-slices.js';
import { secretMatches } from './secret.js';
import {
  defaultUsageLimits,
  type ResourceUsageEntry,
  type ResourceUsageView,
  UsageHistory,
  type UsageLimits,
} from './usage.js';
import {
  clientNameProblem,
  compatible,
  lockNameProblem,
  metadataProblem,
  modeProblem,
  requestSeqProblem,
  ttlProblem,
} from './validation.js';
import { WaiterQueue } from './waiter-queue.js';

/** Limits and policies of a lock state machine; every node of a cluster must use the same. */
export interface LockStateMachineOptions {
  /** Open sessions allowed per client name (TOO_MANY_SESSIONS beyond). Default 16,384. */
  readonly maxSessionsPerClient?: number;
  /** Waiters allowed per lock (TOO_MANY_WAITERS beyond). Default 10,000. */
  readonly maxWaitersPerLock?: number;
  /** After a forced revocation or a session expiry the lock is not granted again for this long. Default 0. */
  readonly lockDelayMs?: number;
  /** Results remembered per session for retried requests. Default 128. */
  readonly dedupWindow?: number;
  /** Bounds of the per-resource usage history. */
  readonly usage?: Partial<UsageLimits>;
}

/** An operator's revoke of one hold that takes effect later (see the 'revoke-scheduled' command). */
export interface ScheduledRevocationView {
  readonly cause: RevokeCause;
  readonly reason: string;
  /** When the leader that scheduled it meant to revoke (its epoch ms). */
  readonly revokeAtMs: number;
}

/** A scheduled revocation with the hold it applies to, as a new leader re-arms it. */
export interface PendingRevocationView extends ScheduledRevocationView {
  readonly name: string;
  readonly sessionId: string;
  readonly token: bigint;
  readonly fenced: boolean;
}

/** A holder of a lock, as the server and the SPM see it. */
export interface HolderView {
  readonly sessionId: string;
  readonly clientName: string;
  /** The user that opened the holder's session ('' when it was opened with auth off). */
  readonly user: string;
  readonly requestSeq: number;
  readonly mode: LockMode;
  readonly token: bigint;
  readonly fenced: boolean;
  readonly preemptible: boolean;
  /** The acquire's metadata ('' when none), e.g. an election candidate's identity. */
  readonly metadata: string;
  readonly grantedAtMs: number;
  /** An operator's revoke scheduled for this hold, if any. */
  readonly scheduledRevocation?: ScheduledRevocationView;
}

/** A queued acquire. */
export interface WaiterView {
  readonly sessionId: string;
  readonly clientName: string;
  /** The user that opened the waiter's session ('' when it was opened with auth off). */
  readonly user: string;
  readonly requestSeq: number;
  readonly mode: LockMode;
  readonly fenced: boolean;
  readonly preemptible: boolean;
  /** The acquire's metadata ('' when none), e.g. an election candidate's identity. */
  readonly metadata: string;
  readonly enqueuedAtMs: number;
  /** Entry time at which the leader cancels this waiter (its acquire's `waitMs` ran out); absent: no limit. */
  readonly waitUntilMs?: number;
}

/** One lock: its holders, its waiters in grant order, and any lock-delay in force. */
export interface LockView {
  readonly name: string;
  /** The holders' mode, or null when nobody holds it. */
  readonly mode: LockMode | null;
  readonly holders: readonly HolderView[];
  readonly waiters: readonly WaiterView[];
  /** Entry time before which nothing is granted (0 when no lock-delay is in force). */
  readonly delayUntilMs: number;
}

/** One open session. */
export interface SessionView {
  readonly sessionId: string;
  readonly clientName: string;
  /** The user that opened it ('' when it was opened with auth off). */
  readonly user: string;
  readonly ttlMs: number;
  readonly openedAtMs: number;
  /** Names of the locks it holds, sorted. */
  readonly held: readonly string[];
  /** Names of the locks it waits for, sorted. */
  readonly waiting: readonly string[];
}

/** A hold as stored: its view without the client name (looked up from the session when viewed). */
type Holder = Omit<HolderView, 'clientName' | 'user' | 'scheduledRevocation'> & {
  /** Replicated with the hold (and its snapshots); ends with it. */
  scheduledRevocation?: ScheduledRevocationView;
};

/** A page of locks (LockStateMachine.lockPage). */
export interface LockPage {
  readonly locks: LockView[];
  /** Pass as `after` for the next page; null when this page ends the listing. */
  readonly nextAfter: string | null;
}

/** One lock a session holds, with its hold (LockStateMachine.sessionHolds). */
export interface SessionHold {
  readonly name: string;
  readonly holder: HolderView;
}

/** A queued acquire as stored: its view without the client name and user. */
type Waiter = Omit<WaiterView, 'clientName' | 'user'>;

interface LockState {
  readonly name: string;
  holders: Holder[];
  /** In grant order; cancel and hand-off are O(1) at any length (waiter-queue.ts). */
  readonly waiters: WaiterQueue<Waiter>;
  delayUntilMs: number;
}

interface SessionState {
  readonly sessionId: string;
  readonly secretHash: string;
  readonly ttlMs: number;
  readonly clientName: string;
  /** The user that opened it ('' with auth off; absent in snapshots written before auth existed). */
  readonly user?: string;
  readonly openedAtMs: number;
  readonly dedup: DedupWindow;
  /**
   * Per lock name, the sequence of the latest cancel: an acquire issued before it (lower sequence) that reaches the
   * log only afterwards (a retry in flight) is refused instead of queueing for a client that stopped waiting.
   */
  readonly cancelledBefore: Map<string, number>;
  /** Derived from the locks (rebuilt on restore): names of locks held and waited for. */
  readonly holding: Set<string>;
  readonly waitingOn: Set<string>;
  /** Derived, never in a snapshot: the number of the last deadlock search that reached this session. */
  searchMark: number;
}

/** One lock as a snapshot carries it: its waiters as an array in grant order (fields in LockState's order). */
interface LockData {
  readonly name: string;
  readonly holders: readonly Holder[];
  readonly waiters: readonly Waiter[];
  readonly delayUntilMs: number;
}

/** One session as a snapshot carries it. */
interface SessionData {
  readonly sessionId: string;
  readonly secretHash: string;
  readonly ttlMs: number;
  readonly clientName: string;
  readonly user?: string;
  readonly openedAtMs: number;
  readonly dedup: DedupWindowData;
  readonly cancelledBefore: readonly (readonly [string, number])[];
}

/**
 * What a snapshot carries, as the fields of one map in this order: version, lastToken, lastAtMs, then sessions, locks
 * and usage (arrays in the order of the maps, so a restore iterates identically), then auth (absent in snapshots
 * written before auth existed). The arrays are written and read record by record (image-slices.ts).
 */
const SNAPSHOT_VERSION = 1;
const RECORD_FIELDS: ReadonlySet<string> = new Set(['sessions', 'locks', 'usage']);
/** Bytes packed per slice of a snapshot, and read per slice of a restore (each a few ms on the development machine). */
const SNAPSHOT_SLICE_BYTES = 128 * 1024;
const RESTORE_SLICE_BYTES = 64 * 1024;

type Command<T extends LockCommand['type']> = Extract<LockCommand, { type: T }>;

const ok: LockResult = { status: 'ok' };

function fail(code: LockErrorCode, message: string): LockResult {
  return { status: 'error', code, message };
}

/**
 * The lock service's replicated state. `apply` is the only mutator (besides `restore`); it returns the LockResult
 * for the proposer and emits LockEvents synchronously to the listeners registered with `onEvent`.
 */
export class LockStateMachine implements StateMachine {
  private readonly maxSessionsPerClient: number;
  private readonly maxWaitersPerLock: number;
  private readonly lockDelayMs: number;
  private readonly dedupCapacity: number;
  private readonly usageHistory: UsageHistory;
  private readonly listeners = new Set<(event: LockEvent) => void>();

  private sessionsById = new Map<string, SessionState>();
  private locksByName = new Map<string, LockState>();
  /** Derived: open sessions per client name. */
  private sessionsPerClient = new Map<string, number>();
  /** Derived: names of locks with a lock-delay in force. */
  private delayedLocks = new Set<string>();
  /** Derived: names of locks that may have a waiter with a `waitUntilMs` (pruned by `dueWaits`). */
  private timedLocks = new Set<string>();
  private lastToken = 0n;
  private lastAtMs = 0;
  /** Derived: lock names sorted, until a lock is created or removed (null: sort again when asked). */
  private sortedNames: string[] | null = null;
  /** The waits-for graph deadlock searches walk (one per machine, read afresh at each search). */
  private readonly waitsFor = new WaitsForView();
  /** Users, roles and permissions, changed by 'auth' commands (read-only for everyone else). */
  readonly auth = new AuthState();
  /** The snapshot being written in slices, told about every record before it changes (copy-on-write). */
  private readonly captures = new Set<ImageWriter>();

  constructor(options: LockStateMachineOptions = {}) {
    this.maxSessionsPerClient = options.maxSessionsPerClient ?? 16_384;
    this.maxWaitersPerLock = options.maxWaitersPerLock ?? 10_000;
    this.lockDelayMs = options.lockDelayMs ?? 0;
    this.dedupCapacity = options.dedupWindow ?? 128;
    this.usageHistory = new UsageHistory({ ...defaultUsageLimits, ...options.usage });
  }

  /** Registers a listener for the events of every applied entry; returns its unsubscribe function. */
  onEvent(listener: (event: LockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Decodes a committed entry's data and applies it; undecodable data changes nothing. A batch entry is applied
   * as its parts in order and returns their results, one per command, in the same order.
   */
  apply(entry: Entry): LockResult {
    let decoded: LockEntry | LockBatchEntry;
    try {
      decoded = decodeLockData(entry.data);
    } catch (error) {
      return fail('INVALID_ARGUMENT', `log entry ${entry.index} is not a lock command: ${(error as Error).message}`);
    }
    if (!isLockBatch(decoded)) return this.applyEntry(decoded);
    const { atMs, commands } = decoded;
    return { status: 'batch', results: commands.map((command) => this.applyEntry({ atMs, command })) };
  }

  /** Applies one decoded entry. Entry times never go backwards here: an earlier one counts as the latest seen. */
  applyEntry(entry: LockEntry): LockResult {
    const atMs = Math.max(this.lastAtMs, entry.atMs);
    this.lastAtMs = atMs;
    this.endPassedDelays(atMs);
    const command = entry.command;
    switch (command.type) {
      case 'session-open':
        return this.openSession(command, atMs);
      case 'session-close':
        return this.closeSession(command, atMs);
      case 'sessions-expire':
        return this.expireSessions(command, atMs);
      case 'acquire':
        return this.withDedup(command, (session) => this.acquire(session, command, atMs));
      case 'release':
        return this.withDedup(command, (session) => this.release(session, command, atMs));
      case 'cancel':
        return this.withDedup(command, (session) => this.cancel(session, command, atMs));
      case 'revoke':
        return this.revoke(command, atMs);
      case 'revoke-scheduled':
        return this.scheduleRevocation(command);
      case 'waits-expire':
        return this.expireWaits(command, atMs);
      case 'auth':
        return this.auth.apply(command.change);
      case 'tick':
        return ok;
      default:
        return fail('INVALID_ARGUMENT', `unknown lock command type ${String((command as { type: unknown }).type)}`);
    }
  }

  // ---- read-only queries ----

  /** One lock, or undefined when nobody holds or waits for it and no lock-delay is in force. */
  lock(name: string): LockView | undefined {
    const lock = this.locksByName.get(name);
    return lock && this.viewLock(lock);
  }

  /**
   * One page of `locks()`: the locks whose name starts with `prefix` and sorts after `after` (exclusive; '' from the
   * first), at most `limit` of them (0: all), with the name to continue after, or null when the page ends the listing.
   * The sorted names are kept until a lock is created or removed, so paging through n locks costs one sort, then
   * O(log n + page) a page.
   */
  lockPage(prefix = '', after = '', limit = 0): LockPage {
    const names = this.sortedLockNames();
    let start = firstAbove(names, after, after !== '');
    start = Math.max(start, firstAbove(names, prefix, false));
    const locks: LockView[] = [];
    let index = start;
    for (; index < names.length && (limit === 0 || locks.length < limit); index++) {
      const name = names[index] as string;
      if (!name.startsWith(prefix)) break;
      locks.push(this.viewLock(this.locksByName.get(name)!));
    }
    const more = index < names.length && (names[index] as string).startsWith(prefix) && locks.length > 0;
    return { locks, nextAfter: more ? (locks.at(-1) as LockView).name : null };
  }

  /** Every lock, sorted by name. */
  locks(): LockView[] {
    return this.sortedLockNames().map((name) => this.viewLock(this.locksByName.get(name)!));
  }

  /**
   * The holds of session `sessionId`, by lock name: O(its own locks), whatever the number of locks held by others
   * (a resume answers with them). Empty for an unknown session.
   */
  sessionHolds(sessionId: string): SessionHold[] {
    const session = this.sessionsById.get(sessionId);
    if (session === undefined) return [];
    return [...session.holding].sort(compareStrings).map((name) => {
      const holder = this.locksByName.get(name)!.holders.find((h) => h.sessionId === sessionId)!;
      return { name, holder: holderView(holder, session) };
    });
  }

  /** How many requests wait for lock `name` (0 for an unknown lock): O(1), for the leader's assessments. */
  waiterCount(name: string): number {
    return this.locksByName.get(name)?.waiters.length ?? 0;
  }

  /** How many locks are held, waited for or in a lock-delay: O(1), without building their views. */
  lockCount(): number {
    return this.locksByName.size;
  }

  /** How many sessions are open: O(1). */
  sessionCount(): number {
    return this.sessionsById.size;
  }

  /** How many locks session `sessionId` holds or waits for (0 for an unknown session): O(1). */
  sessionLockCount(sessionId: string): number {
    const session = this.sessionsById.get(sessionId);
    return session === undefined ? 0 : session.holding.size + session.waitingOn.size;
  }

  /** One open session, or undefined. */
  session(sessionId: string): SessionView | undefined {
    const session = this.sessionsById.get(sessionId);
    return session && viewSession(session);
  }

  /** The TTL of open session `sessionId`, or undefined: O(1), for hot paths that need no view (a keepalive). */
  sessionTtlMs(sessionId: string): number | undefined {
    return this.sessionsById.get(sessionId)?.ttlMs;
  }

  /** Every open session, in the order they were opened. */
  sessions(): SessionView[] {
    return [...this.sessionsById.values()].map(viewSession);
  }

  /** Whether `secret` is the secret of open session `sessionId` (SHA-256, compared in constant time). */
  verifySecret(sessionId: string, secret: string): boolean {
    const session = this.sessionsById.get(sessionId);
    return session !== undefined && secretMatches(secret, session.secretHash);
  }

  /** The usage history of one resource, or undefined. */
  usage(name: string): ResourceUsageView | undefined {
    return this.usageHistory.view(name);
  }

  /** Names of every resource with a usage history, least recently used first. */
  resources(): string[] {
    return this.usageHistory.names();
  }

  /** Every hold with an operator's revoke scheduled, by lock name then holder order. */
  pendingRevocations(): PendingRevocationView[] {
    const pending: PendingRevocationView[] = [];
    for (const lock of [...this.locksByName.values()].sort((a, b) => compareStrings(a.name, b.name))) {
      for (const holder of lock.holders) {
        if (holder.scheduledRevocation === undefined) continue;
        const { sessionId, token, fenced } = holder;
        pending.push({ name: lock.name, sessionId, token, fenced, ...holder.scheduledRevocation });
      }
    }
    return pending;
  }

  /** The earliest end of a lock-delay that holds back a waiter: the leader proposes a 'tick' at that time. */
  nextLockDelayEndMs(): number | null {
    let earliest: number | null = null;
    for (const name of this.delayedLocks) {
      const lock = this.locksByName.get(name)!;
      if (lock.waiters.length > 0 && (earliest === null || lock.delayUntilMs < earliest)) earliest = lock.delayUntilMs;
    }
    return earliest;
  }

  /**
   * The queued acquires whose wait has run out by `nowMs` (their `waitUntilMs` passed), by lock name then queue
   * order: the leader proposes a 'waits-expire' for them.
   */
  dueWaits(nowMs: number): WaitRef[] {
    const due: WaitRef[] = [];
    for (const name of [...this.timedLocks].sort(compareStrings)) {
      const lock = this.locksByName.get(name);
      let timed = false;
      for (const waiter of lock?.waiters ?? []) {
        if (waiter.waitUntilMs === undefined) continue;
        timed = true;
        if (waiter.waitUntilMs <= nowMs) due.push({ sessionId: waiter.sessionId, name, requestSeq: waiter.requestSeq });
      }
      // Derived state only: a lock without timed waiters is forgotten here, not on every change.
      if (!timed) this.timedLocks.delete(name);
    }
    return due;
  }

  /** The last fencing token granted (0n before the first grant). */
  get lastGrantedToken(): bigint {
    return this.lastToken;
  }

  /** The latest entry time applied. */
  get lastAppliedAtMs(): number {
    return this.lastAtMs;
  }

  // ---- snapshot ----

  snapshot(): Uint8Array {
    return this.imageWriter().finish();
  }

  /**
   * The snapshot of the state as it is now, packed in slices of about 128 KiB (docs/design.md, "Snapshots"): the
   * maps are captured by reference at once (O(records), no copies), and each record changed before its turn is packed
   * first as it was (beforeLockChange, beforeSessionChange, the usage history's beforeChange). Same bytes as
   * snapshot(). Several may be in flight (the Raft driver's and a backup's). `sliceBytes` is the least packed per step
   * (1 in the simulator: a record a step).
   */
  beginSnapshot(sliceBytes = SNAPSHOT_SLICE_BYTES): SnapshotJob {
    const writer = this.imageWriter();
    let cancelled = false;
    const end = (): void => {
      this.captures.delete(writer);
      if (this.captures.size === 0) this.usageHistory.beforeChange = null;
    };
    this.captures.add(writer);
    this.usageHistory.beforeChange = (entry) => {
      for (const capture of this.captures) capture.preserve(entry[1], () => entry);
    };
    return {
      step: () => {
        if (cancelled) return undefined;
        const image = writer.step(sliceBytes);
        if (image !== undefined) end();
        return image;
      },
      cancel: () => {
        cancelled = true;
        end();
      },
    };
  }

  restore(bytes: Uint8Array): void {
    this.beginRestore(bytes, Number.POSITIVE_INFINITY).step();
  }

  /**
   * restore() in slices of about 64 KiB of image: each slice decodes records into new maps, and the last one puts
   * them in place, so the state seen between slices is the old one, whole.
   */
  beginRestore(bytes: Uint8Array, sliceBytes = RESTORE_SLICE_BYTES): RestoreJob {
    const sessionsById = new Map<string, SessionState>();
    const sessionsPerClient = new Map<string, number>();
    const locksByName = new Map<string, LockState>();
    const delayedLocks = new Set<string>();
    const timedLocks = new Set<string>();
    const usage: ResourceUsageEntry[] = [];
    let version: unknown;
    let lastToken = 0n;
    let lastAtMs = 0;
    let auth: AuthStateData | undefined;
    const reader = new ImageReader(lockPackr, bytes, {
      recordFields: RECORD_FIELDS,
      value: (key, value) => {
        if (key === 'version') {
          version = value;
          if (value !== SNAPSHOT_VERSION) throw new TypeError(`unsupported lock snapshot version ${String(value)}`);
        } else if (key === 'lastToken') lastToken = value as bigint;
        else if (key === 'lastAtMs') lastAtMs = value as number;
        else if (key === 'auth') auth = value as AuthStateData;
      },
      record: (key, record) => {
        if (version !== SNAPSHOT_VERSION) throw new TypeError('lock snapshot has no version before its records');
        if (key === 'sessions') {
          const s = record as SessionData;
          sessionsById.set(s.sessionId, {
            ...s,
            dedup: DedupWindow.fromData(this.dedupCapacity, s.dedup),
            cancelledBefore: new Map(s.cancelledBefore),
            holding: new Set(),
            waitingOn: new Set(),
            searchMark: 0,
          });
          countClientSession(sessionsPerClient, s.clientName, 1);
        } else if (key === 'locks') {
          const lock = record as LockData;
          const copy: LockState = {
            name: lock.name,
            holders: [...lock.holders],
            waiters: WaiterQueue.from(lock.waiters),
            delayUntilMs: lock.delayUntilMs,
          };
          locksByName.set(copy.name, copy);
          for (const holder of copy.holders) sessionsById.get(holder.sessionId)!.holding.add(copy.name);
          for (const waiter of copy.waiters) {
            sessionsById.get(waiter.sessionId)!.waitingOn.add(copy.name);
            if (waiter.waitUntilMs !== undefined) timedLocks.add(copy.name);
          }
          if (copy.delayUntilMs > lastAtMs) delayedLocks.add(copy.name);
        } else usage.push(record as ResourceUsageEntry);
      },
    });
    let done = false;
    return {
      step: () => {
        if (done || !reader.step(sliceBytes)) return done;
        done = true;
        this.lastToken = lastToken;
        this.lastAtMs = lastAtMs;
        this.sessionsById = sessionsById;
        this.sessionsPerClient = sessionsPerClient;
        this.locksByName = locksByName;
        this.sortedNames = null;
        this.delayedLocks = delayedLocks;
        this.timedLocks = timedLocks;
        this.usageHistory.restore(usage);
        this.auth.restore(auth);
        return true;
      },
      cancel: () => {
        done = true;
      },
    };
  }

  /** A writer of the whole state as it is now: the maps by reference, the small fields packed at once. */
  private imageWriter(): ImageWriter {
    const fields: ImageField[] = [
      { key: 'version', value: SNAPSHOT_VERSION },
      { key: 'lastToken', value: this.lastToken },
      { key: 'lastAtMs', value: this.lastAtMs },
      recordsField({ key: 'sessions', records: [...this.sessionsById.values()], data: sessionData }),
      recordsField({ key: 'locks', records: [...this.locksByName.values()], data: lockData }),
      recordsField({
        key: 'usage',
        records: this.usageHistory.entries(),
        data: (entry) => entry,
        identity: (entry) => entry[1],
      }),
      { key: 'auth', value: this.auth.toData() },
    ];
    return new ImageWriter(lockPackr, fields);
  }

  /** Before a lock's holders, waiters or lock-delay change: a snapshot being written keeps its copy. */
  private beforeLockChange(lock: LockState): void {
    for (const capture of this.captures) capture.preserve(lock, () => lockData(lock));
  }

  /** Before a session's dedup window or cancel fences change: a snapshot being written keeps its copy. */
  private beforeSessionChange(session: SessionState): void {
    for (const capture of this.captures) capture.preserve(session, () => sessionData(session));
  }

  // ---- sessions ----

  private openSession(command: Command<'session-open'>, atMs: number): LockResult {
    const existing = this.sessionsById.get(command.sessionId);
    if (existing) {
      // A retried open of the same session is answered again; a colliding id is refused.
      return existing.secretHash === command.secretHash
        ? ok
        : fail('INVALID_ARGUMENT', `session id ${command.sessionId} is already in use`);
    }
    const problem =
      (typeof command.sessionId === 'string' && command.sessionId.length > 0 ? null : 'session id must be non-empty') ??
      ttlProblem(command.ttlMs) ??
      clientNameProblem(command.clientName) ??
      (typeof command.secretHash === 'string' && /^[0-9a-f]{64}$/.test(command.secretHash)
        ? null
        : 'session secret hash must be 64 lowercase hex digits (SHA-256)');
    if (problem) return fail('INVALID_ARGUMENT', problem);
    const open = this.sessionsPerClient.get(command.clientName) ?? 0;
    if (open >= this.maxSessionsPerClient) {
      return fail(
        'TOO_MANY_SESSIONS',
        `client "${command.clientName}" already has ${open} open sessions, the limit is ${this.maxSessionsPerClient}; close some first`,
      );
    }
    this.sessionsById.set(command.sessionId, {
      sessionId: command.sessionId,
      secretHash: command.secretHash,
      ttlMs: command.ttlMs,
      clientName: command.clientName,
      ...(command.user === undefined || command.user === '' ? {} : { user: command.user }),
      openedAtMs: atMs,
      dedup: new DedupWindow(this.dedupCapacity),
      cancelledBefore: new Map(),
      holding: new Set(),
      waitingOn: new Set(),
      searchMark: 0,
    });
    countClientSession(this.sessionsPerClient, command.clientName, 1);
    this.emit({ type: 'session-opened', sessionId: command.sessionId, atMs });
    return ok;
  }

  private closeSession(command: Command<'session-close'>, atMs: number): LockResult {
    const session = this.sessionsById.get(command.sessionId);
    if (!session) return fail('SESSION_NOT_FOUND', `session ${command.sessionId} is not open`);
    this.endSession(session, atMs, false);
    return ok;
  }

  private expireSessions(command: Command<'sessions-expire'>, atMs: number): LockResult {
    // Sessions already gone (closed while the expiry was in flight) are skipped.
    for (const sessionId of command.sessionIds) {
      const session = this.sessionsById.get(sessionId);
      if (session) this.endSession(session, atMs, true);
    }
    return ok;
  }

  /** Releases a session's locks and withdraws its waits; an expiry is a forced loss and starts the lock-delay. */
  private endSession(session: SessionState, atMs: number, expired: boolean): void {
    const touched = new Set<string>();
    // Sorted, so the order of events and grants does not depend on how the derived sets were built.
    for (const name of [...session.waitingOn].sort(compareStrings)) {
      const lock = this.locksByName.get(name)!;
      const waiter = this.removeWaiter(lock, session);
      this.emit({ type: 'cancelled', sessionId: session.sessionId, requestSeq: waiter.requestSeq, name, atMs });
      touched.add(name);
    }
    for (const name of [...session.holding].sort(compareStrings)) {
      const lock = this.locksByName.get(name)!;
      const holder = lock.holders.find((h) => h.sessionId === session.sessionId)!;
      this.removeHolder(lock, holder, atMs, expired);
      this.emit({
        type: 'released',
        sessionId: session.sessionId,
        name,
        token: holder.token,
        atMs,
        heldMs: atMs - holder.grantedAtMs,
      });
      touched.add(name);
    }
    this.sessionsById.delete(session.sessionId);
    countClientSession(this.sessionsPerClient, session.clientName, -1);
    this.emit({ type: 'session-ended', sessionId: session.sessionId, atMs, expired });
    for (const name of [...touched].sort(compareStrings)) this.settle(name, atMs);
  }

  // ---- requests with a sequence number ----

  /**
   * Runs a request once per (session, requestSeq); a retry (the same request again) gets the first result, brought up
   * to date if queued; a different request with a remembered requestSeq is refused with INVALID_ARGUMENT.
   */
  private withDedup(
    command: Command<'acquire' | 'release' | 'cancel'>,
    run: (session: SessionState) => LockResult,
  ): LockResult {
    const session = this.sessionsById.get(command.sessionId);
    if (!session) return fail('SESSION_NOT_FOUND', `session ${command.sessionId} is not open (closed or expired)`);
    const seqProblem = requestSeqProblem(command.requestSeq);
    if (seqProblem) return fail('INVALID_ARGUMENT', seqProblem);
    const request = describeRequest(command);
    const previous = session.dedup.get(command.requestSeq);
    if (previous) {
      // A retry repeats its request exactly; another request under a remembered number is refused, not answered with
      // the first one's result (which would tell a client it holds a lock it does not). Nothing changes.
      const asked = session.dedup.requestOf(command.requestSeq);
      if (asked !== undefined && asked !== request) {
        return fail(
          'INVALID_ARGUMENT',
          `request_seq ${command.requestSeq} of session ${session.sessionId} was already used by another request ` +
            `(${asked}); this ${request} needs a request_seq of its own (a retry must repeat its request exactly)`,
        );
      }
      if (previous.status !== 'queued' || command.type !== 'acquire') return previous;
      const lock = this.locksByName.get(command.name);
      const position = lock?.waiters.findIndex(
        (w) => w.sessionId === session.sessionId && w.requestSeq === command.requestSeq,
      );
      return position === undefined || position < 0 ? previous : { status: 'queued', position };
    }
    if (session.dedup.isForgotten(command.requestSeq)) {
      return fail(
        'INVALID_ARGUMENT',
        `request ${command.requestSeq} of session ${session.sessionId} is older than the ${this.dedupCapacity} remembered; it cannot be retried`,
      );
    }
    const result = run(session);
    this.beforeSessionChange(session);
    session.dedup.remember(command.requestSeq, result, request);
    return result;
  }

  private acquire(session: SessionState, command: Command<'acquire'>, atMs: number): LockResult {
    const problem =
      lockNameProblem(command.name) ??
      modeProblem(command.mode) ??
      metadataProblem(command.metadata) ??
      waitProblem(command.waitMs);
    if (problem) return fail('INVALID_ARGUMENT', problem);
    const { name } = command;
    if (session.holding.has(name)) {
      const holder = this.locksByName.get(name)!.holders.find((h) => h.sessionId === session.sessionId)!;
      return fail(
        'ALREADY_HELD',
        `session ${session.sessionId} already holds "${name}" (token ${holder.token}); locks are not re-entrant`,
      );
    }
    if (session.waitingOn.has(name)) {
      return fail('ALREADY_WAITING', `session ${session.sessionId} is already waiting for "${name}"`);
    }
    const cancelSeq = session.cancelledBefore.get(name);
    if (cancelSeq !== undefined && command.requestSeq < cancelSeq) {
      return fail(
        'NOT_HELD',
        `the acquire of "${name}" (request ${command.requestSeq}) reached the log after its cancel (request ${cancelSeq})`,
      );
    }
    this.usageHistory.recordRequest(name, atMs);
    let lock = this.locksByName.get(name);
    const request = {
      sessionId: session.sessionId,
      requestSeq: command.requestSeq,
      mode: command.mode,
      fenced: command.fenced === true,
      preemptible: command.preemptible !== false,
      metadata: command.metadata ?? '',
    };
    if (!lock || this.grantable(lock, command.mode, atMs)) {
      if (!lock) {
        lock = { name, holders: [], waiters: new WaiterQueue(), delayUntilMs: 0 };
        this.locksByName.set(name, lock);
        this.sortedNames = null;
      }
      return this.grant(lock, request, atMs, atMs);
    }
    if (command.tryOnly) return fail('LOCK_BUSY', `"${name}" is not free: ${this.describeBusy(lock, atMs)}`);
    if (lock.waiters.length >= this.maxWaitersPerLock) {
      return fail(
        'TOO_MANY_WAITERS',
        `"${name}" already has ${lock.waiters.length} waiters, the limit is ${this.maxWaitersPerLock}`,
      );
    }
    const last = lock.waiters.tail();
    const blockers = unique([...lock.holders, ...(last === undefined ? [] : [last])].map((entry) => entry.sessionId));
    const cycle = this.isWaitedFor(session)
      ? findWaitCycle(this.waitsFor.begin(this.sessionsById, this.locksByName), session.sessionId, name, blockers)
      : null;
    if (cycle) return fail('DEADLOCK', `waiting for "${name}" would deadlock: ${describeCycle(cycle)}`);
    const waitMs = command.waitMs ?? WAIT_WITHOUT_LIMIT_MS;
    const waiter: Waiter = {
      sessionId: request.sessionId,
      requestSeq: request.requestSeq,
      mode: request.mode,
      fenced: request.fenced,
      preemptible: request.preemptible,
      metadata: request.metadata,
      enqueuedAtMs: atMs,
    };
    this.beforeLockChange(lock);
    if (waitMs < WAIT_WITHOUT_LIMIT_MS) {
      lock.waiters.push({ ...waiter, waitUntilMs: atMs + waitMs });
      this.timedLocks.add(name);
    } else lock.waiters.push(waiter);
    session.waitingOn.add(name);
    return { status: 'queued', position: lock.waiters.length - 1 };
  }

  private release(session: SessionState, command: Command<'release'>, atMs: number): LockResult {
    const lock = this.locksByName.get(command.name);
    const holder = lock?.holders.find((h) => h.sessionId === session.sessionId);
    if (!lock || !holder) {
      return fail('NOT_HELD', `session ${session.sessionId} does not hold "${command.name}" (already released?)`);
    }
    if (typeof command.token !== 'bigint' || holder.token !== command.token) {
      return fail(
        'STALE_TOKEN',
        `token ${String(command.token)} is not this session's grant of "${command.name}" (its token is ${holder.token})`,
      );
    }
    this.removeHolder(lock, holder, atMs, false);
    this.emit({
      type: 'released',
      sessionId: session.sessionId,
      name: lock.name,
      token: holder.token,
      atMs,
      heldMs: atMs - holder.grantedAtMs,
    });
    this.settle(lock.name, atMs);
    return ok;
  }

  private cancel(session: SessionState, command: Command<'cancel'>, atMs: number): LockResult {
    const lock = this.locksByName.get(command.name);
    if (!lock || !session.holding.has(command.name)) this.fenceEarlierAcquires(session, command);
    if (lock && session.waitingOn.has(command.name)) {
      const waiter = this.removeWaiter(lock, session);
      this.beforeSessionChange(session);
      session.dedup.update(
        waiter.requestSeq,
        fail('NOT_HELD', `the acquire of "${lock.name}" was cancelled by request ${command.requestSeq}`),
      );
      this.emit({
        type: 'cancelled',
        sessionId: session.sessionId,
        requestSeq: waiter.requestSeq,
        name: lock.name,
        atMs,
      });
      this.settle(lock.name, atMs);
      return ok;
    }
    if (lock && session.holding.has(command.name)) {
      const holder = lock.holders.find((h) => h.sessionId === session.sessionId)!;
      return fail(
        'ALREADY_HELD',
        `nothing to cancel: "${lock.name}" was already granted to session ${session.sessionId} (token ${holder.token}); release it`,
      );
    }
    // Not waiting: cancelling is idempotent.
    return ok;
  }

  /** Remembers the cancel (bounded like the dedup window), so earlier acquires arriving later are refused. */
  private fenceEarlierAcquires(session: SessionState, command: Command<'cancel'>): void {
    this.beforeSessionChange(session);
    const fences = session.cancelledBefore;
    const previous = fences.get(command.name) ?? -1;
    fences.delete(command.name);
    fences.set(command.name, Math.max(previous, command.requestSeq));
    if (fences.size > this.dedupCapacity) fences.delete(fences.keys().next().value as string);
  }

  /** Cancels the named waiters whose wait has run out by `atMs`; their acquires are answered with TIMEOUT. */
  private expireWaits(command: Command<'waits-expire'>, atMs: number): LockResult {
    const touched = new Set<string>();
    for (const { sessionId, name, requestSeq } of command.waits ?? []) {
      const session = this.sessionsById.get(sessionId);
      const lock = this.locksByName.get(name);
      if (!session || !lock || !session.waitingOn.has(name)) continue;
      const waiter = lock.waiters.get(sessionId);
      // Granted, cancelled and queued again, or not due at this entry's time (a leader with a slower clock): skipped.
      if (waiter?.requestSeq !== requestSeq || waiter.waitUntilMs === undefined || waiter.waitUntilMs > atMs) continue;
      this.removeWaiter(lock, session);
      this.beforeSessionChange(session);
      session.dedup.update(
        requestSeq,
        fail(
          'TIMEOUT',
          `the acquire of "${name}" (request_seq ${requestSeq}) was not granted within its wait of ` +
            `${waiter.waitUntilMs - waiter.enqueuedAtMs} ms; the leader cancelled it`,
        ),
      );
      this.emit({ type: 'cancelled', sessionId, requestSeq, name, atMs, timedOut: true });
      touched.add(name);
    }
    for (const name of [...touched].sort(compareStrings)) this.settle(name, atMs);
    return ok;
  }

  // ---- revocation ----

  /** The holds a revoke names (all holders, or one session's, or one token's), or why there are none. */
  private revocationTargets(
    command: Command<'revoke' | 'revoke-scheduled'>,
  ): { lock: LockState; targets: Holder[] } | LockResult {
    const lock = this.locksByName.get(command.name);
    if (!lock || lock.holders.length === 0) return fail('LOCK_NOT_FOUND', `nobody holds "${command.name}"`);
    const ofSession =
      command.sessionId === undefined ? lock.holders : lock.holders.filter((h) => h.sessionId === command.sessionId);
    if (ofSession.length === 0) {
      return fail('NOT_HELD', `session ${command.sessionId} does not hold "${command.name}"`);
    }
    const targets = command.token === undefined ? ofSession : ofSession.filter((h) => h.token === command.token);
    if (targets.length === 0) {
      return fail(
        'STALE_TOKEN',
        `token ${String(command.token)} no longer holds "${command.name}" (current: ${ofSession.map((h) => h.token).join(', ')}); nothing revoked`,
      );
    }
    return { lock, targets };
  }

  /** Records an operator's revoke to come with the hold; a repeated one can only bring it forward. */
  private scheduleRevocation(command: Command<'revoke-scheduled'>): LockResult {
    const found = this.revocationTargets(command);
    if ('status' in found) return found;
    this.beforeLockChange(found.lock);
    for (const holder of found.targets) {
      const earlier = holder.scheduledRevocation;
      if (earlier !== undefined && earlier.revokeAtMs <= command.revokeAtMs) continue;
      holder.scheduledRevocation = {
        cause: command.cause,
        reason: String(command.reason ?? ''),
        revokeAtMs: command.revokeAtMs,
      };
    }
    return ok;
  }

  private revoke(command: Command<'revoke'>, atMs: number): LockResult {
    const found = this.revocationTargets(command);
    if ('status' in found) return found;
    const { lock, targets } = found;
    for (const holder of [...targets]) {
      this.removeHolder(lock, holder, atMs, true);
      this.emit({
        type: 'revoked',
        sessionId: holder.sessionId,
        name: lock.name,
        token: holder.token,
        atMs,
        cause: command.cause,
        reason: String(command.reason ?? ''),
      });
    }
    this.settle(lock.name, atMs);
    return ok;
  }

  // ---- grants ----

  /** Whether a new request in `mode` may be granted now: no queue to pass, no lock-delay, compatible holders. */
  private grantable(lock: LockState, mode: LockMode, atMs: number): boolean {
    return (
      lock.waiters.length === 0 &&
      atMs >= lock.delayUntilMs &&
      compatible(
        mode,
        lock.holders.map((h) => h.mode),
      )
    );
  }

  private grant(
    lock: LockState,
    request: Omit<Waiter, 'enqueuedAtMs'>,
    enqueuedAtMs: number,
    atMs: number,
  ): Extract<LockResult, { status: 'granted' }> {
    this.lastToken += 1n;
    // Field by field: a spread followed by more fields is a slow path in V8 (about a microsecond per grant).
    const holder: Holder = {
      sessionId: request.sessionId,
      requestSeq: request.requestSeq,
      mode: request.mode,
      fenced: request.fenced,
      preemptible: request.preemptible,
      metadata: request.metadata,
      token: this.lastToken,
      grantedAtMs: atMs,
    };
    this.beforeLockChange(lock);
    lock.holders.push(holder);
    this.sessionsById.get(request.sessionId)!.holding.add(lock.name);
    this.usageHistory.recordWait(lock.name, atMs - enqueuedAtMs);
    this.emit({
      type: 'granted',
      sessionId: request.sessionId,
      requestSeq: request.requestSeq,
      name: lock.name,
      mode: request.mode,
      token: holder.token,
      atMs,
      fenced: request.fenced,
      preemptible: request.preemptible,
      waitedMs: atMs - enqueuedAtMs,
    });
    return { status: 'granted', token: holder.token, grantedAtMs: atMs };
  }

  /** Grants the compatible waiters at the head of the queue (FIFO, no barging), then forgets an idle lock. */
  private settle(name: string, atMs: number): void {
    const lock = this.locksByName.get(name);
    if (!lock) return;
    while (lock.waiters.length > 0 && atMs >= lock.delayUntilMs) {
      const head = lock.waiters.head()!;
      if (
        !compatible(
          head.mode,
          lock.holders.map((h) => h.mode),
        )
      ) {
        break;
      }
      this.beforeLockChange(lock);
      lock.waiters.shift();
      const session = this.sessionsById.get(head.sessionId)!;
      session.waitingOn.delete(name);
      const result = this.grant(lock, head, head.enqueuedAtMs, atMs);
      this.beforeSessionChange(session);
      session.dedup.update(head.requestSeq, result);
    }
    if (lock.holders.length === 0 && lock.waiters.length === 0 && atMs >= lock.delayUntilMs) {
      this.locksByName.delete(name);
      this.sortedNames = null;
      this.delayedLocks.delete(name);
    }
  }

  /** Ends the lock-delays that have passed by `atMs` and grants their waiters. */
  private endPassedDelays(atMs: number): void {
    if (this.delayedLocks.size === 0) return;
    const passed = [...this.delayedLocks].filter((name) => this.locksByName.get(name)!.delayUntilMs <= atMs);
    for (const name of passed.sort(compareStrings)) {
      this.delayedLocks.delete(name);
      this.settle(name, atMs);
    }
  }

  private removeHolder(lock: LockState, holder: Holder, atMs: number, forced: boolean): void {
    this.beforeLockChange(lock);
    lock.holders = lock.holders.filter((h) => h !== holder);
    this.sessionsById.get(holder.sessionId)?.holding.delete(lock.name);
    this.usageHistory.recordRelease(lock.name, atMs, atMs - holder.grantedAtMs);
    if (forced && this.lockDelayMs > 0) {
      lock.delayUntilMs = Math.max(lock.delayUntilMs, atMs + this.lockDelayMs);
      this.delayedLocks.add(lock.name);
    }
  }

  private removeWaiter(lock: LockState, session: SessionState): Waiter {
    this.beforeLockChange(lock);
    const waiter = lock.waiters.remove(session.sessionId)!;
    session.waitingOn.delete(lock.name);
    return waiter;
  }

  // ---- waits-for graph (deadlock.ts) ----

  /** Whether anyone waits for `session` (a waiter on a lock it holds, or behind it in a queue): else no cycle. */
  private isWaitedFor(session: SessionState): boolean {
    for (const name of session.holding) if (this.locksByName.get(name)!.waiters.length > 0) return true;
    for (const name of session.waitingOn) {
      if (this.locksByName.get(name)!.waiters.tail()!.sessionId !== session.sessionId) return true;
    }
    return false;
  }

  // ---- helpers ----

  private describeBusy(lock: LockState, atMs: number): string {
    const parts: string[] = [];
    if (lock.holders.length > 0) {
      parts.push(
        `held ${lock.holders[0]!.mode} by ${lock.holders.map((h) => `session ${h.sessionId} (token ${h.token})`).join(', ')}`,
      );
    }
    if (lock.waiters.length > 0) parts.push(`${lock.waiters.length} waiting`);
    if (atMs < lock.delayUntilMs) parts.push(`lock-delay until ${lock.delayUntilMs}`);
    return parts.join('; ');
  }

  private viewLock(lock: LockState): LockView {
    const sessionOf = (sessionId: string) => this.sessionsById.get(sessionId)!;
    return {
      name: lock.name,
      mode: lock.holders[0]?.mode ?? null,
      holders: lock.holders.map((h) => holderView(h, sessionOf(h.sessionId))),
      waiters: lock.waiters.map((w) => waiterView(w, sessionOf(w.sessionId))),
      delayUntilMs: lock.delayUntilMs,
    };
  }

  private sortedLockNames(): string[] {
    this.sortedNames ??= [...this.locksByName.keys()].sort(compareStrings);
    return this.sortedNames;
  }

  private emit(event: LockEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/**
 * The waits-for graph as of a search. A waiter waits for the holders and for the waiter just ahead of it, who in turn
 * waits for the one ahead of it: the same reachability as an edge to every waiter ahead, with one edge each, so a
 * search costs time linear in the sessions it visits (the waiter ahead is found in O(1)). A class, not an object of
 * closures per search: the search's calls then always reach the same functions, and V8 keeps it optimized (a new
 * closure each time deoptimized it on every check).
 */
class WaitsForView implements WaitsForGraph {
  private sessions = new Map<string, SessionState>();
  private locks = new Map<string, LockState>();
  /** Numbers the searches: a session whose searchMark is the current number was reached by this one. */
  private search = 0;
  /** This search's blockers of the sessions that wait on several locks. */
  private listed = new Map<string, readonly Blocker[]>();
  private readonly answer = { lockName: '', blocker: '' };

  /** Starts a search of the graph that `sessions` and `locks` form now. */
  begin(sessions: Map<string, SessionState>, locks: Map<string, LockState>): this {
    this.sessions = sessions;
    this.locks = locks;
    this.search += 1;
    if (this.listed.size > 0) this.listed = new Map();
    return this;
  }

  reach(sessionId: string): boolean {
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.searchMark === this.search) return false;
    session.searchMark = this.search;
    return true;
  }

  blockerAt(sessionId: string, index: number): Blocker | null {
    const session = this.sessions.get(sessionId);
    if (!session) return null;
    if (session.waitingOn.size !== 1) return this.blockersOfMany(session)[index] ?? null;
    for (const lockName of session.waitingOn) {
      const lock = this.locks.get(lockName)!;
      // A session holds a lock once, and never waits for one it holds: holders and the waiter ahead are distinct.
      if (index < lock.holders.length) return this.pair(lockName, lock.holders[index]!.sessionId);
      const ahead = index === lock.holders.length ? lock.waiters.ahead(sessionId) : undefined;
      if (ahead !== undefined) return this.pair(lockName, ahead.sessionId);
    }
    return null;
  }

  /** Blockers of a session that waits on several locks, by lock name: listed once per search. */
  private blockersOfMany(session: SessionState): readonly Blocker[] {
    const listed = this.listed.get(session.sessionId);
    if (listed !== undefined) return listed;
    const found: Blocker[] = [];
    for (const lockName of [...session.waitingOn].sort(compareStrings)) {
      const lock = this.locks.get(lockName)!;
      for (const holder of lock.holders) found.push({ lockName, blocker: holder.sessionId });
      const ahead = lock.waiters.ahead(session.sessionId);
      if (ahead !== undefined) found.push({ lockName, blocker: ahead.sessionId });
    }
    this.listed.set(session.sessionId, found);
    return found;
  }

  /** The one pair blockerAt answers with, filled afresh each time. */
  private pair(lockName: string, blocker: string): Blocker {
    this.answer.lockName = lockName;
    this.answer.blocker = blocker;
    return this.answer;
  }
}

// The views list their fields one by one: a spread followed by more fields is a slow path in V8.

function holderView(holder: Holder, session: SessionState): HolderView {
  const view: HolderView = {
    sessionId: holder.sessionId,
    clientName: session.clientName,
    user: session.user ?? '',
    requestSeq: holder.requestSeq,
    mode: holder.mode,
    token: holder.token,
    fenced: holder.fenced,
    preemptible: holder.preemptible,
    metadata: holder.metadata,
    grantedAtMs: holder.grantedAtMs,
  };
  return holder.scheduledRevocation === undefined ? view : { ...view, scheduledRevocation: holder.scheduledRevocation };
}

function waiterView(waiter: Waiter, session: SessionState): WaiterView {
  const view: WaiterView = {
    sessionId: waiter.sessionId,
    clientName: session.clientName,
    user: session.user ?? '',
    requestSeq: waiter.requestSeq,
    mode: waiter.mode,
    fenced: waiter.fenced,
    preemptible: waiter.preemptible,
    metadata: waiter.metadata,
    enqueuedAtMs: waiter.enqueuedAtMs,
  };
  return waiter.waitUntilMs === undefined ? view : { ...view, waitUntilMs: waiter.waitUntilMs };
}

/** A lock in the snapshot's form: the fields of LockState in its order, the queue as an array. */
/** Counts a session opened (delta 1) or ended (-1) for its client name. */
function countClientSession(sessionsPerClient: Map<string, number>, clientName: string, delta: number): void {
  const count = (sessionsPerClient.get(clientName) ?? 0) + delta;
  if (count === 0) sessionsPerClient.delete(clientName);
  else sessionsPerClient.set(clientName, count);
}

function sessionData(s: SessionState): SessionData {
  return {
    sessionId: s.sessionId,
    secretHash: s.secretHash,
    ttlMs: s.ttlMs,
    clientName: s.clientName,
    ...(s.user === undefined || s.user === '' ? {} : { user: s.user }),
    openedAtMs: s.openedAtMs,
    dedup: s.dedup.toData(),
    cancelledBefore: [...s.cancelledBefore],
  };
}

function lockData(lock: LockState): LockData {
  return { name: lock.name, holders: lock.holders, waiters: lock.waiters.toArray(), delayUntilMs: lock.delayUntilMs };
}

function viewSession(session: SessionState): SessionView {
  return {
    sessionId: session.sessionId,
    clientName: session.clientName,
    user: session.user ?? '',
    ttlMs: session.ttlMs,
    openedAtMs: session.openedAtMs,
    held: [...session.holding].sort(compareStrings),
    waiting: [...session.waitingOn].sort(compareStrings),
  };
}

/** The cycle in words; a long one shows its first and last edges. */
function describeCycle(cycle: readonly WaitEdge[]): string {
  const describe = (edge: WaitEdge) => `session ${edge.sessionId} waits for ${edge.waitsFor} on "${edge.lockName}"`;
  if (cycle.length <= 8) return cycle.map(describe).join(', ');
  return [
    ...cycle.slice(0, 4).map(describe),
    `... ${cycle.length - 8} more ...`,
    ...cycle.slice(-4).map(describe),
  ].join(', ');
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Why an acquire's `waitMs` is not acceptable, or null (absent means no limit). */
function waitProblem(waitMs: number | undefined): string | null {
  if (waitMs === undefined) return null;
  return Number.isInteger(waitMs) && waitMs >= 0 && waitMs <= WAIT_WITHOUT_LIMIT_MS
    ? null
    : `waitMs must be an integer from 0 to ${WAIT_WITHOUT_LIMIT_MS} (no limit), got ${String(waitMs)}`;
}

/** Code-unit order, independent of locale, so every node sorts identically. */
/** The index of the first of `sorted` above `value` (or at it, unless `strictly`): a binary search. */
function firstAbove(sorted: readonly string[], value: string, strictly: boolean): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const name = sorted[middle] as string;
    if (name < value || (strictly && name === value)) low = middle + 1;
    else high = middle;
  }
  return low;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
