// The node's own load for the SPM: CPU share of one core, memory share, and event-loop delay, sampled by the driver.
import { totalmem } from 'node:os';
import type { LoadSample } from '../spm/types.js';
import type { Clock } from '../util/clock.js';

/** Measures this process's load between consecutive samples. */
export class LoadSampler {
  private lastCpu = process.cpuUsage();
  private lastMs = performance.now();

  constructor(
    private readonly loopDelayMs: () => number,
    private readonly clock: Clock,
  ) {}

  /** CPU used since the previous sample (0-1 of one core), resident memory share, current event-loop delay. */
  sample(): LoadSample {
    const cpu = process.cpuUsage(this.lastCpu);
    const nowMs = performance.now();
    const elapsedUs = Math.max(1, (nowMs - this.lastMs) * 1000);
    this.lastCpu = process.cpuUsage();
    this.lastMs = nowMs;
    return {
      atMs: this.clock.now(),
      cpu: Math.min(1, (cpu.user + cpu.system) / elapsedUs),
      mem: Math.min(1, process.memoryUsage.rss() / totalmem()),
      loopDelayMs: this.loopDelayMs(),
    };
  }
}
