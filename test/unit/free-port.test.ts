// freePort: a loopback port below the ephemeral range, checked by binding it, so a port in use is never handed out.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../src/util/free-port.js';

/** The Math.random value that makes freePort pick `port` (its range is 20000-32767). */
function randomFor(port: number): number {
  return (port - 20_000 + 0.5) / (32_767 - 20_000 + 1);
}

describe('freePort', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('picks a port below the ephemeral range (32768-60999) that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(20_000);
    expect(port).toBeLessThanOrEqual(32_767);
    const server = createServer().listen(port, '127.0.0.1');
    await once(server, 'listening');
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('skips a port that is in use and takes the next candidate', async () => {
    // Hold a port in the range (the first of 24000, 24001, ... that this machine has free).
    const busy = createServer();
    let busyPort = 0;
    for (let candidate = 24_000; busyPort === 0; candidate++) {
      busyPort = await new Promise<number>((resolve) => {
        busy.once('error', () => resolve(0));
        busy.listen(candidate, '127.0.0.1', () => resolve(candidate));
      });
    }
    try {
      // The first candidate is the held port; the later ones are random as usual.
      const random = Math.random;
      let calls = 0;
      vi.spyOn(Math, 'random').mockImplementation(() => (calls++ === 0 ? randomFor(busyPort) : random()));
      const port = await freePort();
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(port).not.toBe(busyPort);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });
});
