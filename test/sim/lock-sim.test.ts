import { describe, expect, it } from 'vitest';
import { checkLockHistory, type HistoryEvent } from '../../src/sim/lock-history-checker.js';
import { lockSimReplayCommand, runLockSimulation } from '../../src/sim/lock-sim.js';

// LOCK_SIM_SEED=S replays one seed; LOCK_SIM_SEEDS=N runs seeds 1..N (default 16).
const replaySeed = process.env.LOCK_SIM_SEED;
const seedCount = Number(process.env.LOCK_SIM_SEEDS ?? 16);
const seeds = replaySeed !== undefined ? [Number(replaySeed)] : Array.from({ length: seedCount }, (_, i) => i + 1);

const json = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));

describe('the lock service over the Raft simulator', () => {
  it('keeps every lock-history property under crashes, partitions, lost writes, pauses and retries', async () => {
    const totals: Record<string, number> = {};
    for (const seed of seeds) {
      const result = await runLockSimulation(seed);
      for (const [key, value] of Object.entries(result.stats)) {
        totals[key] = key === 'maxDeposedAnswerMs' ? Math.max(totals[key] ?? 0, value) : (totals[key] ?? 0) + value;
      }
      const failed = result.violations.length > 0 || result.divergences.length > 0;
      console.log(
        `lock-sim seed ${seed} (${result.voters} voters): ${result.stats.grants ?? 0} grants, ${result.violations.length} violations, ${result.divergences.length} divergences${failed ? `; replay: ${lockSimReplayCommand(seed)}` : ''}`,
      );
      expect({ seed, violations: result.violations.slice(0, 5), divergences: result.divergences.slice(0, 5) }).toEqual({
        seed,
        violations: [],
        divergences: [],
      });
    }
    console.log(`lock-sim totals over ${seeds.length} seeds: ${json(totals)}`);
    if (replaySeed === undefined) {
      // The histories exercised what they are meant to: contention, faults, ambiguity, expiry and revocation.
      for (const key of [
        'grants',
        'releases',
        'ambiguous',
        'crashes',
        'partitions',
        'expiredHolds',
        'revokes',
        'forcedRevokes',
        'deadlocks',
        'preemptionRequests',
        'snapshotRestores',
        'cancels',
        // The SDK's rules (src/client/): streams resumed on another node, sending their pending requests again.
        'resumes',
        // The server's own StalenessAdvisor: the predictor warned and the ladder requested pre-emptions.
        'warnings',
        'ladderPreemptions',
      ]) {
        expect(totals[key] ?? 0, key).toBeGreaterThan(0);
      }
      expect(totals.leaderships ?? 0).toBeGreaterThan(seeds.length * 2);
    }
  });

  it('is deterministic: one seed, one history', async () => {
    const seed = seeds[0]!;
    expect(json((await runLockSimulation(seed)).history)).toBe(json((await runLockSimulation(seed)).history));
  });

  it('hands the checker histories in which a tampered log is caught', async () => {
    const { history } = await runLockSimulation(seeds[0]!);
    const acknowledged = history.findIndex((e) => e.kind === 'ok' && e.token !== undefined);
    const token = (history[acknowledged] as Extract<HistoryEvent, { kind: 'ok' }>).token;
    const grant = history.findIndex((e) => e.kind === 'grant' && e.token === token);
    const withoutGrant = history.filter((_e, i) => i !== grant);
    expect(checkLockHistory(withoutGrant).map((v) => v.kind)).toContain('LOST_GRANT');
    const doubled = [...history.slice(0, grant + 1), history[grant]!, ...history.slice(grant + 1)];
    expect(checkLockHistory(doubled).map((v) => v.kind)).toContain('TOKEN_NOT_INCREASING');
  });
});
