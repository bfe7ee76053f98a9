// Per-session memory of recent requests and their results, so a retried (session, requestSeq) is applied once
// (Raft thesis §6.3), and a different request that reuses a remembered requestSeq is told so instead of being
// answered with another request's result.
import { createHash } from 'node:crypto';
import type { LockCommand, LockResult } from './commands.js';

/** Metadata longer than this is described by its SHA-256 rather than quoted. */
const QUOTED_METADATA_CHARS = 64;

/**
 * What a request asks for, as one deterministic string: two requests are the same request when their descriptions
 * are equal. An acquire is its lock name, mode, fenced, pre-emptible, try-only and metadata (not how long it may
 * wait: a client may re-send with the wait that remains); a release its lock name and token; a cancel its lock name.
 * Also used in messages, so it reads as words.
 */
export function describeRequest(command: Extract<LockCommand, { type: 'acquire' | 'release' | 'cancel' }>): string {
  const name = JSON.stringify(String(command.name));
  switch (command.type) {
    case 'acquire': {
      let text = `acquire of ${name} (${String(command.mode)}`;
      if (command.fenced === true) text += ', fenced';
      if (command.preemptible === false) text += ', never pre-empted';
      if (command.tryOnly === true) text += ', try-only';
      const metadata = command.metadata ?? '';
      if (metadata.length > QUOTED_METADATA_CHARS) {
        text += `, metadata sha256:${createHash('sha256').update(metadata, 'utf8').digest('hex').slice(0, 16)}`;
      } else if (metadata !== '') text += `, metadata ${JSON.stringify(metadata)}`;
      return `${text})`;
    }
    case 'release':
      return `release of ${name} (token ${String(command.token)})`;
    case 'cancel':
      return `cancel of ${name}`;
  }
}

/**
 * One remembered request in a snapshot: its sequence number, its first result (brought up to date), and what it
 * asked for (`describeRequest`). Snapshots written before requests were remembered carry no description.
 */
export type DedupEntryData = readonly [requestSeq: number, result: LockResult, request?: string];

/** The serialized form of a DedupWindow (part of the lock snapshot). */
export interface DedupWindowData {
  readonly results: readonly DedupEntryData[];
  /** The highest sequence number forgotten so far (-1 when none). */
  readonly forgottenUpToSeq: number;
}

/** The results of a session's last `capacity` requests, with what each asked for, oldest forgotten first. */
export class DedupWindow {
  private readonly results = new Map<number, LockResult>();
  /** What each remembered request asked for; absent for requests restored from an older snapshot. */
  private readonly requests = new Map<number, string>();
  private forgottenUpToSeq = -1;

  constructor(private readonly capacity: number) {}

  /** The remembered result of `requestSeq`, or undefined. */
  get(requestSeq: number): LockResult | undefined {
    return this.results.get(requestSeq);
  }

  /** What the remembered request `requestSeq` asked for (`describeRequest`), or undefined when not known. */
  requestOf(requestSeq: number): string | undefined {
    return this.requests.get(requestSeq);
  }

  /** Whether `requestSeq` is too old to be remembered and unknown: a retry that can no longer be answered. */
  isForgotten(requestSeq: number): boolean {
    return !this.results.has(requestSeq) && requestSeq <= this.forgottenUpToSeq;
  }

  /** Remembers the first result of `requestSeq` and what it asked for, forgetting the oldest beyond capacity. */
  remember(requestSeq: number, result: LockResult, request: string): void {
    this.results.set(requestSeq, result);
    this.requests.set(requestSeq, request);
    while (this.results.size > this.capacity) {
      const oldest = this.results.keys().next().value as number;
      this.results.delete(oldest);
      this.requests.delete(oldest);
      this.forgottenUpToSeq = Math.max(this.forgottenUpToSeq, oldest);
    }
  }

  /** Replaces a remembered result in place (a queued acquire later granted or cancelled); no-op if forgotten. */
  update(requestSeq: number, result: LockResult): void {
    if (this.results.has(requestSeq)) this.results.set(requestSeq, result);
  }

  /** A copy for a snapshot. */
  toData(): DedupWindowData {
    const results: DedupEntryData[] = [];
    for (const [requestSeq, result] of this.results) {
      const request = this.requests.get(requestSeq);
      results.push(request === undefined ? [requestSeq, result] : [requestSeq, result, request]);
    }
    return { results, forgottenUpToSeq: this.forgottenUpToSeq };
  }

  /** A window with a snapshot's contents. */
  static fromData(capacity: number, data: DedupWindowData): DedupWindow {
    const window = new DedupWindow(capacity);
    for (const [requestSeq, result, request] of data.results) {
      window.results.set(requestSeq, result);
      if (request !== undefined) window.requests.set(requestSeq, request);
    }
    window.forgottenUpToSeq = data.forgottenUpToSeq;
    return window;
  }
}
