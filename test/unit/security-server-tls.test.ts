// A node's TLS files: checked before use (errors name the file and never show the key), a CA bundle accepted, the
// material redacted in util.inspect and JSON.stringify; and which peer certificates may speak for a member.
import { readFile, writeFile } from 'node:fs/promises';
import type { PeerCertificate } from 'node:tls';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_AUTH_OID, SERVER_AUTH_OID } from '../../src/security/certificates.js';
import { peerCertificateRefusal } from '../../src/security/peer-certificates.js';
import { ServerTls, TlsFilesError } from '../../src/security/server-tls.js';
import { createTestPki, type TestPki } from '../integration/security-harness.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
}, 30_000);
afterAll(async () => {
  await pki?.remove();
});

describe('ServerTls.load', () => {
  it('loads matching files and keeps the key out of inspect and JSON', async () => {
    const files = { certFile: pki.node('node1').cert, keyFile: pki.node('node1').key, caFile: pki.ca };
    const tls = await ServerTls.load(files);
    const keyLine = (await readFile(files.keyFile, 'utf8')).split('\n')[1] as string;
    expect(inspect(tls, { depth: 10 })).not.toContain(keyLine);
    expect(JSON.stringify(tls)).not.toContain(keyLine);
    expect(JSON.parse(JSON.stringify(tls))).toEqual({ files });
  });

  it('accepts a CA bundle that holds the issuer among others', async () => {
    const bundle = `${pki.dir}/bundle.pem`;
    await writeFile(bundle, `${await readFile(pki.otherCa, 'utf8')}${await readFile(pki.ca, 'utf8')}`);
    await expect(
      ServerTls.load({ certFile: pki.node('node1').cert, keyFile: pki.node('node1').key, caFile: bundle }),
    ).resolves.toBeInstanceOf(ServerTls);
  });

  it.each([
    [
      'a key of another certificate',
      () => ({ certFile: pki.node('node1').cert, keyFile: pki.node('node2').key, caFile: pki.ca }),
      /is not the key of --tls-cert/,
    ],
    [
      'a certificate another CA issued',
      () => ({ certFile: pki.other('node1').cert, keyFile: pki.other('node1').key, caFile: pki.ca }),
      /was not issued by --tls-ca/,
    ],
    [
      'a missing file',
      () => ({ certFile: `${pki.dir}/nope.pem`, keyFile: pki.node('node1').key, caFile: pki.ca }),
      /cannot read --tls-cert .*ENOENT/,
    ],
    [
      'a key given as the certificate',
      () => ({ certFile: pki.node('node1').key, keyFile: pki.node('node1').key, caFile: pki.ca }),
      /is not a PEM certificate/,
    ],
  ])('refuses %s, naming the file and never the key', async (_what, files, message) => {
    const keyLine = (await readFile(pki.node('node1').key, 'utf8')).split('\n')[1] as string;
    const error = await ServerTls.load(files()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TlsFilesError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(keyLine);
  });
});

/** A peer certificate as node's TLS socket reports it, reduced to what the rule reads. */
function peerCert(cn: string | undefined, usages: string[], altNames: string[]): PeerCertificate {
  return {
    subject: cn === undefined ? {} : { CN: cn },
    ext_key_usage: usages,
    subjectaltname: altNames.join(', '),
  } as unknown as PeerCertificate;
}

describe('which certificate speaks for a member', () => {
  it.each([
    ['the member by CN', peerCert('node2', [SERVER_AUTH_OID, CLIENT_AUTH_OID], []), null],
    ['the member by DNS SAN', peerCert('other', [SERVER_AUTH_OID], ['DNS:node2']), null],
    ['no certificate', undefined, /presented no certificate/],
    [
      'a client certificate named after the member',
      peerCert('node2', [CLIENT_AUTH_OID], ['DNS:node2']),
      /client certificate/,
    ],
    [
      'another member',
      peerCert('node3', [SERVER_AUTH_OID], ['DNS:node3', 'IP Address:127.0.0.1']),
      /does not name member node2/,
    ],
    [
      'an IP SAN spelling the id',
      peerCert(undefined, [SERVER_AUTH_OID], ['IP Address:node2']),
      /does not name member node2/,
    ],
  ])('%s', (_what, cert, expected) => {
    const refusal = peerCertificateRefusal(cert, 'node2');
    if (expected === null) expect(refusal).toBeNull();
    else expect(refusal).toMatch(expected);
  });

  it('admits exactly the node certificates that name the member (random certificates)', () => {
    const name = fc.stringMatching(/^[a-z0-9.-]{1,8}$/);
    fc.assert(
      fc.property(
        name,
        fc.option(name, { nil: undefined }),
        fc.subarray([SERVER_AUTH_OID, CLIENT_AUTH_OID, '1.3.6.1.5.5.7.3.4']),
        fc.array(fc.tuple(fc.constantFrom('DNS:', 'IP Address:', 'URI:'), name), { maxLength: 4 }),
        (member, cn, usages, sans) => {
          const cert = peerCert(
            cn,
            usages,
            sans.map(([kind, value]) => `${kind}${value}`),
          );
          const names = cn === member || sans.some(([kind, value]) => kind === 'DNS:' && value === member);
          const admitted = usages.includes(SERVER_AUTH_OID) && names;
          expect(peerCertificateRefusal(cert, member) === null).toBe(admitted);
        },
      ),
      { seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31), numRuns: 2_000 },
    );
  });
});
