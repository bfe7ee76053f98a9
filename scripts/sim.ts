// `npm run sim`: runs the Raft simulator's randomized fault schedules (`--seeds N`) or replays one (`--seed S`);
// with `--lock`, the lock service's simulation (the server's own code on every node) instead.
import { Command } from 'commander';
import { DEFAULT_SCHEDULE, replayCommand, runSchedule, type ScheduleResult } from '../src/sim/fault-schedule.js';
import { lockSimReplayCommand, runLockSimulation } from '../src/sim/lock-sim.js';

const program = new Command()
  .name('sim')
  .description('Deterministic Raft simulation: random crashes, partitions and message faults, checked after every step')
  .option('--seeds <count>', 'number of random seeds to run', '100')
  .option('--first <seed>', 'first seed of the range', '1')
  .option('--seed <seed>', 'replay exactly one seed and print its details')
  .option('--faulty-ms <ms>', 'virtual time with faults per seed', String(DEFAULT_SCHEDULE.faultyMs))
  .option('--lock', 'simulate the lock service (history checked by the lock-history checker) instead of bare Raft')
  .parse();

const flags = program.opts<{ seeds: string; first: string; seed?: string; faultyMs: string; lock?: boolean }>();
const seeds =
  flags.seed !== undefined
    ? [Number(flags.seed)]
    : Array.from({ length: Number(flags.seeds) }, (_, i) => Number(flags.first) + i);
const json = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v), 2);
const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(1);

if (flags.lock === true) {
  let failed = 0;
  for (const seed of seeds) {
    const result = await runLockSimulation(seed);
    if (flags.seed !== undefined) console.log(json({ seed, voters: result.voters, stats: result.stats }));
    if (result.violations.length > 0 || result.divergences.length > 0) {
      failed += 1;
      console.log(
        `seed ${seed} (${result.voters} voters) FAILED:\n${json({ violations: result.violations, divergences: result.divergences })}\n  replay: ${lockSimReplayCommand(seed)}`,
      );
    }
  }
  console.log(`${seeds.length - failed}/${seeds.length} lock seeds passed in ${seconds()} s`);
  process.exitCode = failed > 0 ? 1 : 0;
} else {
  const options = { ...DEFAULT_SCHEDULE, faultyMs: Number(flags.faultyMs) };
  const failures: ScheduleResult[] = [];
  let virtualMs = 0;
  let acknowledged = 0;
  let crashes = 0;
  for (const seed of seeds) {
    const result = runSchedule(seed, options);
    virtualMs += result.virtualMs;
    acknowledged += result.acknowledged;
    crashes += result.crashes;
    if (flags.seed !== undefined) console.log(JSON.stringify(result, null, 2));
    if (!result.ok) {
      failures.push(result);
      console.log(`seed ${seed} (${result.voters} voters) FAILED: ${result.error}\n  replay: ${replayCommand(seed)}`);
    }
  }
  console.log(
    `${seeds.length - failures.length}/${seeds.length} seeds passed, ${(virtualMs / 1000).toFixed(0)} s virtual, ` +
      `${acknowledged} operations acknowledged, ${crashes} crashes, in ${seconds()} s`,
  );
  process.exitCode = failures.length > 0 ? 1 : 0;
}
