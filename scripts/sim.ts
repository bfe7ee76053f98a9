// `npm run sim`: runs the Raft simulator's randomized fault schedules (`--seeds N`) or replays one (`--seed S`).
import { Command } from 'commander';
import { DEFAULT_SCHEDULE, replayCommand, runSchedule, type ScheduleResult } from '../src/sim/fault-schedule.js';

const program = new Command()
  .name('sim')
  .description('Deterministic Raft simulation: random crashes, partitions and message faults, checked after every step')
  .option('--seeds <count>', 'number of random seeds to run', '100')
  .option('--first <seed>', 'first seed of the range', '1')
  .option('--seed <seed>', 'replay exactly one seed and print its details')
  .option('--faulty-ms <ms>', 'virtual time with faults per seed', String(DEFAULT_SCHEDULE.faultyMs))
  .parse();

const flags = program.opts<{ seeds: string; first: string; seed?: string; faultyMs: string }>();
const options = { ...DEFAULT_SCHEDULE, faultyMs: Number(flags.faultyMs) };
const seeds =
  flags.seed !== undefined
    ? [Number(flags.seed)]
    : Array.from({ length: Number(flags.seeds) }, (_, i) => Number(flags.first) + i);

const started = performance.now();
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
const seconds = (performance.now() - started) / 1000;
console.log(
  `${seeds.length - failures.length}/${seeds.length} seeds passed, ${(virtualMs / 1000).toFixed(0)} s virtual, ` +
    `${acknowledged} operations acknowledged, ${crashes} crashes, in ${seconds.toFixed(1)} s`,
);
process.exitCode = failures.length > 0 ? 1 : 0;
