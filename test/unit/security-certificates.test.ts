// forelock certs create: what each certificate names, who issued it, its validity, and refusals that write nothing.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CertificateRequestError,
  CLIENT_AUTH_OID,
  createCertificates,
  describeCertificate,
  SERVER_AUTH_OID,
} from '../../src/security/certificates.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forelock-certs-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = { nodes: [] as string[], clients: [] as string[], sans: [] as string[], days: 30 };

describe('forelock certs create', () => {
  it('writes a CA, node certificates for server and peer use, and client-only certificates', async () => {
    const out = join(dir, 'pki');
    await createCertificates({
      ...base,
      outDir: out,
      nodes: ['node1', 'node2'],
      clients: ['alice'],
      sans: ['db.example', '10.0.0.7'],
    });
    expect((await readdir(out)).sort()).toEqual(
      [
        'alice-key.pem',
        'alice.pem',
        'ca-key.pem',
        'ca.pem',
        'node1-key.pem',
        'node1.pem',
        'node2-key.pem',
        'node2.pem',
      ].sort(),
    );
    const ca = new X509Certificate(await readFile(join(out, 'ca.pem')));
    expect(ca.ca).toBe(true);
    const node = await describeCertificate(join(out, 'node1.pem'));
    expect(node.commonName).toBe('node1');
    expect(node.altNames).toEqual([
      'IP Address:127.0.0.1',
      'DNS:localhost',
      'DNS:node1',
      'DNS:db.example',
      'IP Address:10.0.0.7',
    ]);
    expect(node.extKeyUsage).toEqual(expect.arrayContaining([SERVER_AUTH_OID, CLIENT_AUTH_OID]));
    const client = await describeCertificate(join(out, 'alice.pem'));
    expect(client.commonName).toBe('alice');
    expect(client.extKeyUsage).toEqual([CLIENT_AUTH_OID]);
    for (const file of ['node1.pem', 'alice.pem']) {
      expect(new X509Certificate(await readFile(join(out, file))).verify(ca.publicKey)).toBe(true);
    }
    expect((await stat(join(out, 'node1-key.pem'))).mode & 0o077).toBe(0);
    expect((await stat(join(out, 'ca-key.pem'))).mode & 0o077).toBe(0);
  });

  it('issues more certificates from an existing CA with --ca, and an expired one with --not-after', async () => {
    const first = join(dir, 'a');
    const second = join(dir, 'b');
    await createCertificates({ ...base, outDir: first, nodes: ['node1'] });
    const notAfter = new Date('2020-01-02T03:04:05Z');
    await createCertificates({ ...base, outDir: second, clients: ['bob'], caDir: first, notAfter });
    expect((await readdir(second)).sort()).toEqual(['bob-key.pem', 'bob.pem']);
    const ca = new X509Certificate(await readFile(join(first, 'ca.pem')));
    const bob = new X509Certificate(await readFile(join(second, 'bob.pem')));
    expect(bob.verify(ca.publicKey)).toBe(true);
    expect(new Date(bob.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(new Date(bob.validFrom).getTime()).toBeLessThan(notAfter.getTime());
  });

  it('makes a new CA outlive a --not-after beyond --days', async () => {
    const out = join(dir, 'long');
    const notAfter = new Date(Date.now() + 800 * 86_400_000);
    await createCertificates({ ...base, outDir: out, nodes: ['node1'], days: 30, notAfter });
    const ca = new X509Certificate(await readFile(join(out, 'ca.pem')));
    expect(new Date(ca.validTo).getTime()).toBeGreaterThanOrEqual(notAfter.getTime());
    expect(new Date((await describeCertificate(join(out, 'node1.pem'))).validTo).toISOString().slice(0, 16)).toBe(
      notAfter.toISOString().slice(0, 16),
    );
  });

  it.each([
    [{ nodes: ['ca'] }, /reserved/],
    [{ nodes: ['node1'], clients: ['node1'] }, /given twice/],
    [{ clients: ['bad name'] }, /certificate name/],
    [{}, /at least one/],
    [{ nodes: ['n1'], days: 0 }, /--days/],
    [{ nodes: ['n1'], sans: ['a b'] }, /--san/],
    [{ nodes: ['n1'], notAfter: new Date('nonsense') }, /--not-after/],
    [{ nodes: ['n1'], caDir: '/nonexistent-ca-dir' }, /holds no/],
  ])('refuses %o and writes nothing', async (bad, message) => {
    const out = join(dir, 'refused');
    await expect(createCertificates({ ...base, outDir: out, ...bad })).rejects.toThrow(message);
    await expect(createCertificates({ ...base, outDir: out, ...bad })).rejects.toBeInstanceOf(CertificateRequestError);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
  });

  it('refuses to overwrite an existing file, leaving it as it was', async () => {
    const out = join(dir, 'pki');
    await createCertificates({ ...base, outDir: out, nodes: ['node1'] });
    const before = await readFile(join(out, 'node1.pem'), 'utf8');
    await expect(createCertificates({ ...base, outDir: out, caDir: out, nodes: ['node1', 'node2'] })).rejects.toThrow(
      /exists already/,
    );
    expect(await readFile(join(out, 'node1.pem'), 'utf8')).toBe(before);
    expect(await readdir(out)).not.toContain('node2.pem');
  });
});
