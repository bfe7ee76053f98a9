// Test fixtures for the lock state machine: a machine with a virtual entry clock and short command builders.
import type { LockCommand, LockEvent, LockMode, LockResult } from '../../src/lock/commands.js';
import { hashSecret } from '../../src/lock/secret.js';
import { LockStateMachine, type LockStateMachineOptions } from '../../src/lock/state-machine.js';

/** What an acquire may ask beyond its session, request and name. */
export interface AcquireOptions {
  readonly mode?: LockMode;
  readonly tryOnly?: boolean;
  readonly fenced?: boolean;
  readonly metadata?: string;
}

/** An acquire command: exclusive, unfenced, pre-emptible and queueing unless `options` say otherwise. */
export function acquireCommand(
  sessionId: string,
  requestSeq: number,
  name: string,
  options: AcquireOptions = {},
): LockCommand {
  return {
    type: 'acquire',
    sessionId,
    requestSeq,
    name,
    mode: options.mode ?? 'exclusive',
    fenced: options.fenced ?? false,
    preemptible: true,
    tryOnly: options.tryOnly ?? false,
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
  };
}

/** A LockStateMachine driven with entry times, recording every event. */
export class LockFixture {
  readonly machine: LockStateMachine;
  readonly events: LockEvent[] = [];
  atMs = 1_000_000;
  private nextSeq = 1;

  constructor(options: LockStateMachineOptions = {}) {
    this.machine = new LockStateMachine(options);
    this.machine.onEvent((event) => this.events.push(event));
  }

  /** Applies `command` at the current entry time, after moving it forward by `afterMs`. */
  run(command: LockCommand, afterMs = 0): LockResult {
    this.atMs += afterMs;
    return this.machine.applyEntry({ atMs: this.atMs, command });
  }

  open(sessionId: string, options: { ttlMs?: number; clientName?: string } = {}): LockResult {
    return this.run({
      type: 'session-open',
      sessionId,
      secretHash: hashSecret(`secret-of-${sessionId}`),
      ttlMs: options.ttlMs ?? 10_000,
      clientName: options.clientName ?? `client-${sessionId}`,
    });
  }

  acquire(sessionId: string, name: string, options: AcquireOptions & { requestSeq?: number } = {}): LockResult {
    return this.run(acquireCommand(sessionId, options.requestSeq ?? this.nextSeq++, name, options));
  }

  release(sessionId: string, name: string, token: bigint, requestSeq = this.nextSeq++): LockResult {
    return this.run({ type: 'release', sessionId, requestSeq, name, token });
  }

  cancel(sessionId: string, name: string, requestSeq = this.nextSeq++): LockResult {
    return this.run({ type: 'cancel', sessionId, requestSeq, name });
  }

  /** Holders of `name` as "session:token" strings, in grant order. */
  holders(name: string): string[] {
    return (this.machine.lock(name)?.holders ?? []).map((h) => `${h.sessionId}:${h.token}`);
  }

  /** Waiting sessions of `name`, in queue order. */
  waiters(name: string): string[] {
    return (this.machine.lock(name)?.waiters ?? []).map((w) => w.sessionId);
  }
}

/** The token of a granted result; fails the test otherwise. */
export function tokenOf(result: LockResult): bigint {
  if (result.status !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(result, jsonBigInt)}`);
  return result.token;
}

/** A JSON replacer that prints bigints. */
export function jsonBigInt(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
