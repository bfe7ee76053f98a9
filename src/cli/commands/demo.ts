// `forelock demo`: an embedded 3-node cluster and seeded clients that show warnings, answers and pre-emption.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { runDemo } from '../../demo/run-demo.js';
import { MIN_DEMO_DURATION_MS } from '../../demo/scenario.js';
import { ConfigError } from '../../server/errors.js';
import { parseDurationMs } from '../duration.js';
import { checkDemoServeConfig, DEMO_NODE_SETTINGS } from './demo-serve-config.js';

interface DemoFlags {
  duration: string;
  seed: string;
  json?: string;
  serveConfig?: string;
}

async function demo(flags: DemoFlags): Promise<number> {
  const durationMs = parseDurationMs(flags.duration, '--duration');
  if (durationMs < MIN_DEMO_DURATION_MS) {
    throw new RangeError(`--duration must be at least ${MIN_DEMO_DURATION_MS / 1_000}s, got "${flags.duration}"`);
  }
  if (!/^\d{1,10}$/.test(flags.seed) || Number(flags.seed) > 0xffff_ffff) {
    throw new RangeError(`--seed must be an integer from 0 to 4294967295, got "${flags.seed}"`);
  }
  const serveConfigFile = flags.serveConfig === undefined ? undefined : await checkDemoServeConfig(flags.serveConfig);
  const interrupted = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('stopping the demo: clients, cluster processes and the temp folder...\n');
    interrupted.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runDemo({
      durationMs,
      seed: Number(flags.seed),
      print: (line) => process.stdout.write(`${line}\n`),
      signal: interrupted.signal,
      ...(serveConfigFile === undefined ? {} : { serveConfigFile }),
    });
    if (flags.json !== undefined) await writeFile(flags.json, `${JSON.stringify(summary, null, 2)}\n`);
    return interrupted.signal.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Registers `forelock demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run an embedded 3-node cluster with clients that get warned, checkpoint, crash and are pre-empted')
    .option('--duration <time>', 'how long the clients run (at least 30s)', '60s')
    .option('--seed <n>', "seed of the clients' roles and timings", '1')
    .option('--json <file>', 'write the summary (counts and grants) as JSON')
    .option(
      '--serve-config <file>',
      `a forelock serve --config JSON file given to every node, e.g. {"spm": {"warningThreshold": 0.8}}; it may not set what the demo sets itself (${DEMO_NODE_SETTINGS.join(', ')})`,
    )
    .action(async (flags: DemoFlags) => {
      let code: number;
      try {
        code = await demo(flags);
      } catch (error) {
        process.stderr.write(`forelock demo: ${error instanceof Error ? error.message : String(error)}\n`);
        // Bad flags or a bad --serve-config file exit 2, like `forelock serve`'s.
        code = error instanceof RangeError || error instanceof ConfigError ? 2 : 1;
      }
      process.exit(code);
    });
}
