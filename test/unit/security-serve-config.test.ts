// forelock serve's security settings: plaintext only on loopback unless --insecure, TLS files all or none, the login
// token's lifetime within its bounds, /metrics behind auth on request.
import { describe, expect, it } from 'vitest';
import { AUTH_TOKEN_TTL_MS } from '../../src/auth/tokens.js';
import {
  configFileLayer,
  environmentLayer,
  flagsLayer,
  isLoopbackHost,
  resolveServerConfig,
} from '../../src/server/config.js';

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

  it('gives login tokens 10 minutes and leaves /metrics open by default', () => {
    const config = resolve({});
    expect(config.authTokenTtlMs).toBe(AUTH_TOKEN_TTL_MS);
    expect(AUTH_TOKEN_TTL_MS).toBe(600_000);
    expect(config.metricsAuth).toBe(false);
  });

  it('takes the token lifetime and metricsAuth from the file, FORELOCK_SERVE_* and flags', () => {
    expect(resolve({ authTokenTtl: '30s', metricsAuth: true })).toMatchObject({
      authTokenTtlMs: 30_000,
      metricsAuth: true,
    });
    expect(resolve({ authTokenTtl: 86_400_000 }).authTokenTtlMs).toBe(86_400_000);
    const fromEnv = resolveServerConfig(
      environmentLayer({ FORELOCK_SERVE_AUTH_TOKEN_TTL: '2h', FORELOCK_SERVE_METRICS_AUTH: 'true' }),
    );
    expect(fromEnv).toMatchObject({ authTokenTtlMs: 7_200_000, metricsAuth: true });
    const fromFlags = resolveServerConfig(
      environmentLayer({ FORELOCK_SERVE_AUTH_TOKEN_TTL: '2h' }),
      flagsLayer({ authTokenTtl: '5s', metricsAuth: true }),
    );
    expect(fromFlags).toMatchObject({ authTokenTtlMs: 5_000, metricsAuth: true });
  });

  it.each([
    ['4s', 'node.json: authTokenTtl must be from 5s to 24h, got 4s'],
    ['25h', 'node.json: authTokenTtl must be from 5s to 24h, got 1500m'],
    ['soon', 'node.json: authTokenTtl must be a number with a unit'],
    [0, 'node.json: authTokenTtl must be from 5s to 24h, got 0ms'],
  ])('refuses a token lifetime of %o, naming the bounds', (authTokenTtl, message) => {
    expect(() => resolve({ authTokenTtl })).toThrow(message);
  });

  it('names the flag when --auth-token-ttl is out of bounds', () => {
    expect(() => resolveServerConfig(flagsLayer({ authTokenTtl: '1s' }))).toThrow(
      '--auth-token-ttl must be from 5s to 24h, got 1s',
    );
  });
});
