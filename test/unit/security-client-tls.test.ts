// The SDK's TLS option: checked once (clear errors, the key never in them), never shown by inspect or JSON, and
// channels told apart by their material; connect() turns a bad option into InvalidArgumentError before dialing.
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { InvalidArgumentError } from '../../src/client/errors.js';
import { ClientTls } from '../../src/security/client-tls.js';
import { createTestPki, type TestPki } from '../integration/security-harness.js';

let pki: TestPki;
let ca: Buffer;
let cert: Buffer;
let key: Buffer;
let bobKey: Buffer;

beforeAll(async () => {
  pki = await createTestPki();
  ca = await readFile(pki.ca);
  cert = await readFile(pki.client('alice').cert);
  key = await readFile(pki.client('alice').key);
  bobKey = await readFile(pki.client('bob').key);
}, 30_000);
afterAll(async () => {
  await pki?.remove();
});

describe('ClientTls', () => {
  it('takes PEM strings or Buffers and shows only which parts are set', () => {
    const fromStrings = new ClientTls({ ca: ca.toString(), cert: cert.toString(), key: key.toString() });
    const fromBuffers = new ClientTls({ ca, cert, key });
    expect(fromStrings.channelKey).toBe(fromBuffers.channelKey);
    const keyLine = key.toString().split('\n')[1] as string;
    for (const shown of [inspect({ tls: fromBuffers }, { depth: 5 }), JSON.stringify({ tls: fromBuffers })]) {
      expect(shown).not.toContain(keyLine);
      expect(shown).toContain('redacted');
    }
    expect(fromBuffers.channelKey).not.toContain(keyLine.slice(0, 8));
  });

  it('tells apart channels with different material', async () => {
    const bob = pki.client('bob');
    const other = new ClientTls({ ca, cert: await readFile(bob.cert), key: await readFile(bob.key) });
    expect(other.channelKey).not.toBe(new ClientTls({ ca, cert, key }).channelKey);
    expect(new ClientTls({ ca }).channelKey).not.toBe(new ClientTls({ ca, cert, key }).channelKey);
  });

  it.each([
    ['a certificate without its key', () => ({ ca, cert }), /give both cert and key/],
    ['a key without a certificate', () => ({ ca, key }), /give both cert and key/],
    ['a CA that is not PEM', () => ({ ca: 'nonsense' }), /tls\.ca is not a PEM certificate/],
    ['a key that is not PEM', () => ({ ca, cert, key: 'nonsense' }), /tls\.key is not an unencrypted PEM private key/],
    [
      'the key of another certificate',
      () => ({ ca, cert, key: bobKey }),
      /tls\.key is not the private key of tls\.cert/,
    ],
  ])('refuses %s, never quoting the key', (_what, options, message) => {
    const keyLine = key.toString().split('\n')[1] as string;
    let error: unknown;
    try {
      new ClientTls(options());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(keyLine);
  });

  it('connect() refuses a bad tls option with InvalidArgumentError before dialing', async () => {
    await expect(connect({ endpoints: ['127.0.0.1:1'], tls: { ca, cert } })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
