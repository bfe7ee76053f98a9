// Simulated clients: each proposes its operations one at a time and retries with the same sequence until answered.
import type { Entry, NodeId } from '../raft/types.js';
import type { SeededRng } from '../util/rng.js';
import { encodeOp } from './dedup-state-machine.js';
import type { SimCluster } from './raft-cluster.js';

/** How the simulated clients behave. */
export interface ClientOptions {
  readonly clients: number;
  /** Pause between a client's operations, ms. */
  readonly thinkMs: readonly [number, number];
  /** A client re-proposes the same operation when unanswered for this long (an ambiguous failure), ms. */
  readonly retryMs: number;
  /** Probability that a client sends to a random node instead of the leader (stale leader knowledge). */
  readonly misdirectRate: number;
}

interface Attempt {
  readonly clientId: string;
  readonly seq: number;
  readonly term: number;
}

interface ClientState {
  readonly id: string;
  /** The operation being proposed (its sequence), or 0 while thinking. */
  seq: number;
  lastTryMs: number;
  thinkUntilMs: number;
}

/** How often a client looks at its operation (to start the next one or retry), ms. */
const POLL_MS = 50;

/**
 * Clients in the style of Raft thesis §6.3: operation `seq` is retried (possibly on another node, so it may reach
 * the log twice) until the node it was proposed to applies it; only then is it acknowledged and `seq + 1` begins.
 */
export class RaftClients {
  /** Highest acknowledged sequence per client. */
  readonly acknowledged = new Map<string, number>();
  /** Proposals that were accepted by a leader (some may never commit). */
  proposals = 0;
  private readonly clients: ClientState[] = [];
  /** Outstanding attempts by `${node}@${index}`: answered when that node applies that index. */
  private readonly attempts = new Map<string, Attempt>();
  private running = true;

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: SeededRng,
    private readonly options: ClientOptions,
  ) {
    cluster.onApply((node, entry) => this.onApply(node, entry));
    for (let i = 0; i < options.clients; i++) {
      const client: ClientState = { id: `client${i + 1}`, seq: 0, lastTryMs: 0, thinkUntilMs: 0 };
      this.clients.push(client);
      this.acknowledged.set(client.id, 0);
    }
  }

  /** Lets the clients run from now on: each polls its state every `POLL_MS`. */
  start(): void {
    this.running = true;
    for (const client of this.clients) {
      client.thinkUntilMs = this.cluster.now + this.think();
      this.cluster.schedule(this.rng.uniform(0, POLL_MS), () => this.step(client));
    }
  }

  /** Stops issuing operations and retries (operations in flight may still be answered). */
  stop(): void {
    this.running = false;
  }

  /** Total operations acknowledged. */
  get acknowledgedCount(): number {
    let total = 0;
    for (const seq of this.acknowledged.values()) total += seq;
    return total;
  }

  private think(): number {
    return this.rng.uniform(this.options.thinkMs[0], this.options.thinkMs[1]);
  }

  private step(client: ClientState): void {
    if (!this.running) return;
    const now = this.cluster.now;
    if (client.seq === 0 && now >= client.thinkUntilMs) {
      client.seq = (this.acknowledged.get(client.id) ?? 0) + 1;
      this.propose(client);
    } else if (client.seq !== 0 && now - client.lastTryMs >= this.options.retryMs) {
      this.propose(client);
    }
    this.cluster.schedule(POLL_MS, () => this.step(client));
  }

  private propose(client: ClientState): void {
    const target = this.rng.chance(this.options.misdirectRate)
      ? this.rng.pick(this.cluster.ids)
      : (this.cluster.leader() ?? this.rng.pick(this.cluster.ids));
    if (!this.cluster.isUp(target)) return;
    const clientId = client.id;
    const seq = client.seq;
    client.lastTryMs = this.cluster.now;
    const position = this.cluster.act(target, (core) => core.propose(encodeOp({ clientId, seq })));
    if (position === null) return;
    this.proposals += 1;
    this.attempts.set(`${target}@${position.index}`, { clientId, seq, term: position.term });
  }

  private onApply(node: NodeId, entry: Entry): void {
    const key = `${node}@${entry.index}`;
    const attempt = this.attempts.get(key);
    if (attempt === undefined) return;
    this.attempts.delete(key);
    if (attempt.term !== entry.term) return; // overwritten by another leader's entry: the client will retry
    if ((this.acknowledged.get(attempt.clientId) ?? 0) >= attempt.seq) return;
    this.acknowledged.set(attempt.clientId, attempt.seq);
    const client = this.clients.find((candidate) => candidate.id === attempt.clientId);
    if (client === undefined || client.seq !== attempt.seq) return;
    client.seq = 0;
    client.thinkUntilMs = this.cluster.now + this.think();
  }
}
