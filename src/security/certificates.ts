// Development and test certificates (`forelock certs create`): a cluster CA, node certificates valid as server and
// peer, client certificates. Signed by the system's `openssl` (no npm X.509 library: the well-kept ones need a
// global reflect-metadata polyfill, and `openssl ca` sets any validity window, an already expired one included).
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ForelockError } from '../util/errors.js';

const run = promisify(execFile);

/** A node id or client name that may name a certificate (the same rule as node ids), `ca` excluded. */
const CERT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Extended key usage OIDs: a node certificate carries both, a client certificate only clientAuth. */
export const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/** Bad input to `forelock certs create`: nothing was written. */
export class CertificateRequestError extends ForelockError {
  constructor(message: string) {
    super(message, 'INVALID_ARGUMENT', false);
  }
}

/** What `forelock certs create` is asked for. */
export interface CertificateRequest {
  /** Directory the PEM files are written to (created when missing). */
  readonly outDir: string;
  /** Node ids: each gets `<id>.pem` and `<id>-key.pem`, valid as server and peer. */
  readonly nodes: readonly string[];
  /** Client names: each gets `<name>.pem` and `<name>-key.pem`, valid as client only; the CN is the name. */
  readonly clients: readonly string[];
  /** Extra DNS names or IP addresses on every node certificate (beside 127.0.0.1, localhost and the node id). */
  readonly sans: readonly string[];
  /** Validity from now, in days (ignored when notAfter is given). */
  readonly days: number;
  /** Explicit end of validity (in the past for an expired certificate). */
  readonly notAfter?: Date;
  /** Directory of an existing CA (`ca.pem`, `ca-key.pem`) to issue from instead of creating one. */
  readonly caDir?: string;
  /** The time "now" is taken from (tests). */
  readonly now?: Date;
}

/** The files written, by role. */
export interface CertificateFiles {
  readonly ca: string;
  readonly caKey: string;
  readonly issued: readonly {
    readonly name: string;
    readonly role: 'node' | 'client';
    readonly cert: string;
    readonly key: string;
  }[];
}

/** Checks the names: valid, distinct across nodes and clients (a client cert must never name a node), `ca` reserved. */
export function checkCertificateNames(nodes: readonly string[], clients: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of [...nodes, ...clients]) {
    if (!CERT_NAME.test(name)) {
      throw new CertificateRequestError(
        `a certificate name must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got "${name}"`,
      );
    }
    if (name === 'ca') throw new CertificateRequestError('the name "ca" is reserved for the certificate authority');
    if (seen.has(name)) throw new CertificateRequestError(`the name "${name}" is given twice`);
    seen.add(name);
  }
  if (seen.size === 0) throw new CertificateRequestError('name at least one certificate with --nodes or --clients');
}

/** A subjectAltName value for a DNS name or an IP address. */
function altName(name: string): string {
  return /^[0-9.]+$/.test(name) || name.includes(':') ? `IP:${name}` : `DNS:${name}`;
}

/** `YYYYMMDDHHMMSSZ`, the GeneralizedTime `openssl ca -startdate/-enddate` take. */
function generalizedTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args as string[]);
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new Error(`openssl ${args[0]} failed: ${detail}`);
  }
}

/** The `openssl ca` configuration of one run: a throwaway database, random serials, extensions from -extfile. */
function caConfig(work: string): string {
  return [
    '[ca]',
    'default_ca = forelock',
    '[forelock]',
    `database = ${join(work, 'index.txt')}`,
    `new_certs_dir = ${work}`,
    'rand_serial = yes',
    'default_md = sha256',
    'policy = any_name',
    'unique_subject = no',
    'copy_extensions = none',
    'email_in_dn = no',
    '[any_name]',
    'commonName = supplied',
    '',
  ].join('\n');
}

/**
 * Writes a CA (unless `caDir` names one) and the requested node and client certificates, all ECDSA P-256 keys
 * (files mode 0600). Node certificates name 127.0.0.1, localhost, the node id and every extra SAN, with the node id
 * as CN, and carry serverAuth and clientAuth; client certificates carry the name as CN and clientAuth only, which
 * is how a node tells a peer from a client (docs/design.md, principle 8). Refuses to overwrite any existing file.
 */
export async function createCertificates(request: CertificateRequest): Promise<CertificateFiles> {
  checkCertificateNames(request.nodes, request.clients);
  for (const san of request.sans) {
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(san)) {
      throw new CertificateRequestError(`--san names must be DNS names or IP addresses, got "${san}"`);
    }
  }
  if (!Number.isInteger(request.days) || request.days < 1 || request.days > 36_500) {
    throw new CertificateRequestError(`--days must be an integer from 1 to 36500, got ${request.days}`);
  }
  if (request.notAfter !== undefined && Number.isNaN(request.notAfter.getTime())) {
    throw new CertificateRequestError('--not-after must be an ISO date, e.g. 2030-01-01T00:00:00Z');
  }
  const now = request.now ?? new Date();
  const notAfter = request.notAfter ?? new Date(now.getTime() + request.days * 86_400_000);
  // Five minutes back tolerates clock skew between hosts; an already expired certificate starts a day before its end.
  const notBefore = new Date(Math.min(now.getTime() - 300_000, notAfter.getTime() - 86_400_000));
  // A new CA outlives every certificate it issues in this run.
  const caDays = Math.max(request.days, Math.ceil((notAfter.getTime() - now.getTime()) / 86_400_000) + 1);
  const out = request.outDir;
  const caCert = join(request.caDir ?? out, 'ca.pem');
  const caKey = join(request.caDir ?? out, 'ca-key.pem');
  const targets = [
    ...(request.caDir === undefined ? [caCert, caKey] : []),
    ...[...request.nodes, ...request.clients].flatMap((name) => [
      join(out, `${name}.pem`),
      join(out, `${name}-key.pem`),
    ]),
  ];
  for (const target of targets) {
    if (await exists(target)) throw new CertificateRequestError(`${target} exists already; nothing was written`);
  }
  if (request.caDir !== undefined) {
    for (const file of [caCert, caKey]) {
      if (!(await exists(file))) throw new CertificateRequestError(`--ca ${request.caDir} holds no ${file}`);
    }
  }
  await mkdir(out, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(tmpdir(), 'forelock-certs-'));
  try {
    if (request.caDir === undefined) {
      await openssl([
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-sha256',
        '-keyout',
        caKey,
        '-out',
        caCert,
        '-subj',
        '/CN=forelock-ca',
        '-days',
        String(caDays),
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      await chmod(caKey, 0o600);
    }
    await writeFile(join(work, 'index.txt'), '');
    await writeFile(join(work, 'ca.cnf'), caConfig(work));
    const issued: { name: string; role: 'node' | 'client'; cert: string; key: string }[] = [];
    const roles = [
      ...request.nodes.map((name) => ({ name, role: 'node' as const })),
      ...request.clients.map((name) => ({ name, role: 'client' as const })),
    ];
    for (const { name, role } of roles) {
      const cert = join(out, `${name}.pem`);
      const key = join(out, `${name}-key.pem`);
      const csr = join(work, `${name}.csr`);
      const extensions = join(work, `${name}.ext`);
      await openssl([
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        csr,
        '-subj',
        `/CN=${name}`,
      ]);
      await chmod(key, 0o600);
      const names = role === 'node' ? ['127.0.0.1', 'localhost', name, ...request.sans] : [name];
      await writeFile(
        extensions,
        [
          'basicConstraints = critical,CA:FALSE',
          'keyUsage = critical,digitalSignature,keyEncipherment',
          `extendedKeyUsage = ${role === 'node' ? 'serverAuth,clientAuth' : 'clientAuth'}`,
          `subjectAltName = ${[...new Set(names)].map(altName).join(',')}`,
          '',
        ].join('\n'),
      );
      await openssl([
        'ca',
        '-batch',
        '-notext',
        '-config',
        join(work, 'ca.cnf'),
        '-cert',
        caCert,
        '-keyfile',
        caKey,
        '-in',
        csr,
        '-out',
        cert,
        '-extfile',
        extensions,
        '-startdate',
        generalizedTime(notBefore),
        '-enddate',
        generalizedTime(notAfter),
      ]);
      issued.push({ name, role, cert, key });
    }
    return { ca: caCert, caKey, issued };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Reads a PEM certificate's subject CN, SANs, extended key usages and validity (for tests and `certs` output). */
export async function describeCertificate(path: string): Promise<{
  readonly commonName: string | null;
  readonly altNames: readonly string[];
  readonly extKeyUsage: readonly string[];
  readonly validTo: Date;
  readonly issuer: string;
}> {
  const cert = new X509Certificate(await readFile(path));
  return {
    commonName: /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? null,
    altNames: (cert.subjectAltName ?? '').split(', ').filter((n) => n !== ''),
    extKeyUsage: cert.keyUsage ?? [],
    validTo: new Date(cert.validTo),
    issuer: cert.issuer,
  };
}
