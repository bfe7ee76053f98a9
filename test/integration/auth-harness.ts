// Test harness for auth with real processes: `forelock serve` nodes over TLS (certificates written by `forelock certs
// create`'s code) whose pino lines the test reads for the audit trail, and calls as a client certificate with an
// optional login token: Admin calls, raw session streams, and HTTPS requests.
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCertificates } from '../../src/security/certificates.js';
import { AUTHORIZATION_METADATA } from '../../src/server/authenticator.js';
import { forelockServices } from '../../src/util/proto.js';
import { type NodeAddresses, type ServeProcess, startServe } from './forelock-processes.js';
import { adminClient, RawSession } from './server-harness.js';

/** A client's TLS material: the cluster CA and a certificate with its key. */
export interface ClientPem {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Who calls: a client certificate (its CN may name a user) and, optionally, a login token. */
export interface Credentials {
  readonly pem: ClientPem;
  readonly token?: string;
}

/** The certificates of one test run. */
export interface AuthPki {
  /** The `forelock serve` flags of node `id`. */
  tlsFlags(id: string): string[];
  /** A certificate from the cluster CA: a client's (CN `name`), or a node's own (its id). */
  certificate(name: string): Promise<ClientPem>;
  /** A client certificate with CN `name` from another CA, presented with the cluster CA to check the node. */
  foreign(name: string): Promise<ClientPem>;
}

/** Writes a CA with node and client certificates, and a second CA with `foreignClients`, under `dir`. */
export async function createAuthPki(
  dir: string,
  nodes: readonly string[],
  clients: readonly string[],
  foreignClients: readonly string[],
): Promise<AuthPki> {
  const main = join(dir, 'main');
  const other = join(dir, 'other');
  await createCertificates({ outDir: main, nodes: [...nodes], clients: [...clients], sans: [], days: 2 });
  await createCertificates({ outDir: other, nodes: [], clients: [...foreignClients], sans: [], days: 2 });
  const pemOf = async (caDir: string, folder: string, name: string): Promise<ClientPem> => ({
    ca: await readFile(join(caDir, 'ca.pem')),
    cert: await readFile(join(folder, `${name}.pem`)),
    key: await readFile(join(folder, `${name}-key.pem`)),
  });
  return {
    tlsFlags: (id) => [
      '--tls-cert',
      join(main, `${id}.pem`),
      '--tls-key',
      join(main, `${id}-key.pem`),
      '--tls-ca',
      join(main, 'ca.pem'),
    ],
    certificate: (name) => pemOf(main, main, name),
    foreign: (name) => pemOf(main, other, name),
  };
}

/** One audit line as a node logs it (src/security/audit.ts, Authenticator). */
export interface AuditLine {
  readonly identity: string;
  readonly action: string;
  readonly target: string;
  readonly result: string;
  readonly reason?: string;
}

/** A `forelock serve` process at log level info, whose output lines the test reads. */
export interface LoggedServe {
  readonly node: NodeAddresses;
  readonly process: ServeProcess;
  /** The pino lines written so far, parsed. */
  entries(): Record<string, unknown>[];
  /** The audit lines written so far. */
  audits(): AuditLine[];
}

/** Starts `forelock serve` for `node` with `args`, logging at info (audit lines included). */
export function startLoggedServe(node: NodeAddresses, args: readonly string[]): LoggedServe {
  const process = startServe(node, [...args, '--log-level', 'info']);
  let output = '';
  process.child.stdout?.on('data', (chunk: string) => {
    output += chunk;
  });
  const entries = (): Record<string, unknown>[] =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    node,
    process,
    entries,
    audits: () => entries().flatMap((entry) => (entry.msg === 'audit' ? [entry.audit as AuditLine] : [])),
  };
}

function channelCredentials(pem: ClientPem): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(pem.ca, pem.key, pem.cert);
}

function metadataOf(token: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set(AUTHORIZATION_METADATA, `Bearer ${token}`);
  return metadata;
}

/** How long an Admin call of these tests may take (a node still starting refuses, it does not hang). */
const ADMIN_CALL_DEADLINE_MS = 15_000;

/** One Admin call to `address` as `who`; rejects with the grpc ServiceError. */
export async function adminCall<T = Record<string, unknown>>(
  address: string,
  who: Credentials,
  method: string,
  request: Record<string, unknown> = {},
): Promise<T> {
  const client = adminClient(address, channelCredentials(who.pem));
  try {
    return await client.call<T>(method, request, metadataOf(who.token), {
      deadline: Date.now() + ADMIN_CALL_DEADLINE_MS,
    });
  } finally {
    client.close();
  }
}

/** The error an Admin call as `who` was refused with (fails the test when it was answered). */
export async function adminRefusal(
  address: string,
  who: Credentials,
  method: string,
  request: Record<string, unknown> = {},
): Promise<grpc.ServiceError> {
  try {
    await adminCall(address, who, method, request);
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error(`${method} ${JSON.stringify(request)} was answered; it should have been refused`);
}

/** How Admin.Snapshot (a server stream) ended for `who`: OK with its bytes, or the refusal. */
export function snapshotAs(address: string, who: Credentials): Promise<{ code: grpc.status; details: string }> {
  const { Admin } = forelockServices();
  const client = new Admin(address, channelCredentials(who.pem));
  const call = (
    client as unknown as { Snapshot(request: object, metadata: grpc.Metadata): grpc.ClientReadableStream<unknown> }
  ).Snapshot({}, metadataOf(who.token));
  call.on('data', () => {});
  call.on('error', () => {});
  return new Promise((resolve) =>
    call.on('status', (status: grpc.StatusObject) => {
      client.close();
      resolve({ code: status.code, details: status.details });
    }),
  );
}

/** A raw session stream to `address` as `who`. */
export function sessionStream(address: string, who: Credentials): RawSession {
  return new RawSession(address, channelCredentials(who.pem), metadataOf(who.token));
}

/** An HTTPS answer. */
export interface HttpsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * GET `path` from an HTTPS endpoint checked against `ca`, presenting `pem`'s certificate when given and `token` as
 * `Authorization: Bearer`.
 */
export function httpsGet(
  address: string,
  path: string,
  options: { readonly ca: Buffer; readonly pem?: ClientPem; readonly token?: string },
): Promise<HttpsAnswer> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    request(
      {
        host,
        port: Number(port),
        path,
        ca: options.ca,
        ...(options.pem === undefined ? {} : { cert: options.pem.cert, key: options.pem.key }),
        headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
        agent: false,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      },
    )
      .on('error', reject)
      .end();
  });
}
