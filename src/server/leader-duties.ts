// What only the leader proposes on its own: batched session expiries, due revocations, lock-delay ticks and the
// cancels of queued acquires whose wait_ms ran out, after
// first extending every session by one TTL on taking office (docs/design.md, principle 4); schedules operator and
// RPH revocations, replicating an operator's revoke that is due later so that the next leader carries it out.
import type { LockCommand, LockEvent, RevokeCause, WaitRef } from '../lock/commands.js';
import type { RaftNodeApi, RaftStatus } from '../raft/node-api.js';
import type { SessionTracker } from '../session/tracker.js';
import type { Clock } from '../util/clock.js';
import { LeaderNotReadyError, RequestRefusedError } from './errors.js';
import type { LockService } from './lock-service.js';

/** Why a scheduled revocation happens, kept until it is proposed. */
interface RevocationCause {
  readonly cause: RevokeCause;
  readonly reason: string;
}

/** One holder an operator's revoke applies to, and when it takes effect. */
export interface ScheduledRevocation {
  readonly sessionId: string;
  readonly token: bigint;
  /** Server time (epoch ms) at which the lock is revoked. */
  readonly revokeAtMs: number;
  /** How long from the request until then (0 when immediate). */
  readonly graceMs: number;
  /** True when revoked at once (fenced or forced). */
  readonly immediate: boolean;
}

/** Proposals the leader makes on its own clock. */
export class LeaderDuties {
  /** True once this leader has extended every session by one TTL; nothing expires before. */
  private inOffice = false;
  private officeTerm = -1;
  /** Sessions in a sessions-expire proposal not yet applied. */
  private readonly expiring = new Set<string>();
  /** Waiters (waitKey) in a waits-expire proposal not yet applied. */
  private readonly expiringWaits = new Set<string>();
  /** Revocations (by lock name and token) already proposed and not yet applied. */
  private readonly revoking = new Set<string>();
  private readonly causes = new Map<string, RevocationCause>();
  /** The lock-delay end a tick was last proposed for. */
  private tickedForMs: number | null = null;
  private readonly officeListeners = new Set<(nowMs: number) => void>();

  constructor(
    /** The node (only its read barrier and status): the process's RaftNode, or the simulator's driver. */
    private readonly raft: Pick<RaftNodeApi, 'readBarrier' | 'status'>,
    private readonly service: LockService,
    private readonly tracker: SessionTracker,
    private readonly clock: Clock,
    private readonly onProposalError: (error: unknown) => void,
  ) {}

  /** Whether this node currently acts as leader (sessions extended, expiries running). */
  get active(): boolean {
    return this.inOffice;
  }

  /**
   * Follows the node's status. On a new term as leader: wait until everything committed is applied (a read
   * barrier), then give every session one full TTL from now (a new leader cannot know its predecessor's promises).
   */
  async statusChanged(status: RaftStatus): Promise<void> {
    if (status.role !== 'leader') {
      this.inOffice = false;
      this.officeTerm = -1;
      this.causes.clear();
      return;
    }
    if (status.term === this.officeTerm) return;
    this.officeTerm = status.term;
    this.inOffice = false;
    try {
      await this.raft.readBarrier();
    } catch (error) {
      // Deposed before taking office: the next status change decides again.
      if (this.officeTerm === status.term) this.officeTerm = -1;
      this.onProposalError(error);
      return;
    }
    const current = this.raft.status();
    if (current.role !== 'leader' || current.term !== status.term) return;
    this.tracker.becameLeader(this.clock.now(), this.service.machine.sessions());
    this.rearmScheduledRevocations();
    this.expiring.clear();
    this.expiringWaits.clear();
    this.revoking.clear();
    this.tickedForMs = null;
    this.inOffice = true;
    for (const listener of this.officeListeners) listener(this.clock.now());
  }

  /**
   * Operator revokes that a predecessor scheduled (replicated with their holds): due at the later of the time it
   * named and the promise this leader has just given (an ordinary lock), at the time it named (a fenced one).
   */
  private rearmScheduledRevocations(): void {
    for (const pending of this.service.machine.pendingRevocations()) {
      this.tracker.requestRevocation(
        pending.name,
        pending.token,
        pending.sessionId,
        pending.revokeAtMs,
        pending.fenced,
      );
      this.causes.set(revocationKey(pending.name, pending.token), { cause: pending.cause, reason: pending.reason });
    }
  }

  /** Calls `listener` each time this node takes office (after every session was given its TTL). */
  onTookOffice(listener: (nowMs: number) => void): () => void {
    this.officeListeners.add(listener);
    return () => this.officeListeners.delete(listener);
  }

  /**
   * A Pre-emption Request was sent for `sessionId`'s hold of `name`: from now on answers no longer extend this lock's
   * promise (docs/design.md, principle 2). Nothing is revoked until `preemptNow` names the time.
   */
  holdForPreemption(name: string, token: bigint, sessionId: string, fenced: boolean, reason: string): void {
    this.tracker.requestRevocation(name, token, sessionId, Number.POSITIVE_INFINITY, fenced);
    this.causes.set(revocationKey(name, token), { cause: 'preemption', reason });
  }

  /**
   * The pre-emption's deadline has come: revoke at once for a fenced lock, for an ordinary one at the promise it had
   * when the request was sent (whichever is later); proposed by `runDue` when due.
   */
  preemptNow(name: string, token: bigint, sessionId: string, fenced: boolean): number {
    return this.tracker.requestRevocation(name, token, sessionId, this.clock.now(), fenced);
  }

  /**
   * The commands due at `nowMs`: one batched expiry, due revocations, one batched cancel of the waiters whose wait ran
   * out, and a tick when a lock-delay ended.
   */
  dueCommands(nowMs: number): LockCommand[] {
    if (!this.inOffice) return [];
    const commands: LockCommand[] = [];
    const machine = this.service.machine;
    for (const due of this.tracker.dueRevocations(nowMs)) {
      const key = revocationKey(due.lockName, due.token);
      if (this.revoking.has(key)) continue;
      const cause = this.causes.get(key) ?? { cause: 'preemption', reason: 'revocation deadline passed' };
      commands.push({ type: 'revoke', name: due.lockName, sessionId: due.sessionId, token: due.token, ...cause });
    }
    // After the revocations: a hold revoked and a session expired at the same moment reads as a revocation.
    const expired = this.tracker
      .expiredAt(nowMs)
      .filter((sessionId) => !this.expiring.has(sessionId) && machine.sessionTtlMs(sessionId) !== undefined);
    if (expired.length > 0) commands.push({ type: 'sessions-expire', sessionIds: expired });
    const waits = machine.dueWaits(nowMs).filter((wait) => !this.expiringWaits.has(waitKey(wait)));
    if (waits.length > 0) commands.push({ type: 'waits-expire', waits });
    const delayEndMs = machine.nextLockDelayEndMs();
    if (delayEndMs !== null && delayEndMs <= nowMs && delayEndMs !== this.tickedForMs) {
      commands.push({ type: 'tick' });
    }
    return commands;
  }

  /** Keeps the deadlines in step with the log: ended sessions and ended holds have nothing left to expire or revoke. */
  applied(event: LockEvent): void {
    if (event.type === 'session-ended') this.tracker.ended(event.sessionId);
    else if (event.type === 'released' || event.type === 'revoked') {
      this.tracker.revocationDone(event.name, event.sessionId);
    }
  }

  /** Proposes every command due now; each is marked in flight until applied so it is not proposed twice. */
  async runDue(): Promise<void> {
    const commands = this.dueCommands(this.clock.now());
    await Promise.all(commands.map((command) => this.proposeMarked(command).catch(this.onProposalError)));
  }

  private async proposeMarked(command: LockCommand): Promise<void> {
    const done = this.markInFlight(command);
    try {
      await this.service.proposeAccepted(command);
    } finally {
      done();
    }
  }

  private markInFlight(command: LockCommand): () => void {
    switch (command.type) {
      case 'sessions-expire':
        for (const sessionId of command.sessionIds) this.expiring.add(sessionId);
        return () => {
          for (const sessionId of command.sessionIds) this.expiring.delete(sessionId);
        };
      case 'revoke': {
        const key = revocationKey(command.name, command.token ?? 0n);
        this.revoking.add(key);
        return () => {
          this.revoking.delete(key);
          this.causes.delete(key);
        };
      }
      case 'waits-expire': {
        const keys = command.waits.map(waitKey);
        for (const key of keys) this.expiringWaits.add(key);
        return () => {
          for (const key of keys) this.expiringWaits.delete(key);
        };
      }
      case 'tick':
        this.tickedForMs = this.service.machine.nextLockDelayEndMs();
        return () => {};
      default:
        return () => {};
    }
  }

  /**
   * An operator's revoke (docs/design.md, principle 2): `force` or a fenced lock at once; an ordinary lock at the end
   * of the promise already given to its holder. `sessionId` picks one holder of a shared lock; otherwise every holder.
   * `requested` is called with the schedule as soon as it is fixed, before anything is committed: the caller sends
   * each later revocation's Pre-emption Request then. Sent after the commit, it would reach the holder behind the
   * keepalive answers given meanwhile, whose promises the SDK counts in for an ordinary lock, past the revocation
   * time fixed here (the lock simulator's seeds 376 and 519 found that overrun).
   */
  async revoke(
    name: string,
    sessionId: string,
    force: boolean,
    reason: string,
    requested: (scheduled: readonly ScheduledRevocation[]) => void = () => {},
  ): Promise<ScheduledRevocation[]> {
    this.service.requireLeader();
    await this.raft.readBarrier();
    if (!this.inOffice) throw new LeaderNotReadyError();
    const lock = this.service.machine.lock(name);
    const holders = (lock?.holders ?? []).filter((holder) => sessionId === '' || holder.sessionId === sessionId);
    if (holders.length === 0) {
      const whose = sessionId === '' ? '' : ` by session ${sessionId}`;
      throw new RequestRefusedError('LOCK_NOT_FOUND', `lock "${name}" is not held${whose}; nothing to revoke`);
    }
    const nowMs = this.clock.now();
    const cause: RevocationCause = { cause: force ? 'operator-force' : 'operator', reason };
    const scheduled = holders.map((holder) => {
      const revokeAtMs = force
        ? nowMs
        : this.tracker.requestRevocation(name, holder.token, holder.sessionId, nowMs, holder.fenced);
      this.causes.set(revocationKey(name, holder.token), cause);
      const immediate = revokeAtMs <= nowMs;
      return { sessionId: holder.sessionId, token: holder.token, revokeAtMs, graceMs: revokeAtMs - nowMs, immediate };
    });
    requested(scheduled);
    // Proposed here (and marked in flight) so the reply follows the commit; later ones are proposed when due, and
    // replicated now so that they are not lost with this leader.
    await Promise.all(
      scheduled.map((each) =>
        each.immediate
          ? this.proposeMarked({ type: 'revoke', name, sessionId: each.sessionId, token: each.token, ...cause })
          : this.service.proposeAccepted({
              type: 'revoke-scheduled',
              name,
              sessionId: each.sessionId,
              token: each.token,
              revokeAtMs: each.revokeAtMs,
              ...cause,
            }),
      ),
    );
    return scheduled;
  }
}

function waitKey(wait: WaitRef): string {
  return `${wait.sessionId}\u0000${wait.name}\u0000${wait.requestSeq}`;
}

function revocationKey(name: string, token: bigint): string {
  return `${token}\u0000${name}`;
}
