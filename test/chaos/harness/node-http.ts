// GET on a node's HTTP port from the test process: plaintext, or over HTTPS with the cluster CA and the harness's
// client certificate (the user it names reads /v1/status and /v1/locks once auth is on). node:https takes the TLS
// material per request, so no fetch dispatcher (an undici Agent matching the bundled undici) is needed.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The PEM material the harness's HTTPS requests present: the cluster CA, and a client certificate and key. */
export interface HarnessTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** A node's answer: its status code and body. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * GETs `url` (http: or https:, the latter verified against `tls.ca` and presenting `tls.cert`); rejects when no
 * complete answer arrives within `timeoutMs`.
 */
export function httpGet(url: string, timeoutMs: number, tls?: Partial<HarnessTls>): Promise<HttpAnswer> {
  const secure = url.startsWith('https:');
  if (secure && tls?.ca === undefined) throw new Error(`${url}: an https URL needs the cluster CA`);
  const signal = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve, reject) => {
    const onResponse = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    };
    const sent = secure
      ? httpsRequest(url, { method: 'GET', signal, ca: tls?.ca, cert: tls?.cert, key: tls?.key }, onResponse)
      : httpRequest(url, { method: 'GET', signal }, onResponse);
    sent.on('error', reject);
    sent.end();
  });
}
