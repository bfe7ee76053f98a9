// What a process costs, read from /proc: its CPU time and its resident set size. Benchmarks sample a node's process
// from outside, as an operator would, so that the measurement adds nothing to the node's own work.
import { readFile } from 'node:fs/promises';

/** The kernel's clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU of process `pid`, in ms. */
export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name in parentheses may hold spaces: the fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size of process `pid`, in MB. */
export async function rssMbOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  return kb / 1024;
}

/** CPU of process `pid` over `periodMs` of waiting, in % of one core. */
export async function cpuPercentOver(pid: number, periodMs: number): Promise<number> {
  const before = await cpuMsOf(pid);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, periodMs));
  const elapsedMs = performance.now() - started;
  return ((await cpuMsOf(pid)) - before) / (elapsedMs / 100);
}

/** Samples a process's RSS every `everyMs` until stopped, keeping the largest seen. */
export class PeakRssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: () => number | undefined,
    everyMs = 250,
  ) {
    this.timer = setInterval(() => void this.sample(), everyMs);
  }

  private async sample(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    const rss = await rssMbOf(pid).catch(() => 0);
    this.peak = Math.max(this.peak, rss);
  }

  /** Stops sampling (after one last sample) and returns the peak RSS in MB. */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    await this.sample();
    return this.peak;
  }
}
