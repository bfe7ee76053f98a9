import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { leaderCounters } from '../../src/cli/bench-runner.js';
import { formatPairs } from '../../src/cli/commands/bench.js';

describe('bench table', () => {
  it('prints one aligned row per scenario, with the CPU per pair ("-" when the leader\'s was not read)', () => {
    const text = formatPairs([
      {
        scenario: 'uncontended',
        clients: 64,
        locks: 960,
        pairs: 1234,
        errors: 0,
        elapsedMs: 1_000,
        pairsPerSecond: 1234.4,
        acquireP50Ms: 1.234,
        acquireP99Ms: 9.876,
        leaderCpuUsPerPair: 87.6,
        clientCpuUsPerPair: 52.2,
      },
      {
        scenario: 'contended',
        clients: 64,
        locks: 1,
        pairs: 700,
        errors: 0,
        elapsedMs: 1_000,
        pairsPerSecond: 700,
        acquireP50Ms: 80,
        acquireP99Ms: 150,
        leaderCpuUsPerPair: null,
        clientCpuUsPerPair: 61,
      },
    ]);
    expect(text.split('\n')).toEqual([
      'SCENARIO     CLIENTS  LOCKS  PAIRS  PAIRS/S  P50 ACQUIRE  P99 ACQUIRE  ERRORS  LEADER CPU/PAIR  CLIENT CPU/PAIR',
      'uncontended  64       960    1234   1234     1.23 ms      9.88 ms      0       88 µs            52 µs',
      'contended    64       1      700    700      80.00 ms     150.00 ms    0       -                61 µs',
    ]);
  });
});

describe('bench leader counters', () => {
  /** Serves `body` as /metrics on 127.0.0.1 while `run` uses its URL. */
  async function withMetrics(body: string, run: (url: string) => Promise<void>): Promise<void> {
    const server = createServer((_, response) => response.end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('reads the CPU seconds and the answered keepalives from Prometheus text', async () => {
    const text = [
      '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
      'process_cpu_seconds_total 12.5',
      'forelock_keepalives_total_extra 7',
      'forelock_keepalives_total 3021',
    ].join('\n');
    await withMetrics(text, async (url) => {
      expect(await leaderCounters(url)).toEqual({ cpuSeconds: 12.5, keepalives: 3021 });
    });
  });

  it('names the metric a node does not report', async () => {
    await withMetrics('process_cpu_seconds_total 1\n', async (url) => {
      await expect(leaderCounters(url)).rejects.toThrow(/no forelock_keepalives_total/);
    });
  });
});
