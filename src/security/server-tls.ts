// A node's TLS material (--tls-cert, --tls-key, --tls-ca): read and checked at start, re-read on SIGHUP, and handed
// to the gRPC port (mutual TLS), the peer links and the HTTP endpoint (docs/design.md, principle 8).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { ForelockError } from '../util/errors.js';

/** Where a node's certificate, key and cluster CA live. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** The PEM material read from TlsFiles. */
interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/** TLS files that cannot be used; the message names the file and the problem, never the key's content. */
export class TlsFilesError extends ForelockError {
  constructor(message: string) {
    super(message, 'INVALID_CONFIG', false);
  }
}

type CaListener = (update: { caCertificate: Buffer } | null) => void;
type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new TlsFilesError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/** Reads and checks the files: each parses, the key belongs to the certificate, the CA issued the certificate. */
async function loadMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    readPem(files.certFile, '--tls-cert'),
    readPem(files.keyFile, '--tls-key'),
    readPem(files.caFile, '--tls-ca'),
  ]);
  let certificate: X509Certificate;
  let authorities: X509Certificate[];
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new TlsFilesError(`--tls-cert ${files.certFile} is not a PEM certificate`);
  }
  try {
    // A bundle of several CAs (during a move to a new CA) is one PEM block each.
    const blocks = ca.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    authorities = blocks.map((block) => new X509Certificate(block));
    if (authorities.length === 0) throw new Error('no certificate');
  } catch {
    throw new TlsFilesError(`--tls-ca ${files.caFile} is not a PEM certificate`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsFilesError(`--tls-key ${files.keyFile} is not an unencrypted PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsFilesError(`--tls-key ${files.keyFile} is not the key of --tls-cert ${files.certFile}`);
  }
  if (!authorities.some((authority) => certificate.checkIssued(authority) && certificate.verify(authority.publicKey))) {
    throw new TlsFilesError(`--tls-cert ${files.certFile} was not issued by --tls-ca ${files.caFile}`);
  }
  return { cert, key, ca };
}

/**
 * A node's TLS material. It feeds grpc-js's certificate-provider credentials, so reload() (on SIGHUP) reaches the
 * listening port without a restart; peer links take fresh credentials at each reconnect, HTTP through onReload.
 */
export class ServerTls {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly reloadListeners = new Set<() => void>();

  private constructor(
    readonly files: TlsFiles,
    private material: TlsMaterial,
  ) {}

  /** Reads and checks the files; throws TlsFilesError naming the first problem. */
  static async load(files: TlsFiles): Promise<ServerTls> {
    return new ServerTls(files, await loadMaterial(files));
  }

  /** Re-reads the files; on any problem the material in use stays and TlsFilesError says why. */
  async reload(): Promise<void> {
    this.material = await loadMaterial(this.files);
    for (const listener of this.caListeners) listener({ caCertificate: this.material.ca });
    for (const listener of this.identityListeners) {
      listener({ certificate: this.material.cert, privateKey: this.material.key });
    }
    for (const listener of this.reloadListeners) listener();
  }

  /** Calls `listener` after every successful reload. */
  onReload(listener: () => void): void {
    this.reloadListeners.add(listener);
  }

  /** The gRPC port's credentials: TLS with a client certificate from the cluster CA required of every caller. */
  serverCredentials(): grpc.ServerCredentials {
    const provider: grpc.experimental.CertificateProvider = {
      // grpc-js registers its own watcher only after adding these listeners, so the first update comes a tick later.
      addCaCertificateListener: (listener) => {
        this.caListeners.add(listener);
        queueMicrotask(() => listener({ caCertificate: this.material.ca }));
      },
      removeCaCertificateListener: (listener) => this.caListeners.delete(listener),
      addIdentityCertificateListener: (listener) => {
        this.identityListeners.add(listener);
        queueMicrotask(() => listener({ certificate: this.material.cert, privateKey: this.material.key }));
      },
      removeIdentityCertificateListener: (listener) => this.identityListeners.delete(listener),
    };
    // One provider serves both roles (grpc-js's argument names for the two are swapped in some releases).
    return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, true);
  }

  /** Credentials of a peer link: this node's certificate presented to the peer, the peer checked against the CA. */
  channelCredentials(): grpc.ChannelCredentials {
    return grpc.credentials.createSsl(this.material.ca, this.material.key, this.material.cert);
  }

  /** Options for an HTTPS server (or its setSecureContext) with the current material. */
  secureContextOptions(): { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } {
    return { ca: this.material.ca, cert: this.material.cert, key: this.material.key };
  }

  /** Redacted: the material holds a private key (docs/design.md, principle 8). */
  toJSON(): { readonly files: TlsFiles } {
    return { files: this.files };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ServerTls { cert: ${this.files.certFile}, ca: ${this.files.caFile}, key: [redacted] }`;
  }
}
