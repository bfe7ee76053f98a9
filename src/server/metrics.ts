// Prometheus metrics of one node, in base units (seconds, entries): Raft role/term/commit/leadership, replication
// lag, fsync time, sessions, locks, lock events, acquire waits, proposal latency, load, build.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RaftStatus } from '../raft/node-api.js';
import type { NodeId, Role } from '../raft/types.js';
import { forelockVersion } from '../util/version.js';

/** What the metrics read at scrape time. */
export interface MetricsSource {
  status(): RaftStatus;
  sessionCount(): number;
  /** Session streams connected to this node (the leader holds them all). */
  connectedSessionCount(): number;
  lockCount(): number;
  eventLoopDelayMs(): number;
  /** The longest the event loop was blocked within the last minute, in ms. */
  eventLoopStallMs(): number;
  /** True while this node's own overload suspends pre-emption (the SPM's node-health hold). */
  preemptionSuspended(): boolean;
}

const ROLES: readonly Role[] = ['follower', 'pre-candidate', 'candidate', 'leader', 'learner'];

/** One registry per node (several nodes may share a process in tests). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly grants: Counter;
  readonly releases: Counter;
  readonly expiries: Counter;
  readonly revocations: Counter;
  /** Keepalives this node answered as leader (the idle-sessions benchmark reads the rate it really served). */
  readonly keepalives: Counter;
  readonly proposalLatency: Histogram;
  readonly warnings: Counter<'reason'>;
  readonly warningAnswers: Counter<'kind' | 'reason'>;
  readonly preemptionRequests: Counter<'reason'>;
  readonly forcedRevocations: Counter<'reason'>;
  readonly falseWarnings: Counter<'reason'>;
  /** How long a synced write of the Raft log took (fed by the Raft node's storage). */
  readonly fsyncDuration: Histogram;
  /** How long granted acquires waited in the lock's queue (0 for an immediate grant). */
  readonly acquireWait: Histogram;
  /** Peer streams refused, by direction (docs/design.md, principle 8): another cluster, a non-member, a bad certificate. */
  readonly peerRefusals: Counter<'direction'>;
  /** Calls refused for want of a permission, by the action refused. */
  readonly authDenied: Counter<'action'>;
  /** Calls refused for want of valid credentials (no, bad, expired or stale token; wrong password). */
  readonly authFailures: Counter;
  private readonly leaderChanges: Counter;
  /** The last leader this node knew (a gap with no leader is not a change by itself). */
  private lastLeader: NodeId | null = null;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'forelock_build_info',
      help: 'Always 1; the version label names the running release',
      labelNames: ['version'],
      registers,
    }).set({ version: forelockVersion() }, 1);
    new Gauge({
      name: 'forelock_has_leader',
      help: '1 when this node knows a leader, 0 otherwise',
      registers,
      collect() {
        this.set(source.status().leaderId === null ? 0 : 1);
      },
    });
    this.leaderChanges = new Counter({
      name: 'forelock_leader_changes_total',
      help: 'Leaders this node has seen take office (the first one included, as etcd counts them)',
      registers,
    });
    new Gauge({
      name: 'forelock_apply_lag_entries',
      help: 'Committed entries this node has not applied yet (commit index minus applied index)',
      registers,
      collect() {
        const status = source.status();
        this.set(Math.max(0, status.commitIndex - status.appliedIndex));
      },
    });
    new Gauge({
      name: 'forelock_peer_lag_entries',
      help: 'On the leader, entries of its log each other member lacks (absent on other nodes)',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        const status = source.status();
        for (const member of status.replication ?? []) {
          if (member.id !== status.id) this.set({ peer: member.id }, member.lagEntries);
        }
      },
    });
    new Gauge({
      name: 'forelock_raft_role',
      help: "This node's Raft role (1 for the current one)",
      labelNames: ['role'],
      registers,
      collect() {
        const role = source.status().role;
        for (const each of ROLES) this.set({ role: each }, each === role ? 1 : 0);
      },
    });
    new Gauge({
      name: 'forelock_raft_term',
      help: 'Current Raft term',
      registers,
      collect() {
        this.set(source.status().term);
      },
    });
    new Gauge({
      name: 'forelock_raft_commit_index',
      help: 'Highest committed log index known to this node',
      registers,
      collect() {
        this.set(source.status().commitIndex);
      },
    });
    new Gauge({
      name: 'forelock_raft_applied_index',
      help: 'Highest log index applied to the lock state machine',
      registers,
      collect() {
        this.set(source.status().appliedIndex);
      },
    });
    new Gauge({
      name: 'forelock_sessions',
      help: 'Open sessions in the replicated state',
      registers,
      collect() {
        this.set(source.sessionCount());
      },
    });
    new Gauge({
      name: 'forelock_connected_sessions',
      help: 'Session streams connected to this node',
      registers,
      collect() {
        this.set(source.connectedSessionCount());
      },
    });
    new Gauge({
      name: 'forelock_locks',
      help: 'Locks with at least one holder or waiter',
      registers,
      collect() {
        this.set(source.lockCount());
      },
    });
    new Gauge({
      name: 'forelock_event_loop_delay_seconds',
      help: 'How late the event loop of this process ran (p99 over the last second, beyond the 10 ms sampling timer)',
      registers,
      collect() {
        this.set(source.eventLoopDelayMs() / 1_000);
      },
    });
    new Gauge({
      name: 'forelock_event_loop_stall_max_seconds',
      help: "The longest this process's event loop was blocked within the last minute (beyond the 10 ms sampling timer): what held heartbeats, elections and commits back most",
      registers,
      collect() {
        this.set(source.eventLoopStallMs() / 1_000);
      },
    });
    new Gauge({
      name: 'forelock_preemption_suspended',
      help: "1 while this node's own overload suspends pre-emption (until 10 s after its last overloaded sample)",
      registers,
      collect() {
        this.set(source.preemptionSuspended() ? 1 : 0);
      },
    });
    this.grants = new Counter({ name: 'forelock_grants_total', help: 'Lock grants applied', registers });
    this.releases = new Counter({ name: 'forelock_releases_total', help: 'Lock releases applied', registers });
    this.expiries = new Counter({ name: 'forelock_session_expiries_total', help: 'Sessions expired', registers });
    this.revocations = new Counter({ name: 'forelock_revocations_total', help: 'Locks revoked', registers });
    this.peerRefusals = new Counter({
      name: 'forelock_peer_refusals_total',
      help: 'Peer streams refused: inbound ones this node refused, outbound ones a peer refused (another cluster id, not a member, a certificate that does not speak for the member)',
      labelNames: ['direction'],
      registers,
    });
    this.authDenied = new Counter({
      name: 'forelock_auth_denied_total',
      help: 'Calls refused with PERMISSION_DENIED while auth is enabled, by action',
      labelNames: ['action'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'forelock_auth_failures_total',
      help: 'Calls and logins refused with UNAUTHENTICATED: no, malformed, expired or stale credentials, or a wrong password',
      registers,
    });
    this.keepalives = new Counter({
      name: 'forelock_keepalives_total',
      help: 'Keepalives answered with a guarantee by this node (as leader)',
      registers,
    });
    this.warnings = new Counter({
      name: 'forelock_staleness_warnings_total',
      help: 'Staleness Warnings sent, by the strongest reason, and session advisories begun, by condition (an advisory counts as a warning)',
      labelNames: ['reason'],
      registers,
    });
    this.warningAnswers = new Counter({
      name: 'forelock_warning_answers_total',
      help: 'Answers to warnings: acked, checkpointing, released (cooperative release), by reason of the warning',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.preemptionRequests = new Counter({
      name: 'forelock_preemption_requests_total',
      help: 'Pre-emption Requests sent, by reason of the warning',
      labelNames: ['reason'],
      registers,
    });
    this.forcedRevocations = new Counter({
      name: 'forelock_forced_revocations_total',
      help: 'Locks revoked by pre-emption, by reason of the warning',
      labelNames: ['reason'],
      registers,
    });
    this.falseWarnings = new Counter({
      name: 'forelock_false_warnings_total',
      help: 'Warned holders that later released normally without going stale, by reason of the warning',
      labelNames: ['reason'],
      registers,
    });
    this.proposalLatency = new Histogram({
      name: 'forelock_proposal_latency_seconds',
      help: 'Time from proposing a lock command to its local application, in seconds',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.fsyncDuration = new Histogram({
      name: 'forelock_fsync_duration_seconds',
      help: 'Time of one synced write of the Raft log (hard state, entries, snapshot)',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.acquireWait = new Histogram({
      name: 'forelock_acquire_wait_seconds',
      help: "Time granted acquires waited in their lock's queue, in the leader's time (0 when granted at once)",
      buckets: [0, 0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
  }

  /** Feeds a Raft status change: counts a new leader (another member than the last one known). */
  observeStatus(status: RaftStatus): void {
    if (status.leaderId === null || status.leaderId === this.lastLeader) return;
    this.leaderChanges.inc();
    this.lastLeader = status.leaderId;
  }
}
