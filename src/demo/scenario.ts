// The demo's seeded plan: which client plays which role, on which lock, starting when, and its timings.
import { SeededRng } from '../util/rng.js';

/** The roles of the demo's clients. */
export type DemoRole = 'steady' | 'crashing' | 'stuck' | 'checkpointing' | 'latency-ramp';

/**
 * The locks the steady clients take; `fenced` ones protect a token-checking store. `weight`: how often they are
 * picked, highest for the locks of the stuck and checkpointing incidents, which need 30 holds of history first.
 */
export const DEMO_LOCKS = [
  { name: 'demo/orders', fenced: false, weight: 3 },
  { name: 'demo/report', fenced: false, weight: 3 },
  { name: 'demo/ledger', fenced: true, weight: 2 },
  { name: 'demo/inventory', fenced: false, weight: 1 },
] as const;

/**
 * The latency-ramp client's own lock: nobody else takes it, so it has no hold history and the warnings it gets come
 * from its keepalives alone (late, round trips rising), not from holding it long.
 */
export const RAMP_LOCK = 'demo/telemetry';

/** One client of the plan. */
export interface DemoActorPlan {
  readonly name: string;
  readonly role: DemoRole;
  /** Session TTL. */
  readonly ttlMs: number;
  /** When the incident starts (ms after the demo started); 0 for steady clients. */
  readonly startMs: number;
  /** The lock the incident concerns (steady clients use every lock). */
  readonly lock: string;
  /** Each actor's own random stream (hold times, pauses). */
  readonly seed: number;
}

/** The whole plan. */
export interface DemoPlan {
  readonly seed: number;
  readonly durationMs: number;
  readonly actors: readonly DemoActorPlan[];
}

/** The shortest run in which every incident has time to play out (the stuck holder needs 30 holds of history). */
export const MIN_DEMO_DURATION_MS = 30_000;
/** Session TTL of every client but the crashing one, short so the demo moves quickly. */
export const DEMO_TTL_MS = 4_000;
/**
 * The crashing client's TTL: long enough that its fenced lock is pre-empted (at the end of the grace period) well
 * before its session expires, short enough that its keepalives (every TTL / 3) give the SPM samples quickly.
 */
export const CRASHING_TTL_MS = 6_000;

/** Steady clients: they build each lock's hold history and queue behind the incidents. */
const STEADY_CLIENTS = 4;

const NAMES = ['ada', 'bix', 'cleo', 'dov', 'eli', 'fay', 'gus', 'hana', 'ivo', 'juno'];

/** Builds the plan of a run of `durationMs` from `seed`: the same seed gives the same plan. */
export function demoPlan(seed: number, durationMs: number): DemoPlan {
  if (!(durationMs >= MIN_DEMO_DURATION_MS)) {
    throw new RangeError(`the demo needs at least ${MIN_DEMO_DURATION_MS / 1_000}s, got ${durationMs}ms`);
  }
  const rng = new SeededRng(seed);
  const names = [...NAMES];
  for (let i = names.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [names[i], names[j]] = [names[j] as string, names[i] as string];
  }
  const jitter = (): number => rng.int(-500, 500);
  const at = (fraction: number, minMs: number): number => Math.max(minMs, Math.round(durationMs * fraction)) + jitter();
  const incidents: Omit<DemoActorPlan, 'name' | 'seed'>[] = [
    { role: 'crashing', ttlMs: CRASHING_TTL_MS, startMs: at(0.12, 5_000), lock: 'demo/ledger' },
    { role: 'latency-ramp', ttlMs: DEMO_TTL_MS, startMs: at(0.27, 8_000), lock: RAMP_LOCK },
    { role: 'stuck', ttlMs: DEMO_TTL_MS, startMs: at(0.43, 12_000), lock: 'demo/orders' },
    { role: 'checkpointing', ttlMs: DEMO_TTL_MS, startMs: at(0.63, 15_000), lock: 'demo/report' },
  ];
  const actors: DemoActorPlan[] = [];
  for (let i = 0; i < STEADY_CLIENTS; i++) {
    actors.push({
      name: `${names.pop()}-steady`,
      role: 'steady',
      ttlMs: DEMO_TTL_MS,
      startMs: 0,
      lock: '',
      seed: rng.int(1, 2 ** 31),
    });
  }
  for (const incident of incidents) {
    actors.push({ ...incident, name: `${names.pop()}-${incident.role}`, seed: rng.int(1, 2 ** 31) });
  }
  return { seed, durationMs, actors };
}
