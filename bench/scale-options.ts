// The scale benchmark's command line: what to run and at which sizes, checked before anything starts (a bad value
// ends the run with a message naming the flag, not a cluster half measured).
import { parseArgs } from 'node:util';
import type { RestartedRole } from './scale-restart.js';

export interface ScaleOptions {
  /** 1 or 3 `forelock serve` processes. */
  readonly nodes: number;
  /** One held-locks run per count (none when only --idle-sessions or --distinct-names is asked for). */
  readonly locks: readonly number[];
  readonly sessions: number;
  readonly preemption: string;
  readonly restMs: number;
  readonly concurrency: number;
  readonly basePort: number;
  /** The nodes restarted, in order, after each held-locks run. */
  readonly restarts: readonly RestartedRole[];
  /** Acquire + release churn after the rest (0: none; 30 s on 3 nodes by default), at `steadyRate` pairs per second. */
  readonly steadyMs: number;
  readonly steadyRate: number;
  readonly idleSessions: number;
  readonly idleSessionsPerProcess: number;
  readonly distinctNames: number;
  readonly wave: number;
  readonly nodeOutput: boolean;
  readonly targets: boolean;
  readonly json: string | undefined;
}

const DEFAULT_STEADY_MS_ON_3_NODES = 30_000;

function count(flag: string, text: string, least = 0): number {
  const value = Number(text.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < least) {
    throw new Error(`--${flag} must be an integer >= ${least}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function parseScaleOptions(args: readonly string[]): ScaleOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      nodes: { type: 'string', default: '1' },
      locks: { type: 'string' },
      sessions: { type: 'string', default: '100' },
      preemption: { type: 'string', default: 'on' },
      'rest-ms': { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '256' },
      'base-port': { type: 'string', default: '7640' },
      restart: { type: 'string' },
      'no-restart': { type: 'boolean', default: false },
      'steady-ms': { type: 'string' },
      'steady-rate': { type: 'string', default: '200' },
      'idle-sessions': { type: 'string', default: '0' },
      'idle-sessions-per-process': { type: 'string', default: '10000' },
      'distinct-names': { type: 'string', default: '0' },
      wave: { type: 'string', default: '10000' },
      'node-output': { type: 'boolean', default: false },
      targets: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  const nodes = count('nodes', values.nodes!, 1);
  if (nodes !== 1 && nodes !== 3) throw new Error(`--nodes must be 1 or 3, got ${nodes}`);
  if (values.preemption !== 'on' && values.preemption !== 'off') {
    throw new Error(`--preemption must be on or off, got ${JSON.stringify(values.preemption)}`);
  }
  const idleSessions = count('idle-sessions', values['idle-sessions']!);
  const distinctNames = count('distinct-names', values['distinct-names']!);
  // The held-locks runs are the default; asking only for another scenario runs only that one.
  const locksText = values.locks ?? (idleSessions > 0 || distinctNames > 0 ? '' : '1000,10000');
  const locks = locksText === '' ? [] : locksText.split(',').map((each) => count('locks', each.trim(), 1));
  const restartText = values.restart ?? (nodes === 1 ? 'leader' : 'follower,leader');
  const restarts: RestartedRole[] = values['no-restart']
    ? []
    : restartText
        .split(',')
        .filter((each) => each.trim() !== '')
        .map((each) => {
          const role = each.trim();
          if (role !== 'leader' && role !== 'follower') {
            throw new Error(`--restart takes leader and/or follower (comma-separated), got ${JSON.stringify(role)}`);
          }
          if (role === 'follower' && nodes === 1) throw new Error('--restart follower needs --nodes 3');
          return role;
        });
  const basePort = count('base-port', values['base-port']!, 1024);
  if (basePort > 65_000) throw new Error(`--base-port must be at most 65000, got ${basePort}`);
  return {
    nodes,
    locks,
    sessions: count('sessions', values.sessions!, 1),
    preemption: values.preemption,
    restMs: count('rest-ms', values['rest-ms']!, 1),
    concurrency: count('concurrency', values.concurrency!, 1),
    basePort,
    restarts,
    // The steady-load target is a cluster's: 3 nodes get a short steady phase unless told otherwise.
    steadyMs: count('steady-ms', values['steady-ms'] ?? (nodes === 3 ? String(DEFAULT_STEADY_MS_ON_3_NODES) : '0')),
    steadyRate: count('steady-rate', values['steady-rate']!, 1),
    idleSessions,
    idleSessionsPerProcess: count('idle-sessions-per-process', values['idle-sessions-per-process']!, 1),
    distinctNames,
    wave: count('wave', values.wave!, 1),
    nodeOutput: values['node-output']!,
    targets: values.targets!,
    json: values.json,
  };
}
