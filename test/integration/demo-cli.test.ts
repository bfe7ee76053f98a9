// `forelock demo` end to end: a short seeded run on its embedded 3-process cluster exits 0, writes the JSON summary
// with the counts (at least one warning and one forced revocation) and grants whose tokens rise per lock, and leaves
// neither its temp folder nor any node process behind. Its nodes get LOAD_INDEPENDENT_SPM through --serve-config, so a
// loaded test machine does not suspend the pre-emption the run must show; a bad --serve-config file is refused.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../src/demo/timeline.js';
import { LOAD_INDEPENDENT_SPM } from '../support/load-independent-spm.js';
import { DIST_FORELOCK } from './preemption-harness.js';
import { tempDir } from './server-harness.js';

/** Processes whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

describe('forelock demo', () => {
  it('runs a 30 s seeded demo: counts, a warning, a forced revocation, rising tokens, and a clean exit', async () => {
    const dir = await tempDir('forelock-demo-test-');
    try {
      const jsonPath = `${dir.path}/summary.json`;
      const serveConfigPath = `${dir.path}/serve.json`;
      await writeFile(serveConfigPath, JSON.stringify({ spm: LOAD_INDEPENDENT_SPM }));
      const child = spawn(
        DIST_FORELOCK.executable,
        [
          ...DIST_FORELOCK.args,
          'demo',
          '--duration',
          '30s',
          '--seed',
          '1',
          '--json',
          jsonPath,
          '--serve-config',
          serveConfigPath,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      // The node processes that were given the file, counted once the clients run (every node is up by then).
      let nodesWithServeConfig: number | undefined;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (nodesWithServeConfig === undefined && stdout.includes('timeline')) {
          nodesWithServeConfig = processesMentioning(`\0--config\0${serveConfigPath}`).length;
        }
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const killer = setTimeout(() => child.kill('SIGKILL'), 150_000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(killer);
      expect({ code, stderr: stderr.slice(-2_000) }).toMatchObject({ code: 0 });
      expect(nodesWithServeConfig).toBe(3);

      const summary = JSON.parse(readFileSync(jsonPath, 'utf8')) as DemoSummary;
      for (const key of [
        'warnings',
        'acknowledged',
        'checkpoints',
        'cooperativeReleases',
        'preemptionRequests',
        'forcedRevocations',
      ] as const) {
        expect(Number.isInteger(summary[key]), key).toBe(true);
      }
      expect(summary.warnings).toBeGreaterThanOrEqual(1);
      expect(summary.forcedRevocations).toBeGreaterThanOrEqual(1);
      expect(summary.grants.length).toBeGreaterThan(0);
      const lastToken = new Map<string, bigint>();
      for (const grant of summary.grants) {
        expect(grant.token).toMatch(/^\d+$/);
        const token = BigInt(grant.token);
        expect(token, `${grant.lock} token after ${lastToken.get(grant.lock)}`).toBeGreaterThan(
          lastToken.get(grant.lock) ?? 0n,
        );
        lastToken.set(grant.lock, token);
      }
      // The readable timeline names what happened; the run cleaned up after itself.
      expect(stdout).toContain('WARNING');
      expect(stdout).toContain('REVOKED');
      expect(stdout).toContain('Summary');
      const dataDir = /data in (\S+)/.exec(stdout)?.[1];
      expect(dataDir).toBeDefined();
      expect(existsSync(dataDir as string)).toBe(false);
      expect(processesMentioning(dataDir as string)).toEqual([]);
    } finally {
      await dir.remove();
    }
  }, 180_000);

  it('refuses a --serve-config file that sets what the demo sets itself, before starting any node (exit 2)', async () => {
    const dir = await tempDir('forelock-demo-test-');
    try {
      const serveConfigPath = `${dir.path}/serve.json`;
      await writeFile(serveConfigPath, JSON.stringify({ listen: '127.0.0.1:7400', spm: LOAD_INDEPENDENT_SPM }));
      const child = spawn(
        DIST_FORELOCK.executable,
        [...DIST_FORELOCK.args, 'demo', '--duration', '30s', '--serve-config', serveConfigPath],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(killer);
      expect(code).toBe(2);
      expect(stderr).toContain(`forelock demo: ${serveConfigPath}: "listen" cannot be set for the demo's nodes`);
      expect(stdout).not.toContain('data in');
    } finally {
      await dir.remove();
    }
  }, 90_000);

  it('Ctrl-C stops the clients and the cluster and removes the temp folder', async () => {
    const child = spawn(DIST_FORELOCK.executable, [...DIST_FORELOCK.args, 'demo', '--duration', '60s', '--seed', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const exited = once(child, 'exit') as Promise<[number | null]>;
    const timelineStarted = new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('timeline')) resolve();
      });
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    try {
      await Promise.race([timelineStarted, exited]);
      const dataDir = /data in (\S+)/.exec(stdout)?.[1];
      expect(dataDir).toBeDefined();
      child.kill('SIGINT');
      const [code] = await exited;
      expect(code).toBe(130);
      expect(existsSync(dataDir as string)).toBe(false);
      expect(processesMentioning(dataDir as string)).toEqual([]);
    } finally {
      clearTimeout(killer);
    }
  }, 150_000);
});
