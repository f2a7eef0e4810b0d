import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { type Middleware, withMiddleware, wrapTransport } from '../../../src/index.js';
import { cache } from '../../../src/middleware/cache/index.js';
import type { Counts } from '../../helpers/servers.js';
import { createCountingServerV2, MODERN_AND_LEGACY_VERSIONS } from '../../helpers/servers-v2.js';

/** SDK v2 on both ends, negotiating 2026-07-28; the server declares cache hints. */
async function modernPair(options: { server?: Middleware[]; client?: Middleware[] }) {
  const counts: Counts = {};
  const seen: string[] = [];
  const eras: string[] = [];
  const spy: Middleware = async function spy(ctx, next) {
    seen.push(ctx.method);
    eras.push(String(ctx.session.era));
    return next();
  };
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(
    () =>
      createCountingServerV2({
        counts,
        serverOptions: {
          supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS,
          cacheHints: { 'tools/list': { ttlMs: 30_000, cacheScope: 'public' } },
        },
      }).server,
    { transport: wrapTransport(serverSide, [...(options.server ?? []), spy], { side: 'server' }) },
  );
  const client = new Client(
    { name: 'modern-client', version: '2.0.0' },
    { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS, versionNegotiation: { mode: 'auto' } },
  );
  if (options.client) withMiddleware(client, options.client);
  await client.connect(clientSide);
  return {
    client,
    counts,
    seen,
    eras,
    async close() {
      await client.close();
      await handle.close();
    },
  };
}

describe('cache in the modern era, SDK v2 on both ends', () => {
  it('server side: honours the server cache hints; a resource without ttlMs is not cached', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await modernPair({ server: [c] });
    try {
      for (let i = 0; i < 2; i++) {
        await pair.client.listTools(undefined, { cacheMode: 'bypass' });
        await pair.client.readResource({ uri: 'file:///readme.txt' }, { cacheMode: 'bypass' });
        await pair.client.callTool({ name: 'echo', arguments: { text: 'm' } });
      }
      assert.ok(
        pair.eras.every((e) => e === 'modern'),
        pair.eras.join(),
      );
      assert.equal(pair.seen.filter((m) => m === 'tools/list').length, 1, 'tools/list carried ttlMs 30 s');
      assert.equal(pair.counts['resource:readme'], 2, 'resources/read carried ttlMs 0');
      assert.equal(pair.counts.echo, 1);
    } finally {
      await pair.close();
    }
  });

  it('client side: a hit is a valid modern result for the v2 client', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await modernPair({ client: [c] });
    try {
      const a = await pair.client.callTool({ name: 'echo', arguments: { text: 'm' } });
      const b = await pair.client.callTool({ name: 'echo', arguments: { text: 'm' } });
      assert.deepEqual(b, a, 'the hit, answered before the request funnel, decodes as the response did');
      assert.notEqual(b, a);
      assert.equal(pair.counts.echo, 1);
      assert.equal(pair.seen.filter((m) => m === 'tools/call').length, 1);
      await pair.client.listTools(undefined, { cacheMode: 'bypass' });
      await pair.client.listTools(undefined, { cacheMode: 'bypass' });
      assert.equal(pair.seen.filter((m) => m === 'tools/list').length, 1);
      assert.equal(c.stats().hits, 2);
    } finally {
      await pair.close();
    }
  });
});
