// The leader's part in the lock simulation: taking office, session expiries, due revocations, lock-delay ticks,
// pre-emption requests and operator revokes, and keepalive answers with their promises.
import type { LockCommand, LockEvent } from '../../lock/commands.js';
import type { NodeId } from '../../raft/types.js';
import type { LockSimClients, SimLockClient } from './clients.js';
import type { LockSimContext } from './context.js';
import type { LockReplicas, NodeService } from './replicas.js';

/** How often each leader looks at its duties, ms. */
const DUTY_MS = 50;
/** A duty (an expiry, a revocation, a tick) is proposed again after this long if it has not taken effect, ms. */
const DUTY_REPEAT_MS = 1_000;

/** The duties of whichever nodes lead, and their answers to keepalives. */
export class SimLeaders {
  /** When each term's leader took office, to measure how long deposed leaders keep answering keepalives. */
  private readonly electedAtMs = new Map<number, number>();

  constructor(
    private readonly ctx: LockSimContext,
    private readonly replicas: () => LockReplicas,
    private readonly clients: () => LockSimClients,
  ) {}

  /** Starts the duty timer. */
  start(): void {
    this.ctx.cluster.schedule(DUTY_MS, () => this.duties());
  }

  /** A leader keeps its tracker in step with the log. */
  applied(service: NodeService, command: LockCommand, events: readonly LockEvent[]): void {
    const { ctx } = this;
    if (command.type === 'revoke' && command.sessionId !== undefined)
      service.tracker.revocationDone(command.name, command.sessionId);
    for (const event of events) {
      if (event.type === 'session-opened') {
        service.tracker.opened(event.sessionId, ctx.options.ttlMs, ctx.now);
        ctx.promise(event.sessionId, service.tracker.promisedUntil(event.sessionId)!);
      } else if (event.type === 'session-ended') {
        service.tracker.ended(event.sessionId);
      } else if (event.type === 'released' || event.type === 'revoked') {
        service.tracker.revocationDone(event.name, event.sessionId);
      }
    }
  }

  /** A keepalive of `session` sent at `sentAtMs` reaches `node`. */
  keepalive(node: NodeId, client: SimLockClient, session: string, sentAtMs: number): void {
    const { ctx } = this;
    const { cluster, options } = ctx;
    if (!ctx.leading(node)) {
      client.node = null;
      return;
    }
    const service = this.replicas().serviceOf(node);
    if (service.trackerTerm !== cluster.core(node).term) return; // not set up yet: no answer
    const known = service.tracker.promisedUntil(session) !== undefined;
    const guaranteeMs = options.ttlMs;
    const until = service.tracker.keepaliveAnswered(session, cluster.now, guaranteeMs);
    const clients = this.clients();
    if (until === null) {
      if (known) cluster.schedule(ctx.delay(), () => clients.onSessionExpired(client, session));
      return;
    }
    service.lastKeepaliveSentAtMs.set(session, sentAtMs);
    const nodeTerm = cluster.core(node).term;
    for (const [term, atMs] of this.electedAtMs) {
      if (term > nodeTerm)
        ctx.stats.maxDeposedAnswerMs = Math.max(ctx.stats.maxDeposedAnswerMs ?? 0, cluster.now - atMs);
    }
    ctx.promise(session, until);
    // Every answer repeats the pending revocation deadlines, so a lost pre-emption request is not a silent one.
    const graces = (service.machine.session(session)?.held ?? []).flatMap((name) => {
      const r = service.tracker.revocation(name, session);
      return r ? [{ name, token: r.token, durationMs: r.deadlineMs - cluster.now }] : [];
    });
    cluster.schedule(ctx.delay(), () => clients.onKeepaliveAnswer(client, session, sentAtMs, guaranteeMs, graces));
  }

  private duties(): void {
    const { ctx } = this;
    const { cluster, rng } = ctx;
    if (ctx.stopped) return;
    const replicas = this.replicas();
    for (const id of cluster.ids) {
      if (!ctx.leading(id)) {
        if (cluster.isUp(id)) replicas.serviceOf(id).trackerTerm = -1;
        continue;
      }
      const service = replicas.serviceOf(id);
      const term = cluster.core(id).term;
      const now = cluster.now;
      if (service.trackerTerm !== term) {
        // Take office only once an entry of this term is applied: an expiry proposed by a predecessor may still
        // commit ahead of it, and renewing that session first would be a promise the log then breaks.
        if (service.appliedTerm !== term) continue;
        ctx.count('leaderships');
        if (!this.electedAtMs.has(term)) this.electedAtMs.set(term, now);
        service.trackerTerm = term;
        service.lastKeepaliveSentAtMs.clear();
        service.tracker.becameLeader(now, service.machine.sessions());
      }
      const due = (key: string) => {
        const last = service.lastDutyMs.get(key);
        if (last !== undefined && now - last < DUTY_REPEAT_MS) return false;
        service.lastDutyMs.set(key, now);
        return true;
      };
      const expired = service.tracker.expiredAt(now).filter((s) => due(`expire:${s}`));
      if (expired.length > 0) replicas.propose(id, { type: 'sessions-expire', sessionIds: expired });
      for (const r of service.tracker.dueRevocations(now)) {
        if (due(`revoke:${r.lockName}:${r.sessionId}`)) {
          replicas.propose(id, {
            type: 'revoke',
            name: r.lockName,
            sessionId: r.sessionId,
            token: r.token,
            cause: 'preemption',
            reason: 'deadline passed',
          });
        }
      }
      const delayEnd = service.machine.nextLockDelayEndMs();
      if (delayEnd !== null && delayEnd <= now && due('tick')) replicas.propose(id, { type: 'tick' });
      if (ctx.accepting && rng.chance(0.01)) this.requestPreemption(service);
      if (ctx.accepting && rng.chance(0.002)) this.forceRevoke(id, service);
    }
    cluster.schedule(DUTY_MS, () => this.duties());
  }

  /** The RPH's part, reduced to its effect: a pre-emption request with a deadline for a holder others wait for. */
  private requestPreemption(service: NodeService): void {
    const { ctx } = this;
    const { rng, cluster } = ctx;
    const contended = service.machine.locks().filter((l) => l.holders.length > 0 && l.waiters.length > 0);
    if (contended.length === 0) return;
    const lock = rng.pick(contended);
    const lockName = lock.name;
    const target = rng.pick(lock.holders);
    if (service.tracker.revocation(lockName, target.sessionId)) return;
    if (!service.lastKeepaliveSentAtMs.has(target.sessionId)) return; // it must name a keepalive it received
    const graceMs = rng.uniform(300, 2_500);
    service.tracker.requestRevocation(lockName, target.token, target.sessionId, cluster.now + graceMs, target.fenced);
    ctx.count('preemptionRequests');
    ctx.history.push({
      kind: 'revocation-requested',
      session: target.sessionId,
      lock: lockName,
      token: target.token,
      atMs: cluster.now,
    });
    const keepaliveSentAtMs = service.lastKeepaliveSentAtMs.get(target.sessionId)!;
    const clients = this.clients();
    cluster.schedule(ctx.delay(), () =>
      clients.onPreemption(target.sessionId, lockName, target.token, { keepaliveSentAtMs, durationMs: graceMs }),
    );
  }

  private forceRevoke(id: NodeId, service: NodeService): void {
    const held = service.machine.locks().filter((l) => l.holders.length > 0);
    if (held.length === 0) return;
    const lock = this.ctx.rng.pick(held);
    this.replicas().propose(id, {
      type: 'revoke',
      name: lock.name,
      token: lock.holders[0]!.token,
      sessionId: lock.holders[0]!.sessionId,
      cause: 'operator-force',
      reason: 'sim',
    });
  }
}
