// The leader's lock service: proposes lock commands (stamped with the leader's clock, batched per event-loop turn),
// opens, resumes and renews sessions. The session stream and the Admin service both go through it; it owns no sockets.
import { createHash, randomBytes } from 'node:crypto';
import { encodeLockBatch, encodeLockEntry } from '../lock/codec.js';
import type { LockCommand, LockResult } from '../lock/commands.js';
import type { LockStateMachine, SessionView } from '../lock/state-machine.js';
import { clientNameProblem, lockNameProblem, ttlProblem } from '../lock/validation.js';
import { RaftNotLeaderError } from '../raft/errors.js';
import type { RaftNodeApi } from '../raft/node-api.js';
import type { SessionTracker } from '../session/tracker.js';
import type { KeepaliveSample } from '../spm/types.js';
import type { Clock } from '../util/clock.js';
import { InvalidRequestError, RequestRefusedError, SessionNotFoundError, WrongSecretError } from './errors.js';
import type { Guarantee, GuaranteePolicy } from './guarantee.js';
import type { ServerMetrics } from './metrics.js';

/** What the lock service needs: the node, its state machine, the leader-local deadlines, time and the policy. */
export interface LockServiceDeps {
  /** The node (what proposing and reading need): the process's RaftNode, or the simulator's driver. */
  readonly raft: Pick<RaftNodeApi, 'propose' | 'readBarrier' | 'status'>;
  readonly machine: LockStateMachine;
  readonly tracker: SessionTracker;
  readonly clock: Clock;
  readonly guarantees: GuaranteePolicy;
  readonly metrics?: ServerMetrics;
  /** Most commands packed into one log entry. Default MAX_BATCH_COMMANDS. */
  readonly maxBatchCommands?: number;
  /** Most lock changes one log entry may make (at least one command each). Default MAX_BATCH_WORK. */
  readonly maxBatchWork?: number;
  /** Hears an error thrown by a submitted command's outcome (a bug: it is logged, the other commands go on). */
  readonly onOutcomeError?: (error: unknown) => void;
  /**
   * Runs the proposal of a turn's commands once the turn ends. Default setImmediate; the simulator passes its
   * virtual scheduler so that this same code runs there (docs/design.md, principle 3).
   */
  readonly defer?: (action: () => void) => void;
  /** Random bytes for session ids and secrets. Default crypto's randomBytes; the simulator passes seeded ones. */
  readonly randomBytes?: (size: number) => Buffer;
}

/** Default bound on the commands of one batch entry (keeps an entry, and one apply step, small). */
export const MAX_BATCH_COMMANDS = 256;

/**
 * Default bound on the lock changes one batch entry may make: an entry is applied in one piece on every node, and a
 * session's end changes every lock it holds or waits for. About 10 µs each: a thousand sessions closing with
 * 100,000 locks made entries of 25,000 releases, whose apply held every node's loop for 0.25 s and more (a second
 * and more on a loaded machine) until the followers' election timeouts passed. A command is never split: one
 * session of 100,000 locks still ends in one entry.
 */
export const MAX_BATCH_WORK = 2_048;

/** What becomes of a submitted command: the state machine's result, or why it was not applied (not leader, ...). */
export interface CommandOutcome {
  result(result: LockResult): void;
  failed(error: unknown): void;
}

/** A command waiting for the end of the event-loop turn to be proposed with the others of that turn. */
interface QueuedCommand {
  readonly command: LockCommand;
  readonly outcome: CommandOutcome;
  /** performance.now() when it was submitted, for the proposal latency. */
  readonly submittedMs: number;
}

/** A result the state machine accepted (refusals are thrown as RequestRefusedError). */
export type AcceptedResult = Exclude<LockResult, { status: 'error' }>;

/** A session newly opened on this leader. */
export interface OpenedSession {
  readonly sessionId: string;
  /** Sent once, to the client only; the log holds its SHA-256. */
  readonly secret: string;
  readonly ttlMs: number;
  readonly guarantee: Guarantee;
}

/** A session resumed on this leader after a reconnect or failover. */
export interface ResumedSession {
  readonly session: SessionView;
  readonly guarantee: Guarantee;
}

/** Proposes lock commands and keeps the leader's session promises (docs/design.md, principles 2 and 4). */
export class LockService {
  /** Commands proposed during this event-loop turn, proposed together when it ends. */
  private queued: QueuedCommand[] = [];
  private readonly maxBatchCommands: number;
  private readonly maxBatchWork: number;
  private readonly defer: (action: () => void) => void;
  private readonly randomBytes: (size: number) => Buffer;

  constructor(private readonly deps: LockServiceDeps) {
    this.maxBatchCommands = deps.maxBatchCommands ?? MAX_BATCH_COMMANDS;
    this.maxBatchWork = deps.maxBatchWork ?? MAX_BATCH_WORK;
    this.defer = deps.defer ?? setImmediate;
    this.randomBytes = deps.randomBytes ?? randomBytes;
    if (!(Number.isInteger(this.maxBatchCommands) && this.maxBatchCommands >= 1)) {
      throw new RangeError(`maxBatchCommands must be a positive integer, got ${this.maxBatchCommands}`);
    }
    if (!(this.maxBatchWork >= 1)) throw new RangeError(`maxBatchWork must be at least 1, got ${this.maxBatchWork}`);
  }

  /** The state machine this service proposes to (read-only use). */
  get machine(): LockStateMachine {
    return this.deps.machine;
  }

  /** Throws RaftNotLeaderError (with the leader's address when known) unless this node leads. */
  requireLeader(): void {
    const status = this.deps.raft.status();
    if (status.role !== 'leader') throw new RaftNotLeaderError(status.leaderId, status.leaderAddress);
  }

  /**
   * Proposes `command` stamped with the leader's clock; resolves with what the state machine returned. Commands
   * proposed in the same event-loop turn share one log entry (a batch, applied as its parts in order, each with
   * its own result); a failed proposal fails every command of its entry alike.
   */
  propose(command: LockCommand): Promise<LockResult> {
    return new Promise<LockResult>((resolve, reject) => this.submit(command, { result: resolve, failed: reject }));
  }

  /**
   * `propose` without a promise, for the session stream's hot path: `outcome` hears the result (or the failure) once
   * the command's entry is applied. An outcome that throws is logged by `onOutcomeError` and harms no other command.
   */
  submit(command: LockCommand, outcome: CommandOutcome): void {
    this.queued.push({ command, outcome, submittedMs: performance.now() });
    if (this.queued.length === 1) this.defer(this.proposeQueued);
  }

  /**
   * Proposes the commands queued this turn, in order: a new entry once one has maxBatchCommands commands or would
   * pass maxBatchWork lock changes; a lone command as a plain entry.
   */
  private readonly proposeQueued = (): void => {
    const queued = this.queued;
    this.queued = [];
    let start = 0;
    let work = 0;
    for (let i = 0; i < queued.length; i++) {
      const commandWork = this.lockChanges(queued[i]!.command);
      if (i > start && (i - start >= this.maxBatchCommands || work + commandWork > this.maxBatchWork)) {
        this.proposeBatch(queued.slice(start, i));
        start = i;
        work = 0;
      }
      work += commandWork;
    }
    if (queued.length > 0) this.proposeBatch(start === 0 ? queued : queued.slice(start));
  };

  /** The locks `command` may change when applied: one, or every lock a session it ends holds or waits for. */
  private lockChanges(command: LockCommand): number {
    const { machine } = this.deps;
    switch (command.type) {
      case 'session-close':
        return 1 + machine.sessionLockCount(command.sessionId);
      case 'sessions-expire': {
        let changes = 1;
        for (const sessionId of command.sessionIds) changes += machine.sessionLockCount(sessionId);
        return changes;
      }
      default:
        return 1;
    }
  }

  private proposeBatch(batch: readonly QueuedCommand[]): void {
    // This runs in a setImmediate callback: a throw (an unencodable command) must fail its batch, not the process.
    let proposal: Promise<{ result: LockResult }>;
    try {
      const atMs = this.deps.clock.now();
      const data =
        batch.length === 1
          ? encodeLockEntry({ atMs, command: batch[0]!.command })
          : encodeLockBatch({ atMs, commands: batch.map((queued) => queued.command) });
      proposal = this.deps.raft.propose<LockResult>(data);
    } catch (error) {
      proposal = Promise.reject(error);
    }
    proposal.then(
      ({ result }) => {
        // A batch answers part by part; anything else (a lone command's result) answers every command alike.
        this.settle(batch, (queued, i) =>
          queued.outcome.result(result.status === 'batch' ? result.results[i]! : result),
        );
      },
      (error: unknown) => this.settle(batch, (queued) => queued.outcome.failed(error)),
    );
  }

  /** Tells every command of a batch its outcome, each on its own (one that throws does not stop the others). */
  private settle(batch: readonly QueuedCommand[], tell: (queued: QueuedCommand, index: number) => void): void {
    const nowMs = performance.now();
    const latency = this.deps.metrics?.proposalLatency;
    for (let i = 0; i < batch.length; i++) {
      const queued = batch[i]!;
      latency?.observe((nowMs - queued.submittedMs) / 1000);
      try {
        tell(queued, i);
      } catch (error) {
        this.deps.onOutcomeError?.(error);
      }
    }
  }

  /** Proposes `command`; a refusal is thrown as RequestRefusedError (nothing changed). */
  async proposeAccepted(command: LockCommand): Promise<AcceptedResult> {
    const result = await this.propose(command);
    if (result.status === 'error') throw new RequestRefusedError(result.code, result.message);
    return result;
  }

  /**
   * The guarantee this leader gives `session` now, recorded as a promise made at `receivedAtMs`; null when the
   * session's promise has already passed (it is expiring: a late keepalive must not revive it; docs/design.md,
   * principle 2). A session this leader does not track yet (it is still taking office) gets one TTL, as taking
   * office gives.
   */
  private promise(session: { sessionId: string; ttlMs: number }, receivedAtMs: number): Guarantee | null {
    const { tracker, guarantees } = this.deps;
    const guarantee = guarantees.guaranteeFor(session.sessionId, session.ttlMs, receivedAtMs);
    if (tracker.promisedUntil(session.sessionId) === undefined) {
      tracker.opened(session.sessionId, session.ttlMs, receivedAtMs);
    }
    return tracker.keepaliveAnswered(session.sessionId, receivedAtMs, guarantee.leaseMs) === null ? null : guarantee;
  }

  /**
   * Opens a new session for `user` ('' with auth off): a random 128-bit id and 256-bit secret, replicated with the
   * secret's SHA-256. The open
   * itself is a promise: the session lives at least one guarantee from `receivedAtMs` without a keepalive.
   */
  async openSession(clientName: string, ttlMs: number, receivedAtMs: number, user = ''): Promise<OpenedSession> {
    const problem = ttlProblem(ttlMs) ?? clientNameProblem(clientName);
    if (problem) throw new InvalidRequestError(problem);
    const sessionId = this.randomBytes(16).toString('hex');
    const secret = this.randomBytes(32).toString('base64url');
    const secretHash = createHash('sha256').update(secret, 'utf8').digest('hex');
    await this.proposeAccepted({
      type: 'session-open',
      sessionId,
      secretHash,
      ttlMs,
      clientName,
      ...(user === '' ? {} : { user }),
    });
    this.deps.tracker.opened(sessionId, ttlMs, receivedAtMs);
    const guarantee = this.promise({ sessionId, ttlMs }, receivedAtMs);
    // Just opened at receivedAtMs with a promise until receivedAtMs + TTL: an answer cannot be refused.
    return { sessionId, secret, ttlMs, guarantee: guarantee! };
  }

  /** Resumes a session after a linearizable read: unknown -> SessionNotFoundError, wrong secret -> WrongSecretError. */
  async resumeSession(sessionId: string, secret: string, receivedAtMs: number): Promise<ResumedSession> {
    this.requireLeader();
    await this.deps.raft.readBarrier();
    const session = this.deps.machine.session(sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    if (!this.deps.machine.verifySecret(sessionId, secret)) throw new WrongSecretError(sessionId);
    const guarantee = this.promise(session, receivedAtMs);
    if (guarantee === null) throw new SessionNotFoundError(sessionId);
    return { session, guarantee };
  }

  /**
   * Answers a keepalive (received at `sample.receiveMs`): the guarantee, recorded as the session's promise. Null when the
   * session is gone or its promise has already passed (its expiry is on the way and will be pushed);
   * RaftNotLeaderError when this node does not lead.
   */
  keepalive(sample: KeepaliveSample): Guarantee | null {
    // Only the leader promises: a node deposed while a stream was being opened must send it elsewhere.
    this.requireLeader();
    // O(1): the session's view (its held names, sorted) is not needed to answer a keepalive.
    const ttlMs = this.deps.machine.sessionTtlMs(sample.sessionId);
    if (ttlMs === undefined) return null;
    this.deps.guarantees.keepaliveReceived(sample);
    const guarantee = this.promise({ sessionId: sample.sessionId, ttlMs }, sample.receiveMs);
    if (guarantee !== null) this.deps.metrics?.keepalives.inc();
    return guarantee;
  }

  /** Checks a lock name before anything is proposed (the state machine checks again; both say the same). */
  checkLockName(name: string): void {
    const problem = lockNameProblem(name);
    if (problem) throw new RequestRefusedError('INVALID_ARGUMENT', problem);
  }
}
