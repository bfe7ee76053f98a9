// Secrets never reach an inspected or serialized SDK object (docs/design.md, principle 8): the session secret that
// `console.log(lock)` used to print, checked against the secret the cluster holds for the session; and the password
// and token of `auth` (test/integration/client-auth.test.ts checks them with auth enabled too).
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/client/admin.js';
import { type Client, connect } from '../../src/client/client.js';
import type { Lock } from '../../src/client/lock.js';
import { addressOf, openSession, startCluster, type TestCluster } from './server-harness.js';

let cluster: TestCluster;
let client: Client;
let lock: Lock;

beforeAll(async () => {
  cluster = await startCluster(1);
  client = await connect({ endpoints: [addressOf(await cluster.leader())], name: 'vault-test' });
  lock = await client.acquire('vault/a', { fenced: true });
}, 30_000);

afterAll(async () => {
  await client?.close();
  await cluster?.close();
});

/** Every word in `text` that the cluster accepts as the secret of session `sessionId` (the client's by default). */
async function secretsIn(text: string, sessionId = client.session.id): Promise<string[]> {
  const leader = await cluster.leader();
  const candidates = new Set(text.match(/[A-Za-z0-9_-]{16,}/g) ?? []);
  return [...candidates].filter((candidate) => leader.machine.verifySecret(sessionId, candidate));
}

describe('the session secret stays out of what an SDK object shows', () => {
  it('finds a secret when one is there (the check can fail)', async () => {
    const { stream, opened } = await openSession(addressOf(await cluster.leader()));
    try {
      const shown = inspect({ sessionId: opened.sessionId, secret: opened.secret });
      expect(await secretsIn(shown, opened.sessionId)).toEqual([opened.secret]);
      expect(await secretsIn(`only the id ${opened.sessionId}`, opened.sessionId)).toEqual([]);
    } finally {
      stream.end();
    }
  });

  it.each([
    ['util.inspect(lock)', () => inspect(lock, { depth: Number.POSITIVE_INFINITY, showHidden: true })],
    ['util.inspect(client)', () => inspect(client, { depth: Number.POSITIVE_INFINITY, showHidden: true })],
    ['util.inspect(client.session)', () => inspect(client.session, { depth: Number.POSITIVE_INFINITY })],
    // Past the custom views, every field reachable from the lock: the secret lives in an ES private field.
    [
      'util.inspect(lock) without custom views',
      () => inspect(lock, { depth: Number.POSITIVE_INFINITY, showHidden: true, customInspect: false }),
    ],
    ['JSON.stringify(lock)', () => JSON.stringify(lock)],
    ['JSON.stringify(client)', () => JSON.stringify(client)],
    ['JSON.stringify(client.session)', () => JSON.stringify(client.session)],
  ])('%s names no secret', async (_what, show) => {
    const text = show();
    expect(text).not.toMatch(/secret: /i);
    expect(await secretsIn(text)).toEqual([]);
  });

  it('console.log(lock) shows the grant', () => {
    expect(inspect(lock)).toBe(
      `Lock { name: "vault/a", mode: 'exclusive', token: ${lock.token}n, fenced: true, held: true }`,
    );
    expect(JSON.parse(JSON.stringify(lock))).toMatchObject({
      name: 'vault/a',
      token: lock.token.toString(),
      held: true,
    });
  });
});

describe('the password and token of auth stay out of what an SDK object shows', () => {
  const PASSWORD = 'vault-password-5e1d';
  const TOKEN = 'fl1.vault-token-body.vault-token-mac';

  it.each([
    ['util.inspect', (value: unknown) => inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })],
    [
      'util.inspect without custom views',
      (value: unknown) => inspect(value, { depth: 6, showHidden: true, customInspect: false }),
    ],
    ['JSON.stringify', (value: unknown) => JSON.stringify(value)],
  ])('%s of a client and admin clients given them', async (_how, show) => {
    // Auth is disabled on this cluster: a client given a user and password connects and carries no token.
    const withPassword = await connect({
      endpoints: [addressOf(await cluster.leader())],
      auth: { user: 'vault', password: PASSWORD },
    });
    const withToken = new AdminClient({ endpoints: [addressOf(await cluster.leader())], auth: { token: TOKEN } });
    try {
      for (const value of [withPassword, withPassword.admin(), withToken]) {
        const text = show(value);
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(TOKEN);
      }
    } finally {
      withToken.close();
      await withPassword.close();
    }
  });
});
