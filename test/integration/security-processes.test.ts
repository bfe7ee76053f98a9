// Security with the real `forelock` command: certs create, serve's refusal to serve plaintext beyond loopback, the
// client commands' TLS flags and FORELOCK_TLS_* variables, SIGHUP certificate rotation, and credentials kept from a
// held command.
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { createCertificates } from '../../src/security/certificates.js';
import { waitFor } from '../support/wait-for.js';
import { runCli, startCli } from './client-harness.js';
import { createTestPki, type LoggedNode, startLoggedNode, type TestPki } from './security-harness.js';
import { freePort, tempDir } from './server-harness.js';

let pki: TestPki;
let work: { path: string; remove: () => Promise<void> };
let node: LoggedNode;
let endpoint: string;

beforeAll(async () => {
  pki = await createTestPki();
  work = await tempDir('forelock-security-cli-');
  node = await startLoggedNode(join(work.path, 'node1'), {
    id: 'node1',
    tlsCert: pki.node('node1').cert,
    tlsKey: pki.node('node1').key,
    tlsCa: pki.ca,
  });
  endpoint = `127.0.0.1:${node.server.grpcAddress.port}`;
  await waitFor('a leader', () => node.server.raft.status().role === 'leader');
}, 60_000);

afterAll(async () => {
  await node?.server.close();
  await work?.remove();
  await pki?.remove();
});

describe('forelock certs create', () => {
  it('writes the CA, node and client files and names them', async () => {
    const out = join(work.path, 'certs');
    const run = await runCli([
      'certs',
      'create',
      '--out',
      out,
      '--nodes',
      'n1,n2',
      '--clients',
      'carol',
      '--days',
      '3',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(join(out, 'ca.pem'));
    expect(run.stdout).toMatch(/node\s+.*n2\.pem/);
    expect(run.stdout).toMatch(/client\s+.*carol\.pem/);
    const again = await runCli(['certs', 'create', '--out', out, '--clients', 'ca']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('reserved');
  });
});

describe('forelock serve is secure by default', () => {
  it('refuses plaintext on a non-loopback address, naming what to do', async () => {
    const run = await runCli(['serve', '--listen', '0.0.0.0:0', '--data', join(work.path, 'refused')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/refusing to serve plaintext on 0\.0\.0\.0:0: .*--tls-cert.*--insecure/);
  });

  it('serves with --insecure and says so in one warning line', async () => {
    const { child, done } = startCli([
      'serve',
      '--listen',
      '0.0.0.0:0',
      '--http',
      '127.0.0.1:0',
      '--data',
      join(work.path, 'insecure'),
      '--insecure',
    ]);
    let output = '';
    child.stdout?.on('data', (chunk: string) => {
      output += chunk;
    });
    try {
      await waitFor('the node serving', () => output.includes('forelock node serving'), 60_000);
      const warnings = output.split('\n').filter((line) => line.includes('--insecure'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!).level).toBe(40);
    } finally {
      child.kill('SIGTERM');
      await done;
    }
  });
});

describe('client commands over TLS', () => {
  it('forelock status takes --tls-ca/--tls-cert/--tls-key, or FORELOCK_TLS_*', async () => {
    const alice = pki.client('alice');
    const byFlags = await runCli([
      'status',
      '--json',
      '--endpoints',
      endpoint,
      '--tls-ca',
      pki.ca,
      '--tls-cert',
      alice.cert,
      '--tls-key',
      alice.key,
    ]);
    expect(byFlags.stderr).toBe('');
    expect(JSON.parse(byFlags.stdout).leader).toBe('node1');
    const byEnv = await runCli(['status', '--json', '--endpoints', endpoint], {
      FORELOCK_TLS_CA: pki.ca,
      FORELOCK_TLS_CERT: alice.cert,
      FORELOCK_TLS_KEY: alice.key,
    });
    expect(byEnv.stderr).toBe('');
    expect(JSON.parse(byEnv.stdout).leader).toBe('node1');
    const plaintext = await runCli(['status', '--endpoints', endpoint], {}, 60_000);
    expect(plaintext.code).toBe(1);
  });

  it('forelock lock keeps FORELOCK_PASSWORD and FORELOCK_AUTH_TOKEN from the command', async () => {
    const alice = pki.client('alice');
    const run = await runCli(
      [
        'lock',
        'cli/env',
        '--endpoints',
        endpoint,
        '--',
        'sh',
        '-c',
        'echo "[$FORELOCK_PASSWORD][$FORELOCK_AUTH_TOKEN][$FORELOCK_LOCK]"',
      ],
      {
        FORELOCK_TLS_CA: pki.ca,
        FORELOCK_TLS_CERT: alice.cert,
        FORELOCK_TLS_KEY: alice.key,
        FORELOCK_PASSWORD: 'hunter2',
        FORELOCK_AUTH_TOKEN: 'tok',
      },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('[][][cli/env]\n');
  });
});

describe('certificate rotation', () => {
  it('SIGHUP re-reads the files: a new CA is served without a restart; a bad file keeps the old material', async () => {
    const dir = join(work.path, 'rotate');
    const next = join(work.path, 'rotate-next');
    await createCertificates({ outDir: dir, nodes: ['node1'], clients: ['alice'], sans: [], days: 2 });
    await createCertificates({ outDir: next, nodes: ['node1'], clients: ['alice'], sans: [], days: 2 });
    const port = await freePort();
    const { child, done } = startCli([
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--http',
      '127.0.0.1:0',
      '--data',
      join(work.path, 'rotate-data'),
      '--tls-cert',
      join(dir, 'node1.pem'),
      '--tls-key',
      join(dir, 'node1-key.pem'),
      '--tls-ca',
      join(dir, 'ca.pem'),
    ]);
    let output = '';
    child.stdout?.on('data', (chunk: string) => {
      output += chunk;
    });
    const tlsFrom = async (folder: string) => ({
      ca: await readFile(join(folder, 'ca.pem')),
      cert: await readFile(join(folder, 'alice.pem')),
      key: await readFile(join(folder, 'alice-key.pem')),
    });
    const canConnect = async (tls: Awaited<ReturnType<typeof tlsFrom>>): Promise<boolean> => {
      try {
        const client = await connect({ endpoints: [`127.0.0.1:${port}`], tls, connectTimeoutMs: 2_000 });
        await client.close();
        return true;
      } catch {
        return false;
      }
    };
    try {
      await waitFor('the node serving', () => output.includes('forelock node serving'), 60_000);
      const before = await tlsFrom(dir);
      const after = await tlsFrom(next);
      // The node elects itself after it logs that it serves: poll until a session opens.
      await waitFor('a TLS session with the first CA', () => canConnect(before), 30_000);
      // A broken file: the re-read fails, is logged, and the material in use stays.
      await writeFile(join(dir, 'node1.pem'), 'not a certificate');
      child.kill('SIGHUP');
      await waitFor('the failed re-read logged', () => output.includes('TLS certificates not re-read'), 30_000);
      expect(await canConnect(before)).toBe(true);
      // The new CA's files in place: after SIGHUP, new connections need the new CA.
      for (const file of ['ca.pem', 'node1.pem', 'node1-key.pem']) await copyFile(join(next, file), join(dir, file));
      child.kill('SIGHUP');
      await waitFor('the re-read logged', () => output.includes('"TLS certificates re-read"'), 30_000);
      await waitFor('a TLS session with the new CA', () => canConnect(after), 30_000);
      expect(await canConnect(before)).toBe(false);
    } finally {
      child.kill('SIGTERM');
      await done;
    }
  });
});
