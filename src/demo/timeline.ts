// The demo's record of what happened: events at offsets from the start, their readable lines, and the summary.

/** One thing the demo saw, at `atMs` milliseconds after the demo started. */
export type DemoEvent =
  | {
      readonly type: 'grant';
      readonly atMs: number;
      readonly lock: string;
      readonly client: string;
      readonly token: bigint;
      readonly routine: boolean;
    }
  | {
      readonly type: 'warning';
      readonly atMs: number;
      readonly lock: string;
      readonly client: string;
      readonly token: bigint;
      readonly score: number;
      readonly probability: number;
      readonly reasons: readonly string[];
      readonly predictedStalenessMs: number;
    }
  | { readonly type: 'acknowledged'; readonly atMs: number; readonly lock: string; readonly client: string }
  | {
      readonly type: 'checkpointing';
      readonly atMs: number;
      readonly lock: string;
      readonly client: string;
      readonly checkpointMs: number;
    }
  | { readonly type: 'checkpoint-saved'; readonly atMs: number; readonly lock: string; readonly client: string }
  | {
      readonly type: 'cooperative-release';
      readonly atMs: number;
      readonly lock: string;
      readonly client: string;
      readonly token: bigint;
    }
  | {
      readonly type: 'preemption-request';
      readonly atMs: number;
      readonly lock: string;
      readonly client: string;
      readonly token: bigint;
      readonly graceMs: number;
      readonly reason: string;
    }
  | {
      readonly type: 'forced-revocation';
      readonly atMs: number;
      readonly lock: string;
      readonly client: string;
      readonly token: bigint;
    }
  | {
      readonly type: 'safe-period-ended';
      readonly atMs: number;
      readonly lock: string;
      readonly client: string;
      readonly token: bigint;
    }
  | {
      readonly type: 'session-lost';
      readonly atMs: number;
      readonly lock: string;
      readonly client: string;
      readonly token: bigint;
    }
  | {
      readonly type: 'write-rejected';
      readonly atMs: number;
      readonly lock: string;
      readonly client: string;
      readonly token: bigint;
      readonly highestToken: bigint;
    }
  | {
      readonly type: 'advisory';
      readonly atMs: number;
      readonly client: string;
      readonly condition: string;
      readonly active: boolean;
      readonly detail: string;
    }
  | { readonly type: 'note'; readonly atMs: number; readonly client: string; readonly text: string };

/** A grant in the JSON summary (token as a decimal string, `at` in ms after the demo started). */
export interface GrantRecord {
  readonly lock: string;
  readonly client: string;
  readonly token: string;
  readonly at: number;
}

/** What `--json FILE` writes. */
export interface DemoSummary {
  readonly seed: number;
  readonly durationMs: number;
  readonly warnings: number;
  /** Session advisories begun (one per episode of a session condition). */
  readonly advisories: number;
  readonly acknowledged: number;
  readonly checkpoints: number;
  readonly cooperativeReleases: number;
  readonly preemptionRequests: number;
  readonly forcedRevocations: number;
  /** Held locks whose safe period ended in the SDK (after a Pre-emption Request, or silence): the SDK gave them up. */
  readonly safePeriodEnds: number;
  readonly lateWritesRejected: number;
  readonly grants: readonly GrantRecord[];
  /** Each client's role in this run. */
  readonly roles: Readonly<Record<string, string>>;
}

/** Formats a demo offset as seconds with one decimal, padded: "  12.3s". */
export function formatOffset(atMs: number): string {
  return `${(atMs / 1_000).toFixed(1).padStart(6)}s`;
}

/** The readable line of one event (without its offset). */
export function describeEvent(event: DemoEvent): string {
  switch (event.type) {
    case 'grant':
      return `GRANT       ${event.lock} -> ${event.client} (token ${event.token})`;
    case 'warning':
      return `WARNING     ${event.lock} held by ${event.client} (token ${event.token}): score ${event.score}, p=${event.probability.toFixed(2)}, stale in ~${Math.round(event.predictedStalenessMs)}ms, reasons ${event.reasons.join(', ') || 'none'}`;
    case 'acknowledged':
      return `ACK         ${event.client} acknowledged the warning on ${event.lock}`;
    case 'checkpointing':
      return `CHECKPOINT  ${event.client} answers "checkpointing" on ${event.lock} (asks ${event.checkpointMs}ms)`;
    case 'checkpoint-saved':
      return `CHECKPOINT  ${event.client} saved its checkpoint on ${event.lock}, releasing`;
    case 'cooperative-release':
      return `RELEASE     ${event.client} released ${event.lock} (token ${event.token}) after the warning`;
    case 'preemption-request':
      return `PRE-EMPT    request to ${event.client} for ${event.lock} (token ${event.token}): grace ${event.graceMs}ms, reason ${event.reason}`;
    case 'forced-revocation':
      return `REVOKED     ${event.lock} taken from ${event.client} (token ${event.token}) by forced revocation`;
    case 'safe-period-ended':
      return `SAFE-END    ${event.client}'s safe period for ${event.lock} (token ${event.token}) ended: its SDK treats the lock as lost (and hands it back if it can still send)`;
    case 'session-lost':
      return `LOST        ${event.client} lost ${event.lock} (token ${event.token}) with its session`;
    case 'write-rejected':
      return `FENCED      ${event.client} wrote to ${event.lock}'s store with token ${event.token}: rejected (store has seen ${event.highestToken})`;
    case 'advisory':
      return `ADVISORY    ${event.client}: ${event.condition} ${event.active ? 'began' : 'ended'}: ${event.detail}`;
    case 'note':
      return `            ${event.client}: ${event.text}`;
  }
}

/** Events in arrival order; `onEvent` sees each one as it is recorded (the demo prints them live). */
export class Timeline {
  private readonly recorded: DemoEvent[] = [];

  constructor(private readonly onEvent: (event: DemoEvent) => void = () => {}) {}

  /** Records one event. */
  add(event: DemoEvent): void {
    this.recorded.push(event);
    this.onEvent(event);
  }

  /** Every event so far. */
  get events(): readonly DemoEvent[] {
    return this.recorded;
  }

  /** The counts and grants of the run. */
  summary(seed: number, durationMs: number, roles: Readonly<Record<string, string>>): DemoSummary {
    const count = (type: DemoEvent['type']): number => this.recorded.filter((event) => event.type === type).length;
    const grants: GrantRecord[] = [];
    for (const event of this.recorded) {
      if (event.type === 'grant') {
        grants.push({
          lock: event.lock,
          client: event.client,
          token: event.token.toString(),
          at: Math.round(event.atMs),
        });
      }
    }
    return {
      seed,
      durationMs,
      warnings: count('warning'),
      advisories: this.recorded.filter((event) => event.type === 'advisory' && event.active).length,
      acknowledged: count('acknowledged'),
      checkpoints: count('checkpoint-saved'),
      cooperativeReleases: count('cooperative-release'),
      preemptionRequests: count('preemption-request'),
      forcedRevocations: count('forced-revocation'),
      safePeriodEnds: count('safe-period-ended'),
      lateWritesRejected: count('write-rejected'),
      grants,
      roles,
    };
  }
}

/** The summary table printed at the end of the demo. */
export function formatSummary(summary: DemoSummary): string {
  const perLock = new Map<string, { grants: number; lastToken: string }>();
  for (const grant of summary.grants) {
    const entry = perLock.get(grant.lock) ?? { grants: 0, lastToken: '0' };
    entry.grants += 1;
    entry.lastToken = grant.token;
    perLock.set(grant.lock, entry);
  }
  const rows: [string, string][] = [
    ['warnings', String(summary.warnings)],
    ['session advisories', String(summary.advisories)],
    ['acknowledged', String(summary.acknowledged)],
    ['checkpoints', String(summary.checkpoints)],
    ['cooperative releases', String(summary.cooperativeReleases)],
    ['pre-emption requests', String(summary.preemptionRequests)],
    ['forced revocations', String(summary.forcedRevocations)],
    ['safe periods ended (SDK gave up)', String(summary.safePeriodEnds)],
    ['late writes rejected by fencing', String(summary.lateWritesRejected)],
    ['grants', String(summary.grants.length)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = ['Summary', ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value.padStart(5)}`)];
  lines.push('', 'Locks', `  ${'lock'.padEnd(18)} ${'grants'.padStart(6)}  last token`);
  for (const [lock, { grants, lastToken }] of [...perLock].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${lock.padEnd(18)} ${String(grants).padStart(6)}  ${lastToken}`);
  }
  lines.push('', 'Roles');
  for (const [client, role] of Object.entries(summary.roles)) lines.push(`  ${client.padEnd(18)} ${role}`);
  return lines.join('\n');
}
