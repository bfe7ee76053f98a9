// Leader election built on a lock, like etcd's concurrency.Election: the leader is whoever holds the exclusive lock
// `election/<name>`; its value travels as the grant's metadata.
import { AbortError } from './errors.js';
import type { Lock } from './lock.js';

/** What an Election needs from its client. */
export interface ElectionHost {
  acquire(
    name: string,
    options: { mode: 'exclusive'; waitMs: number; signal?: AbortSignal; metadata: string },
  ): Promise<Lock>;
  admin(): {
    listLocks(prefix?: string): Promise<readonly { name: string; holders: readonly { metadata: string }[] }[]>;
  };
}

/** One election; campaign to lead it, observe who leads. */
export class Election {
  /** The lock that carries the leadership. */
  readonly lockName: string;
  private lock: Lock | null = null;

  constructor(
    private readonly host: ElectionHost,
    readonly name: string,
  ) {
    this.lockName = `election/${name}`;
  }

  /**
   * Waits until this client leads, announcing `value` (at most 1 KiB). Resolves with the leadership lock: its
   * `signal` aborts when the leadership is lost. Aborting `signal` withdraws the candidacy.
   */
  async campaign(value: string, options: { signal?: AbortSignal } = {}): Promise<Lock> {
    const lock = await this.host.acquire(this.lockName, {
      mode: 'exclusive',
      waitMs: Number.POSITIVE_INFINITY,
      signal: options.signal,
      metadata: value,
    });
    this.lock = lock;
    return lock;
  }

  /** True while this client holds the leadership. */
  get isLeader(): boolean {
    return this.lock?.held ?? false;
  }

  /** The current leader's value, or undefined when nobody leads (a linearizable read on the cluster's leader). */
  async leader(): Promise<string | undefined> {
    const locks = await this.host.admin().listLocks(this.lockName);
    return locks.find((l) => l.name === this.lockName)?.holders[0]?.metadata;
  }

  /**
   * Yields the leader's value each time a new leader is seen (polling every `intervalMs`, default 500 ms), until
   * the loop breaks or `signal` aborts.
   */
  async *observe(options: { intervalMs?: number; signal?: AbortSignal } = {}): AsyncGenerator<string, void, undefined> {
    const intervalMs = options.intervalMs ?? 500;
    let last: string | undefined;
    while (!options.signal?.aborted) {
      const current = await this.leader();
      if (current !== undefined && current !== last) {
        last = current;
        yield current;
      }
      try {
        await sleep(intervalMs, options.signal);
      } catch {
        return;
      }
    }
  }

  /** Gives up the leadership (releases the lock); nothing happens if this client does not lead. */
  async resign(): Promise<void> {
    const lock = this.lock;
    this.lock = null;
    if (lock?.held) await lock.release();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
