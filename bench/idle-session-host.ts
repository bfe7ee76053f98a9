// A child process of the scale benchmark that holds idle SDK sessions (no locks), so that tens of thousands of them
// need not share one event loop: run by fork() with the endpoints, a count and a name prefix; it answers the parent
// over IPC. Messages in: {kind: 'report'}, {kind: 'close'}. Messages out: IdleHostOpened once the sessions are open,
// IdleHostReport on each 'report'.
import type { Client } from '../src/client/client.js';
import { connectSessions } from './scale-load.js';

export interface IdleHostOpened {
  readonly kind: 'opened';
  readonly opened: number;
  /** Set when the sessions could not all be opened. */
  readonly error: string | null;
}

export interface IdleHostReport {
  readonly kind: 'report';
  readonly alive: number;
  readonly lost: number;
  /** Why the lost sessions ended, with how many ended so. */
  readonly lossReasons: Record<string, number>;
}

export type IdleHostRequest = { readonly kind: 'report' } | { readonly kind: 'close' };

const [endpointList, countText, namePrefix] = process.argv.slice(2);
if (endpointList === undefined || countText === undefined || namePrefix === undefined || process.send === undefined) {
  console.error('usage (from the scale benchmark, by fork): idle-session-host.js <endpoints> <count> <name prefix>');
  process.exit(2);
}
const send = (message: IdleHostOpened | IdleHostReport) => process.send!(message);

// The benchmark ended (or died) without a 'close': nothing is left to report to.
process.on('disconnect', () => process.exit(0));

let clients: Client[] = [];
try {
  clients = await connectSessions(endpointList.split(','), Number(countText), namePrefix);
  send({ kind: 'opened', opened: clients.length, error: null });
} catch (err) {
  send({ kind: 'opened', opened: 0, error: (err as Error).message });
}

process.on('message', async (request: IdleHostRequest) => {
  if (request.kind === 'report') {
    const lossReasons: Record<string, number> = {};
    let lost = 0;
    for (const client of clients) {
      if (!client.session.signal.aborted) continue;
      lost++;
      const reason = String((client.session.signal.reason as Error | undefined)?.message ?? 'unknown');
      lossReasons[reason] = (lossReasons[reason] ?? 0) + 1;
    }
    send({ kind: 'report', alive: clients.length - lost, lost, lossReasons });
  } else if (request.kind === 'close') {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    process.exit(0);
  }
});
