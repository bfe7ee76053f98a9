// Forced revocations as the cluster counts them: polls every node's /metrics and turns each new forced revocation
// into a timeline event for the open Pre-emption Request it ended (frozen holders first: only they cannot hand back).
import type { LocalNode } from '../server/local-cluster.js';
import type { DemoContext } from './lock-watch.js';

/** Sum of `forelock_forced_revocations_total` over its reasons in a Prometheus text page. */
export function forcedRevocationsIn(metricsText: string): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('forelock_forced_revocations_total')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** Follows the nodes' forced-revocation counters (each node counts those it committed as leader). */
export class RevocationWatch {
  private readonly seen = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> = Promise.resolve();
  private total = 0;

  constructor(
    private readonly nodes: readonly LocalNode[],
    private readonly ctx: DemoContext,
  ) {}

  /** Polls every `intervalMs` until `stop()`. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      void this.poll();
    }, intervalMs);
  }

  /** Stops polling (after one last poll). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.poll();
  }

  /** Forced revocations counted so far. */
  get count(): number {
    return this.total;
  }

  /**
   * Reads every node's counter once (polls never overlap); new revocations are stamped `atMs` (default: now), so
   * that a grant which revealed them can be shown after them.
   */
  poll(atMs?: number): Promise<void> {
    this.polling = this.polling.then(() => this.pollOnce(atMs));
    return this.polling;
  }

  private async pollOnce(atMs: number | undefined): Promise<void> {
    const counts = await Promise.all(
      this.nodes.map(async (node) => {
        try {
          const response = await fetch(`http://${node.http}/metrics`, { signal: AbortSignal.timeout(1_000) });
          return forcedRevocationsIn(await response.text());
        } catch {
          return null;
        }
      }),
    );
    this.nodes.forEach((node, i) => {
      const count = counts[i];
      if (count === null || count === undefined) return;
      // A restarted node counts from zero again.
      const before = Math.min(this.seen.get(node.id) ?? 0, count);
      this.seen.set(node.id, count);
      for (let n = before; n < count; n++) this.revoked(atMs ?? this.ctx.elapsedMs(), atMs === undefined);
    });
  }

  /** `untold`: no grant revealed it yet, so the lock's next grant is shown. */
  private revoked(atMs: number, untold: boolean): void {
    const { openRequests, timeline, incidents } = this.ctx;
    this.total += 1;
    const frozen = openRequests.findIndex((open) => open.frozen);
    const [open] = openRequests.splice(Math.max(frozen, 0), 1);
    if (open === undefined) {
      timeline.add({ type: 'note', atMs, client: 'cluster', text: 'committed a forced revocation of a lock' });
      return;
    }
    if (untold) incidents.add(open.lock);
    timeline.add({ type: 'forced-revocation', atMs, lock: open.lock, client: open.client, token: open.token });
  }
}
