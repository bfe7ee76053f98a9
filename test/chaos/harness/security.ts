// TLS and auth for a chaos cluster run with `{ secure: true }` (issue 10): certificates from `forelock certs create`
// (the built CLI) for every node id of the deployment configs, naming the nodes' addresses on the scenario subnet; the
// files and config keys each node is started with; and the auth bootstrap once a leader is elected: a root user the
// harness authenticates as with its client certificate (status, lock tables, admin calls), a `chaos` role with `lock`
// on `chaos/`, and a workload user holding it that logs in with a password over mutual TLS.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminClient, type AuthOptions, type TlsOptions } from '../../../src/index.js';
import { waitFor } from '../../support/wait-for.js';
import { runHost } from './docker.js';
import { type HarnessTls, httpGet } from './node-http.js';
import { CHAOS_POLL } from './wait.js';

/** The user the harness itself is (root), by the CN of its client certificate: no password. */
const HARNESS_USER = 'chaos-root';
/** The user the load clients log in as, holding only the `chaos` role. */
const WORKLOAD_USER = 'chaos-worker';
/** The role of the load: `lock` on the scenarios' lock names. */
const WORKLOAD_ROLE = 'chaos';
const WORKLOAD_PREFIX = 'chaos/';
/** A client certificate from the cluster CA naming no user: refused once auth is in force. */
const STRANGER = 'chaos-stranger';
/** Where a node finds its TLS files in its container. */
const TLS_DIR = '/etc/forelock/tls';

const cli = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));

/** How an SDK client of the scenario connects: TLS and credentials, both absent for a plaintext cluster. */
export interface ClientAccess {
  readonly tls?: TlsOptions;
  readonly auth?: AuthOptions;
}

/** What one node is started with: its TLS files (container path to PEM) and the config keys naming them. */
export interface NodeTlsSetup {
  readonly files: Readonly<Record<string, string>>;
  readonly config: { readonly tlsCert: string; readonly tlsKey: string; readonly tlsCa: string };
}

/** The certificates and users of one secure cluster. */
export class ChaosSecurity {
  private readonly workloadPassword = randomBytes(18).toString('base64url');

  private constructor(private readonly pem: ReadonlyMap<string, string>) {}

  /**
   * Issues a CA, a certificate for each of `nodeIds` (valid for every address in `nodeAddresses`, as peers dial
   * each other by address) and the harness's and workload's client certificates, with `forelock certs create`.
   */
  static async create(nodeIds: readonly string[], nodeAddresses: readonly string[]): Promise<ChaosSecurity> {
    const directory = mkdtempSync(join(tmpdir(), 'forelock-chaos-pki-'));
    try {
      const clients = [HARNESS_USER, WORKLOAD_USER, STRANGER];
      await runHost(process.execPath, [
        cli,
        'certs',
        'create',
        '--out',
        directory,
        '--nodes',
        nodeIds.join(','),
        '--clients',
        clients.join(','),
        '--san',
        nodeAddresses.join(','),
      ]);
      const files = ['ca', ...nodeIds, ...clients].flatMap((name) => [`${name}.pem`, `${name}-key.pem`]);
      return new ChaosSecurity(new Map(files.map((file) => [file, readFileSync(join(directory, file), 'utf8')])));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }

  private file(name: string): string {
    const content = this.pem.get(name);
    if (content === undefined) throw new Error(`no ${name} was issued for this chaos cluster`);
    return content;
  }

  /** The TLS files and config keys node `nodeId` is started with. */
  nodeSetup(nodeId: string): NodeTlsSetup {
    const config = { tlsCert: `${TLS_DIR}/node.pem`, tlsKey: `${TLS_DIR}/node-key.pem`, tlsCa: `${TLS_DIR}/ca.pem` };
    return {
      files: {
        [config.tlsCert]: this.file(`${nodeId}.pem`),
        [config.tlsKey]: this.file(`${nodeId}-key.pem`),
        [config.tlsCa]: this.file('ca.pem'),
      },
      config,
    };
  }

  /** The harness's own TLS material: the CA and the root user's client certificate. */
  get harnessTls(): HarnessTls {
    return {
      ca: this.file('ca.pem'),
      cert: this.file(`${HARNESS_USER}.pem`),
      key: this.file(`${HARNESS_USER}-key.pem`),
    };
  }

  /** How the load clients connect: mutual TLS with their own certificate, and the workload user's password. */
  get workloadAccess(): ClientAccess {
    return {
      tls: {
        ca: this.file('ca.pem'),
        cert: this.file(`${WORKLOAD_USER}.pem`),
        key: this.file(`${WORKLOAD_USER}-key.pem`),
      },
      auth: { user: WORKLOAD_USER, password: this.workloadPassword },
    };
  }

  /**
   * Adds the harness's root user, the workload's role and user, and enables auth (the cluster must have a leader);
   * then waits until every node at `statusUrls` refuses GET /v1/status to a certificate that names no user, so auth
   * is in force everywhere before the load starts.
   */
  async enableAuth(endpoints: readonly string[], statusUrls: readonly string[]): Promise<void> {
    const admin = new AdminClient({ endpoints, tls: this.harnessTls, timeoutMs: 30_000 });
    try {
      await admin.users.add(HARNESS_USER, { noPassword: true });
      await admin.users.grant(HARNESS_USER, 'root');
      await admin.roles.add(WORKLOAD_ROLE);
      await admin.roles.grant(WORKLOAD_ROLE, 'lock', WORKLOAD_PREFIX);
      await admin.users.add(WORKLOAD_USER, { password: this.workloadPassword });
      await admin.users.grant(WORKLOAD_USER, WORKLOAD_ROLE);
      const status = await admin.auth.enable();
      if (!status.enabled) throw new Error('forelock auth enable answered that auth is still disabled');
    } finally {
      admin.close();
    }
    const stranger = {
      ca: this.file('ca.pem'),
      cert: this.file(`${STRANGER}.pem`),
      key: this.file(`${STRANGER}-key.pem`),
    };
    await waitFor(
      'every node refuses /v1/status to a certificate naming no user',
      async () => {
        const answers = await Promise.all(statusUrls.map((url) => httpGet(url, 1_000, stranger)));
        return answers.every((answer) => answer.status === 401);
      },
      30_000,
      CHAOS_POLL,
    );
  }
}
