// A holder of one fenced lock in a process of its own, for tests that kill it with SIGKILL (a crash: its kernel closes
// its connections, nothing is sent). It opens a session with the SDK on ENDPOINT, takes LOCK (fenced, without
// waiting), prints one JSON line {"session", "token"} on stdout and then holds the lock and keeps its session alive
// until it is killed.
//
//   node --import tsx test/support/fenced-holder.ts ENDPOINT LOCK
import { connect } from '../../src/index.js';

const [endpoint, name] = process.argv.slice(2);
if (endpoint === undefined || name === undefined) throw new Error('usage: fenced-holder.ts ENDPOINT LOCK');
const client = await connect({ endpoints: [endpoint], name: 'fenced-holder', ttlMs: 10_000 });
const lock = await client.acquire(name, { fenced: true, waitMs: 0 });
process.stdout.write(`${JSON.stringify({ session: client.session.id, token: String(lock.token) })}\n`);
// Held until killed: the SDK's keepalives keep the session (and so the lock) alive meanwhile.
setInterval(() => {}, 60_000);
