// Listing at any size (issue 13): ListLocks pages (the SDK's AdminClient and `forelock locks --json`) and GET
// /v1/locks (?limit, ?after, or the whole list written a page at a time) serve every lock once, in name order.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { toJson } from '../../src/cli/client-options.js';
import { locksJson, writeLocksJsonArray } from '../../src/cli/commands/locks.js';
import { AdminClient } from '../../src/client/admin.js';
import { connect } from '../../src/client/client.js';
import { waitFor } from '../support/wait-for.js';
import { addressOf, startTestNode, tempDir } from './server-harness.js';

const LOCKS = 2_345;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a node holding 2,345 locks', () => {
  it('pages through them complete and in order over gRPC and HTTP', async () => {
    const dir = await tempDir('forelock-pages-');
    cleanups.push(dir.remove);
    const node = await startTestNode(dir.path);
    cleanups.push(() => node.close());
    await waitFor('the node to lead', () => node.services.duties.active, 30_000);
    const client = await connect({ endpoints: [addressOf(node)] });
    cleanups.push(() => client.close());
    await Promise.all(Array.from({ length: LOCKS }, (_, i) => client.acquire(`job/${i}`, { waitMs: 0 })));
    const expected = Array.from({ length: LOCKS }, (_, i) => `job/${i}`).sort();

    const admin = new AdminClient({ endpoints: [addressOf(node)] });
    cleanups.push(() => admin.close());
    const pages: string[][] = [];
    for await (const page of admin.lockPages({ limit: 1_000 })) pages.push(page.locks.map((lock) => lock.name));
    expect(pages.map((page) => page.length)).toEqual([1_000, 1_000, 345]);
    expect(pages.flat()).toEqual(expected);
    const second = await admin.listLockPage({ limit: 1_000, after: pages[0]!.at(-1)! });
    expect(second.nextAfter).toBe(pages[1]!.at(-1));
    expect((await admin.listLocks('job/1', 100)).map((lock) => lock.name)).toEqual(
      expected.filter((name) => name.startsWith('job/1')),
    );
    await expect(admin.listLockPage({ limit: -1 })).rejects.toThrow(/limit must be an integer/);

    // forelock locks --json: the whole list as one array, written a page at a time, the same text as before paging.
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk) => {
      text += String(chunk);
    });
    await writeLocksJsonArray(admin.lockPages({ limit: 1_000 }), out);
    expect(text).toBe(`${toJson(locksJson(await admin.listLocks()))}\n`);

    const http = `http://127.0.0.1:${node.httpAddress.port}/v1/locks`;
    const whole = (await (await fetch(http)).json()) as { name: string }[];
    expect(whole.map((lock) => lock.name)).toEqual(expected);
    const served: string[] = [];
    let after = '';
    for (;;) {
      const response = await fetch(`${http}?limit=700&after=${encodeURIComponent(after)}`);
      const page = (await response.json()) as { locks: { name: string }[]; nextAfter: string | null };
      served.push(...page.locks.map((lock) => lock.name));
      if (page.nextAfter === null) break;
      after = page.nextAfter;
    }
    expect(served).toEqual(expected);
    const refused = await fetch(`${http}?limit=0`);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'limit must be an integer from 1 to 100000, got "0"' });
  }, 120_000);
});
