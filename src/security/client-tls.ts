// A client's TLS settings (SDK `connect({ tls })`, CLI --tls-ca/--tls-cert/--tls-key or FORELOCK_TLS_*): checked
// once, turned into gRPC channel credentials, and never shown by util.inspect or JSON.stringify (docs/design.md,
// principle 8: a private key must not reach a log).
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';

/** TLS material in PEM (strings or Buffers), as `connect({ tls })` and `new AdminClient({ tls })` take it. */
export interface TlsOptions {
  /** The cluster CA that issued the nodes' certificates. Default: the system's roots. */
  readonly ca?: string | Buffer;
  /** This client's certificate, for mutual TLS (with `key`); its CN is the user name when auth is on. */
  readonly cert?: string | Buffer;
  /** The private key of `cert`. */
  readonly key?: string | Buffer;
}

const asBuffer = (pem: string | Buffer): Buffer => (typeof pem === 'string' ? Buffer.from(pem) : pem);

/**
 * Checked TLS material. The PEM lives in private fields, so util.inspect and JSON.stringify of an object holding
 * it show only which parts are set.
 */
export class ClientTls {
  readonly #ca: Buffer | null;
  readonly #cert: Buffer | null;
  readonly #key: Buffer | null;
  /** Tells apart channels with different material (a hash; the material itself is never in it). */
  readonly channelKey: string;

  constructor(options: TlsOptions) {
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new RangeError('tls: give both cert and key (mutual TLS), or neither');
    }
    this.#ca = options.ca === undefined ? null : asBuffer(options.ca);
    this.#cert = options.cert === undefined ? null : asBuffer(options.cert);
    this.#key = options.key === undefined ? null : asBuffer(options.key);
    if (this.#ca !== null) {
      try {
        new X509Certificate(this.#ca);
      } catch {
        throw new RangeError('tls.ca is not a PEM certificate');
      }
    }
    if (this.#cert !== null && this.#key !== null) {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(this.#cert);
      } catch {
        throw new RangeError('tls.cert is not a PEM certificate');
      }
      let key: ReturnType<typeof createPrivateKey>;
      try {
        key = createPrivateKey(this.#key);
      } catch {
        throw new RangeError('tls.key is not an unencrypted PEM private key');
      }
      if (!certificate.checkPrivateKey(key)) throw new RangeError('tls.key is not the private key of tls.cert');
    }
    const hash = createHash('sha256');
    for (const part of [this.#ca, this.#cert, this.#key]) hash.update(part ?? Buffer.alloc(0)).update('\0');
    this.channelKey = hash.digest('hex').slice(0, 32);
  }

  /** Channel credentials for a connection to a node. */
  credentials(): grpc.ChannelCredentials {
    return grpc.credentials.createSsl(this.#ca, this.#key, this.#cert);
  }

  /** What is set, never the material. */
  toJSON(): { readonly ca: boolean; readonly cert: boolean; readonly key: string | null } {
    return { ca: this.#ca !== null, cert: this.#cert !== null, key: this.#key === null ? null : '[redacted]' };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ClientTls { ca: ${this.#ca !== null}, cert: ${this.#cert !== null}, key: ${this.#key === null ? 'none' : '[redacted]'} }`;
  }
}

/** Credentials for `tls` (plaintext when undefined). */
export function channelCredentials(tls: ClientTls | undefined): grpc.ChannelCredentials {
  return tls === undefined ? grpc.credentials.createInsecure() : tls.credentials();
}

/** Checks `options` (undefined: plaintext); throws RangeError naming what is wrong. */
export function clientTls(options: TlsOptions | undefined): ClientTls | undefined {
  return options === undefined ? undefined : new ClientTls(options);
}
