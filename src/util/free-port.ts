// Picking a free loopback TCP port for a process that must know its address before it starts (a cluster's members
// name each other up front): the demo's embedded cluster and the test clusters.
import { createServer } from 'node:net';

/** Ports freePort picks from: below Linux's ephemeral range (32768-60999), which outgoing connections use. */
const FREE_PORT_LOW = 20_000;
const FREE_PORT_HIGH = 32_767;
/** How many random ports are tried before giving up. */
const FREE_PORT_ATTEMPTS = 100;

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, picked at random below the ephemeral range and checked by
 * binding it. A port the kernel hands out for `listen(0)` is an ephemeral one, which any outgoing connection on the
 * machine may take before the node binds it (EADDRINUSE seen in a loaded run).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < FREE_PORT_ATTEMPTS; attempt++) {
    const port = FREE_PORT_LOW + Math.floor(Math.random() * (FREE_PORT_HIGH - FREE_PORT_LOW + 1));
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }
  throw new Error(
    `no free port on 127.0.0.1 in ${FREE_PORT_LOW}-${FREE_PORT_HIGH} after ${FREE_PORT_ATTEMPTS} attempts`,
  );
}
