// Writes test/fixtures/datadir-v1/: the data directory of a single-node cluster as this release writes it (one session
// opened, one lock granted, token 1), for the test that starts an old data directory with a newer binary.
// Run it once with the release whose format the fixture stands for: `npx tsx scripts/make-datadir-fixture.ts`.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connect } from '../src/client/client.js';
import { configFileLayer, resolveServerConfig } from '../src/server/config.js';
import { startNodeServer } from '../src/server/node-server.js';

const FIXTURE = join(import.meta.dirname, '..', 'test', 'fixtures', 'datadir-v1');

const dir = await mkdtemp(join(tmpdir(), 'forelock-fixture-'));
const config = resolveServerConfig(
  configFileLayer(
    { id: 'node1', listen: '127.0.0.1:0', http: '127.0.0.1:0', logLevel: 'silent', data: join(dir, 'node1') },
    'fixture',
  ),
);
const node = await startNodeServer(config, { log: pino({ level: 'silent' }) });
const client = await connect({ endpoints: [`127.0.0.1:${node.grpcAddress.port}`], name: 'fixture' });
const lock = await client.acquire('fixture/held', { waitMs: 5_000 });
process.stdout.write(`granted fixture/held with token ${lock.token}\n`);
// The client vanishes without closing: its session and lock stay in the log, as a crash would leave them.
await node.close();
await rm(FIXTURE, { recursive: true, force: true });
await cp(join(dir, 'node1'), FIXTURE, { recursive: true });
await rm(dir, { recursive: true, force: true });
process.stdout.write(`wrote ${FIXTURE}\n`);
process.exit(0);
