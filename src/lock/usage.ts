// Bounded per-resource usage history (request/release counts per time bucket, hold durations, wait times) for the SPM.

/** Request and release counts of one time bucket. */
export interface UsageBucket {
  /** Start of the bucket, a multiple of `bucketMs`, in entry time. */
  readonly startMs: number;
  readonly requests: number;
  readonly releases: number;
}

/** What the SPM reads of one resource's history; every time in it comes from log entries. */
export interface ResourceUsageView {
  readonly name: string;
  readonly bucketMs: number;
  /** Non-empty buckets, oldest first, within the last `buckets` bucket widths. */
  readonly buckets: readonly UsageBucket[];
  /** The most recent hold durations (grant to release, revoke or expiry), oldest first. */
  readonly holdDurationsMs: readonly number[];
  /** The most recent waits (enqueue to grant; 0 for an immediate grant), oldest first. */
  readonly waitTimesMs: readonly number[];
}

/** Bounds of the usage history. */
export interface UsageLimits {
  /** Width of a count bucket (default 10 s). */
  readonly bucketMs: number;
  /** Buckets kept per resource (default 360: one hour of 10 s buckets). */
  readonly buckets: number;
  /** Hold durations kept per resource (default 256). */
  readonly holdSamples: number;
  /** Wait times kept per resource (default 256). */
  readonly waitSamples: number;
  /** Resources kept; the least recently used beyond it is forgotten (default 10,000). */
  readonly maxResources: number;
}

/** The usage history's defaults (docs/design.md, "Components and their contracts": lock state machine). */
export const defaultUsageLimits: UsageLimits = {
  bucketMs: 10_000,
  buckets: 360,
  holdSamples: 256,
  waitSamples: 256,
  maxResources: 10_000,
};

interface MutableBucket {
  startMs: number;
  requests: number;
  releases: number;
}

interface ResourceUsage {
  buckets: MutableBucket[];
  holdDurationsMs: number[];
  waitTimesMs: number[];
}

/** One resource's history as a snapshot carries it. */
export type ResourceUsageEntry = readonly [name: string, usage: ResourceUsage];

/** The serialized form of a UsageHistory (part of the lock snapshot). */
export type UsageHistoryData = readonly ResourceUsageEntry[];

/** The usage history of every resource, deterministic: it only ever sees entry times. */
export class UsageHistory {
  private readonly resources = new Map<string, ResourceUsage>();
  /**
   * Told about a resource's history just before it changes (its entry as it is still): a snapshot being written
   * keeps its copy (copy-on-write, docs/design.md "Snapshots").
   */
  beforeChange: ((entry: ResourceUsageEntry) => void) | null = null;

  constructor(private readonly limits: UsageLimits) {}

  /** Counts one acquire request. */
  recordRequest(name: string, atMs: number): void {
    this.bucketAt(this.touch(name), atMs).requests += 1;
  }

  /** Counts one end of a hold (release, revoke or expiry) and records how long it was held. */
  recordRelease(name: string, atMs: number, heldMs: number): void {
    const usage = this.touch(name);
    this.bucketAt(usage, atMs).releases += 1;
    pushBounded(usage.holdDurationsMs, heldMs, this.limits.holdSamples);
  }

  /** Records how long a grant waited in the queue. */
  recordWait(name: string, waitMs: number): void {
    pushBounded(this.touch(name).waitTimesMs, waitMs, this.limits.waitSamples);
  }

  /** One resource's history, or undefined when it has none. */
  view(name: string): ResourceUsageView | undefined {
    const usage = this.resources.get(name);
    if (!usage) return undefined;
    return {
      name,
      bucketMs: this.limits.bucketMs,
      buckets: usage.buckets.map((bucket) => ({ ...bucket })),
      holdDurationsMs: [...usage.holdDurationsMs],
      waitTimesMs: [...usage.waitTimesMs],
    };
  }

  /** Names of every resource with a history, least recently used first. */
  names(): string[] {
    return [...this.resources.keys()];
  }

  /**
   * Every resource's entry, least recently used first, by reference: O(resources) without copying the histories. A
   * snapshot packs them later, so it sets beforeChange to keep the ones that change meanwhile.
   */
  entries(): UsageHistoryData {
    return [...this.resources];
  }

  /** Replaces the whole history with a snapshot's. */
  restore(data: UsageHistoryData): void {
    this.resources.clear();
    for (const [name, usage] of data) {
      this.resources.set(name, {
        buckets: usage.buckets.map((bucket) => ({ ...bucket })),
        holdDurationsMs: [...usage.holdDurationsMs],
        waitTimesMs: [...usage.waitTimesMs],
      });
    }
  }

  /** Returns the resource's history, marking it most recently used and evicting the least recently used. */
  private touch(name: string): ResourceUsage {
    let usage = this.resources.get(name);
    if (usage) {
      this.beforeChange?.([name, usage]);
      this.resources.delete(name);
    } else {
      usage = { buckets: [], holdDurationsMs: [], waitTimesMs: [] };
      if (this.resources.size >= this.limits.maxResources) {
        const leastRecent = this.resources.keys().next().value;
        if (leastRecent !== undefined) this.resources.delete(leastRecent);
      }
    }
    this.resources.set(name, usage);
    return usage;
  }

  /** The bucket holding `atMs`, created if needed; buckets older than the window are dropped. */
  private bucketAt(usage: ResourceUsage, atMs: number): MutableBucket {
    const startMs = Math.floor(atMs / this.limits.bucketMs) * this.limits.bucketMs;
    const oldestKeptMs = startMs - (this.limits.buckets - 1) * this.limits.bucketMs;
    while (usage.buckets.length > 0 && usage.buckets[0]!.startMs < oldestKeptMs) usage.buckets.shift();
    const last = usage.buckets.at(-1);
    // Entry times never go backwards inside the state machine, so the current bucket is always the last one.
    if (last && last.startMs === startMs) return last;
    const bucket = { startMs, requests: 0, releases: 0 };
    usage.buckets.push(bucket);
    return bucket;
  }
}

function pushBounded(samples: number[], value: number, limit: number): void {
  samples.push(value);
  if (samples.length > limit) samples.splice(0, samples.length - limit);
}
