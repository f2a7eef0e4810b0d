import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { type CacheMiddleware, cache, withCache } from '../../../src/middleware/cache/index.js';
import { listenOnLoopback } from '../../helpers/http.js';
import { createCountingServer } from '../../helpers/servers.js';
import { fakeClock, manualGate, textOf, until } from './helpers.js';

/** A stateful Streamable HTTP server on 127.0.0.1 around the counting server, and a v1 client with a cache. */
async function httpPair(c: CacheMiddleware, gate?: () => Promise<void>) {
  const { server, counts } = createCountingServer(gate ? { gate } : {});
  const posts: string[] = [];
  let transport: StreamableHTTPServerTransport | undefined;
  const endpoint = await listenOnLoopback(async (req, res, body) => {
    if (req.method === 'POST') {
      const messages = Array.isArray(body) ? body : [body];
      for (const m of messages as { method?: string }[]) if (m?.method) posts.push(m.method);
    }
    if (transport === undefined) {
      transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() });
      await server.connect(transport);
    }
    await transport.handleRequest(req, res, body);
  });
  const url = endpoint.url;
  const client = new Client({ name: 'http-client', version: '1.0.0' });
  withCache(client, c);
  await client.connect(new StreamableHTTPClientTransport(url));
  return {
    server,
    client,
    counts,
    posts,
    async close() {
      await client.close();
      await server.close();
      await endpoint.close();
    },
  };
}

describe('cache on the client side over Streamable HTTP', () => {
  it('a hit never leaves the process', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await httpPair(c);
    try {
      await pair.client.listTools();
      await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
      const postsBefore = pair.posts.length;
      for (let i = 0; i < 3; i++) {
        await pair.client.listTools();
        assert.equal(textOf(await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } })), 'a');
      }
      assert.equal(pair.posts.length, postsBefore, 'no HTTP request for a hit');
      assert.equal(pair.counts.echo, 1);
      assert.deepEqual([c.stats().hits, c.stats().misses], [6, 2]);
    } finally {
      await pair.close();
    }
  });

  it('tools/list_changed arriving from the server drops the cached list before the client sees it', async () => {
    const c = cache();
    const pair = await httpPair(c);
    try {
      await pair.client.listTools();
      const changed = new Promise<void>((resolve) => {
        pair.client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve());
      });
      await until(() => pair.posts.length > 0 && c.stats().entries === 1, 'the list to be cached');
      pair.server.registerTool('late', { description: 'added later' }, async () => ({ content: [] }));
      await changed;
      assert.equal(c.stats().entries, 0);
      const { tools } = await pair.client.listTools();
      assert.ok(tools.some((t) => t.name === 'late'));
    } finally {
      await pair.close();
    }
  });

  it('coalesces identical calls and relays progress to each caller', async () => {
    const g = manualGate();
    const c = cache({ tools: { include: ['gate'] } });
    const pair = await httpPair(c, g.gate);
    try {
      const call = () => pair.client.callTool({ name: 'gate', arguments: { label: 'h' } });
      const first = call();
      await g.waitForArrival();
      const rest = [call(), call()];
      await until(() => c.stats().coalesced === 2, 'two callers to join');
      g.open();
      for (const r of await Promise.all([first, ...rest])) assert.equal(textOf(r), 'opened h');
      assert.equal(pair.counts.gate, 1);
      assert.equal(pair.posts.filter((m) => m === 'tools/call').length, 1);
    } finally {
      await pair.close();
    }
  });

  it('refreshes a stale entry in the background under its own request id', async () => {
    const clock = fakeClock();
    const c = cache({ clock: clock.now, tools: { include: ['echo'], ttlMs: 1_000, staleMs: 5_000 } });
    const pair = await httpPair(c);
    try {
      await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
      clock.advance(2_000);
      assert.equal(textOf(await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } })), 'a');
      await until(() => c.stats().stored === 2, 'the background refresh to be stored');
      assert.equal(pair.counts.echo, 2);
      await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
      assert.equal(pair.counts.echo, 2);
      assert.deepEqual([c.stats().stale, c.stats().refreshes, c.stats().hits], [1, 1, 1]);
    } finally {
      await pair.close();
    }
  });
});
