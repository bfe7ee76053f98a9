// Test harness for the security tests: certificates written by `forelock certs create`'s code, and clusters of
// in-process nodes with per-node TLS files or cluster tokens whose log lines the test can read.
import { join } from 'node:path';
import { pino } from 'pino';
import { createCertificates } from '../../src/security/certificates.js';
import { configFileLayer, resolveServerConfig, type ServerConfigInput } from '../../src/server/config.js';
import { type NodeServer, startNodeServer } from '../../src/server/node-server.js';
import { waitFor } from '../support/wait-for.js';
import { freePort, TEST_TICK_MS, tempDir } from './server-harness.js';

/** The PEM files of one certificate. */
export interface CertPaths {
  readonly cert: string;
  readonly key: string;
}

/**
 * Certificates for the tests: the cluster CA with node1-3 and alice; node9 (same CA, never a member); `node3-client`,
 * a client certificate whose CN is node3; bob, expired; and a second CA ("other") with its own node1 and alice.
 */
export interface TestPki {
  readonly dir: string;
  readonly ca: string;
  readonly otherCa: string;
  node(id: string): CertPaths;
  client(name: string): CertPaths;
  other(name: string): CertPaths;
  remove(): Promise<void>;
}

export async function createTestPki(): Promise<TestPki> {
  const dir = await tempDir('forelock-pki-');
  const main = join(dir.path, 'main');
  const other = join(dir.path, 'other');
  const base = { sans: [] as string[], days: 2 };
  await createCertificates({ ...base, outDir: main, nodes: ['node1', 'node2', 'node3', 'node9'], clients: ['alice'] });
  await createCertificates({
    ...base,
    outDir: join(dir.path, 'expired'),
    nodes: [],
    clients: ['bob'],
    caDir: main,
    notAfter: new Date(Date.now() - 86_400_000),
  });
  await createCertificates({ ...base, outDir: join(dir.path, 'impostor'), nodes: [], clients: ['node3'], caDir: main });
  await createCertificates({ ...base, outDir: other, nodes: ['node1'], clients: ['alice'] });
  const paths = (folder: string, name: string): CertPaths => ({
    cert: join(folder, `${name}.pem`),
    key: join(folder, `${name}-key.pem`),
  });
  return {
    dir: dir.path,
    ca: join(main, 'ca.pem'),
    otherCa: join(other, 'ca.pem'),
    node: (id) => paths(main, id),
    client: (name) =>
      name === 'bob'
        ? paths(join(dir.path, 'expired'), 'bob')
        : name === 'node3-client'
          ? paths(join(dir.path, 'impostor'), 'node3')
          : paths(main, name),
    other: (name) => paths(other, name),
    remove: dir.remove,
  };
}

/** A node whose log lines (pino JSON) the test can read. */
export interface LoggedNode {
  readonly server: NodeServer;
  readonly lines: string[];
}

/** Starts one in-process node with its log captured. */
export async function startLoggedNode(dataDir: string, input: ServerConfigInput): Promise<LoggedNode> {
  const config = resolveServerConfig(
    configFileLayer(
      { listen: '127.0.0.1:0', http: '127.0.0.1:0', logLevel: 'info', ...input, data: dataDir },
      'test node',
    ),
  );
  const lines: string[] = [];
  const log = pino(
    { level: config.logLevel, base: { node: config.id } },
    { write: (line: string) => lines.push(line) },
  );
  return { server: await startNodeServer(config, { log, tickMs: TEST_TICK_MS }), lines };
}

/** A cluster of logged nodes; `settings(id)` gives each node's own keys (TLS files, cluster token). */
export interface LoggedCluster {
  readonly nodes: Map<string, LoggedNode>;
  readonly peers: Record<string, string>;
  leader(): Promise<NodeServer>;
  /** Closes one node (as a crash would end its streams); leader() then looks among the others. */
  stop(id: string): Promise<void>;
  close(): Promise<void>;
}

export async function startLoggedCluster(
  ids: readonly string[],
  settings: (id: string) => ServerConfigInput,
): Promise<LoggedCluster> {
  const dir = await tempDir('forelock-secure-cluster-');
  const peers: Record<string, string> = {};
  for (const id of ids) peers[id] = `127.0.0.1:${await freePort()}`;
  const started = await Promise.all(
    ids.map(
      async (id) =>
        [id, await startLoggedNode(join(dir.path, id), { ...settings(id), id, listen: peers[id], peers })] as const,
    ),
  );
  const nodes = new Map(started);
  const stopped = new Set<string>();
  const running = () => [...nodes].filter(([id]) => !stopped.has(id)).map(([, node]) => node.server);
  return {
    nodes,
    peers,
    leader: () =>
      waitFor('a leader in office', () =>
        running().find((n) => n.raft.status().role === 'leader' && n.services.duties.active),
      ),
    stop: async (id) => {
      stopped.add(id);
      await nodes.get(id)?.server.close();
    },
    close: async () => {
      await Promise.all(running().map((server) => server.close()));
      await dir.remove();
    },
  };
}

/** The log lines of `node` whose message is `msg`, parsed. */
export function logEntries(node: LoggedNode, msg: string): Record<string, unknown>[] {
  return node.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === msg);
}
