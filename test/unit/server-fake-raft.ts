// Test double of RaftNodeApi: a single in-memory node that applies proposals to its state machine, either at once
// or in batches on flush() (like one Ready applying several entries before any proposer hears back).
import { RaftNotLeaderError } from '../../src/raft/errors.js';
import type { ProposalResult, RaftNodeApi, RaftStatus } from '../../src/raft/node-api.js';
import type { Role, Snapshot, StateMachine } from '../../src/raft/types.js';

interface Queued {
  readonly data: Uint8Array;
  readonly resolve: (result: ProposalResult) => void;
}

/** A one-node "cluster" whose role and leader the test sets. */
export class FakeRaftNode implements RaftNodeApi {
  readonly id = 'node1';
  role: Role = 'leader';
  term = 1;
  leaderId: string | null = 'node1';
  /** True: proposals wait for flush(); false: each is applied when proposed. */
  batched = false;
  private index = 0;
  private readonly queue: Queued[] = [];
  private readonly listeners = new Set<(status: RaftStatus) => void>();
  /** Every entry's data, in log order. */
  readonly log: Uint8Array[] = [];

  constructor(private readonly machine: StateMachine) {}

  async propose<T = unknown>(data: Uint8Array): Promise<ProposalResult<T>> {
    if (this.role !== 'leader') throw new RaftNotLeaderError(this.leaderId, this.leaderId && `${this.leaderId}:7400`);
    return new Promise<ProposalResult<T>>((resolve) => {
      this.queue.push({ data, resolve: resolve as (result: ProposalResult) => void });
      if (!this.batched) this.flush();
    });
  }

  /** Applies every queued proposal in order, then resolves their promises. */
  flush(): void {
    const applied = this.queue.splice(0).map((queued) => {
      this.index += 1;
      this.log.push(queued.data);
      const result = this.machine.apply({ index: this.index, term: this.term, type: 'normal', data: queued.data });
      return () => queued.resolve({ index: this.index, term: this.term, result });
    });
    for (const resolve of applied) resolve();
  }

  async readBarrier(): Promise<void> {
    if (this.role !== 'leader') throw new RaftNotLeaderError(this.leaderId, this.leaderId && `${this.leaderId}:7400`);
  }

  /** Changes role, term and leader, and tells the listeners. */
  become(role: Role, term: number, leaderId: string | null): void {
    this.role = role;
    this.term = term;
    this.leaderId = leaderId;
    const status = this.status();
    for (const listener of this.listeners) listener(status);
  }

  addLearner(): Promise<void> {
    return this.unsupported();
  }

  addVoter(): Promise<void> {
    return this.unsupported();
  }

  promote(): Promise<void> {
    return this.unsupported();
  }

  remove(): Promise<void> {
    return this.unsupported();
  }

  transferLeadership(): Promise<void> {
    return this.unsupported();
  }

  /** Membership is exercised against real nodes (test/integration/server-cluster.test.ts), not this double. */
  private unsupported(): Promise<void> {
    return Promise.reject(new Error('FakeRaftNode has no membership; use a real cluster'));
  }

  status(): RaftStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leaderId: this.leaderId,
      leaderAddress: this.leaderId && `${this.leaderId}:7400`,
      commitIndex: this.index,
      appliedIndex: this.index,
      conf: { voters: ['node1'], learners: [], addresses: { node1: 'node1:7400' } },
    };
  }

  readonly clusterId = 'fake-cluster';

  async captureSnapshot(): Promise<Snapshot> {
    return {
      meta: { index: this.index, term: this.term, conf: this.status().conf },
      data: this.machine.snapshot(),
    };
  }

  onStatusChange(listener: (status: RaftStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  eventLoopStallMs(): number {
    return 0;
  }

  eventLoopDelayMs(): number {
    return 0;
  }

  async close(): Promise<void> {}
}
