// forelock serve's security settings: plaintext only on loopback unless --insecure, TLS files all or none.
import { describe, expect, it } from 'vitest';
import { configFileLayer, isLoopbackHost, resolveServerConfig } from '../../src/server/config.js';

const resolve = (input: Record<string, unknown>) => resolveServerConfig(configFileLayer(input, 'node.json'));
const tlsFiles = { tlsCert: 'n.pem', tlsKey: 'n-key.pem', tlsCa: 'ca.pem' };

describe('serve settings for security', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['10.0.0.1', false],
    ['node1.example', false],
    ['::', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('serves plaintext on loopback with no settings (npm start stays zero-configuration)', () => {
    const config = resolve({});
    expect(config.tls).toBeNull();
    expect(config.insecure).toBe(false);
    expect(config.clusterToken).toBe('');
  });

  it.each([
    [{ listen: '0.0.0.0:7400' }, '0.0.0.0:7400'],
    [{ http: '10.0.0.1:7480' }, '10.0.0.1:7480'],
    [{ listen: '10.0.0.1:7400', http: '0.0.0.0:7480' }, '10.0.0.1:7400 and 0.0.0.0:7480'],
  ])('refuses plaintext beyond loopback: %o', (input, named) => {
    expect(() => resolve(input)).toThrow(
      `refusing to serve plaintext on ${named}: give --tls-cert, --tls-key and --tls-ca`,
    );
  });

  it('serves beyond loopback with TLS, or with --insecure', () => {
    expect(resolve({ listen: '0.0.0.0:7400', ...tlsFiles }).tls).toEqual({
      certFile: 'n.pem',
      keyFile: 'n-key.pem',
      caFile: 'ca.pem',
    });
    expect(resolve({ listen: '0.0.0.0:7400', insecure: true }).insecure).toBe(true);
  });

  it.each([{ tlsCert: 'n.pem' }, { tlsCert: 'n.pem', tlsKey: 'k.pem' }, { tlsCa: 'ca.pem' }])(
    'refuses some TLS files without the others: %o',
    (input) => {
      expect(() => resolve(input)).toThrow('TLS needs all three of --tls-cert, --tls-key and --tls-ca');
    },
  );

  it('takes the cluster token', () => {
    expect(resolve({ clusterToken: 'alpha' }).clusterToken).toBe('alpha');
    expect(() => resolve({ clusterToken: '' })).toThrow(/clusterToken/);
  });
});
