// `forelock eval`: runs the prediction evaluation (docs/design.md, "Evaluation") on generated suites or trace files.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { EvalUsageError, TraceFormatError } from '../../eval/errors.js';
import { type EvaluationWork, evaluate } from '../../eval/evaluate.js';
import { buildReport, type EvalReport, formatReport } from '../../eval/report.js';
import { FULL_SUITE, QUICK_SUITE, reportedSeeds, type Suite } from '../../eval/suites.js';
import { checkTargets, formatTargets } from '../../eval/targets.js';
import { parseTrace, readTraceText } from '../../eval/trace-reader.js';
import { generateScenario, SCENARIO_FAMILIES } from '../../sim/scenarios/families.js';

/** The command's options as commander parses them. */
export interface EvalCommandOptions {
  readonly suite?: string;
  readonly seed?: string;
  readonly seeds?: string;
  readonly trace?: readonly string[];
  readonly json?: string;
  readonly scale?: string;
}

/** Where the command writes: the report to `out`, the progress display to `progress` (a TTY, or nothing). */
export interface EvalCommandOutput {
  readonly out: NodeJS.WritableStream;
  readonly progress: (NodeJS.WritableStream & { isTTY?: boolean }) | null;
}

/** Adds `forelock eval` to the program. */
export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description(
      'evaluate staleness prediction against failure-detector baselines, in virtual time (docs/design.md, "Evaluation")',
    )
    .option('--suite <suite>', 'quick (3 seeds per family) or full (30 seeds per family)', 'quick')
    .option('--seed <seed>', 'run this one seed')
    .option('--seeds <count>', 'run seeds 101 .. 100+count (seeds 1-100 are kept for tuning)')
    .option('--trace <files...>', 'evaluate these JSONL trace files instead of generated scenarios')
    .option('--json <file>', 'also write the report as JSON to this file')
    .option(
      '--scale <K>',
      'generated scenarios only: multiply every network delay and its jitter by K (TTLs and intervals stay)',
    )
    .action((options: EvalCommandOptions) => {
      try {
        runEvalCommand(options, { out: process.stdout, progress: process.stderr.isTTY ? process.stderr : null });
      } catch (error) {
        if (!(error instanceof EvalUsageError || error instanceof TraceFormatError)) throw error;
        process.stderr.write(`forelock eval: ${error.message}\n`);
        process.exitCode = 2;
      }
    });
}

/** Runs the evaluation the options describe, prints the tables (and writes the JSON), and returns the report. */
export function runEvalCommand(options: EvalCommandOptions, output: EvalCommandOutput): EvalReport {
  const plan = planEvaluation(options);
  const bar =
    output.progress === null
      ? null
      : new SingleBar({
          stream: output.progress,
          format: 'eval [{bar}] {value}/{total} traces | {label}',
          hideCursor: true,
          clearOnComplete: true,
        });
  bar?.start(plan.work.length, 0, { label: '' });
  let result: ReturnType<typeof evaluate>;
  try {
    result = evaluate(plan.work, (done, _total, label) => bar?.update(done, { label }));
  } finally {
    bar?.stop();
  }
  const report = buildReport(result, plan.suite, plan.seeds);
  output.out.write(formatReport(report));
  if (plan.suite !== 'trace') output.out.write(`\n${formatTargets(checkTargets(report))}`);
  if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

interface EvaluationPlan {
  readonly suite: EvalReport['suite'];
  readonly seeds: number[];
  readonly work: EvaluationWork[];
}

function planEvaluation(options: EvalCommandOptions): EvaluationPlan {
  if (options.seed !== undefined && options.seeds !== undefined)
    throw new EvalUsageError('give either --seed S or --seeds N, not both');
  if (options.trace !== undefined && options.trace.length > 0) {
    if (options.seed !== undefined || options.seeds !== undefined || options.scale !== undefined)
      throw new EvalUsageError('--trace evaluates the given files; it takes no --seed, --seeds or --scale');
    const work = options.trace.map((file) => {
      const trace = parseTrace(readTraceFile(file), file);
      return { family: trace.header.name || basename(file), label: file, load: () => trace };
    });
    return { suite: 'trace', seeds: [], work };
  }
  const suite = suiteNamed(options.suite ?? 'quick');
  const seeds =
    options.seed !== undefined
      ? [integerOption('--seed', options.seed, 0)]
      : reportedSeeds(options.seeds !== undefined ? integerOption('--seeds', options.seeds, 1) : suite.defaultSeeds);
  const delayScale = options.scale === undefined ? 1 : positiveNumberOption('--scale', options.scale);
  const work = SCENARIO_FAMILIES.flatMap((family) =>
    seeds.map((seed) => ({
      family,
      label: `${family} seed ${seed}`,
      load: () => generateScenario(family, seed, suite.size, { delayScale }),
    })),
  );
  return { suite: suite.name, seeds, work };
}

function readTraceFile(file: string): string {
  try {
    return readTraceText(file);
  } catch (error) {
    throw new EvalUsageError(`cannot read --trace ${file}: ${(error as Error).message}`);
  }
}

function suiteNamed(name: string): Suite {
  if (name === 'quick') return QUICK_SUITE;
  if (name === 'full') return FULL_SUITE;
  throw new EvalUsageError(`--suite must be quick or full, got "${name}"`);
}

function positiveNumberOption(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new EvalUsageError(`${flag} must be a number > 0, got "${text}"`);
  return value;
}

function integerOption(flag: string, text: string, minimum: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum)
    throw new EvalUsageError(`${flag} must be an integer >= ${minimum}, got "${text}"`);
  return value;
}
