import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  InMemoryTransport as InMemoryTransportV2,
  McpServer as McpServerV2,
} from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { compressHandler } from '../../../src/http/index.js';
import {
  type CacheMiddleware,
  CONDITIONAL_CAPABILITY,
  cache,
  metrics,
  notModified,
  withMiddleware,
  withNotModified,
  wrapTransport,
} from '../../../src/index.js';
import { listenOnLoopback } from '../../helpers/http.js';
import { MODERN_AND_LEGACY_VERSIONS } from '../../helpers/servers-v2.js';
import { fakeClock } from '../cache/helpers.js';

/** What the server's `doc` tool answers, and what the handler was asked. */
function docSource(size = 200) {
  return {
    body: 'x'.repeat(size),
    runs: 0,
    /** `_meta` keys the tool handler received, per call. */
    metaKeys: [] as string[][],
  };
}
type Source = ReturnType<typeof docSource>;

function v1Server(source: Source): McpServer {
  const server = new McpServer({ name: 'doc-server', version: '1.0.0' });
  server.registerTool('doc', { inputSchema: { id: z.string() } }, async ({ id }, extra) => {
    source.runs++;
    source.metaKeys.push(Object.keys(extra._meta ?? {}));
    return { content: [{ type: 'text', text: `${id}:${source.body}` }] };
  });
  return server;
}

function v2Server(source: Source): McpServerV2 {
  const server = new McpServerV2(
    { name: 'doc-server-v2', version: '2.0.0' },
    { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS },
  );
  server.registerTool('doc', { inputSchema: z.object({ id: z.string() }) }, async ({ id }, ctx) => {
    source.runs++;
    source.metaKeys.push(Object.keys(ctx.mcpReq._meta ?? {}));
    return { content: [{ type: 'text', text: `${id}:${source.body}` }] };
  });
  return server;
}

function textOf(result: unknown): string {
  return ((result as { content: { text: string }[] }).content[0] as { text: string }).text;
}

const clientCache = (clock: ReturnType<typeof fakeClock>, staleMs = 0): CacheMiddleware =>
  cache({ conditional: true, clock: clock.now, tools: { include: ['doc'], ttlMs: 1_000, staleMs } });

/** SDK v1 in memory: a client with `client` layers, a server with `server` layers. */
async function v1Pair(source: Source, layers: { client?: CacheMiddleware; server?: boolean }) {
  const server = v1Server(source);
  const nm = notModified();
  if (layers.server) withMiddleware(server, [nm]);
  const client = new Client({ name: 'doc-client', version: '1.0.0' });
  if (layers.client) withMiddleware(client, [layers.client]);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  await client.connect(a);
  return {
    client,
    nm,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

describe('conditional answers (cache conditional: true + notModified)', () => {
  it('hit, miss, and a changed result after a not-modified (SDK v1, legacy era)', async () => {
    const source = docSource();
    const clock = fakeClock();
    const c = clientCache(clock);
    const pair = await v1Pair(source, { client: c, server: true });
    try {
      const call = () => pair.client.callTool({ name: 'doc', arguments: { id: 'a' } });
      const first = await call();
      clock.advance(2_000);
      const second = await call();
      assert.deepEqual(second, first, 'restored from the copy');
      assert.equal(source.runs, 2, 'the server still ran the tool');
      assert.deepEqual(source.metaKeys, [[], []], 'the handler never saw the conditional key');
      assert.deepEqual([c.stats().revalidations, c.stats().notModified], [1, 1]);
      assert.equal(pair.nm.stats().notModified, 1);
      assert.ok(pair.nm.stats().bytesSaved > 200);

      source.body = 'y'.repeat(200);
      clock.advance(2_000);
      assert.equal(textOf(await call()), `a:${'y'.repeat(200)}`, 'a changed result comes in full');
      assert.deepEqual([c.stats().revalidations, c.stats().notModified], [2, 1]);
      assert.equal(pair.nm.stats().modified, 1);

      clock.advance(2_000);
      assert.equal(textOf(await call()), `a:${'y'.repeat(200)}`, 'the new copy is the one revalidated');
      assert.deepEqual([c.stats().revalidations, c.stats().notModified], [3, 2]);
      assert.equal(textOf(await call()), `a:${'y'.repeat(200)}`, 'and fresh again: a hit');
      assert.equal(source.runs, 4);
    } finally {
      await pair.close();
    }
  });

  it('a stale-while-revalidate refresh asks conditionally too', async () => {
    const source = docSource();
    const clock = fakeClock();
    const c = clientCache(clock, 5_000);
    const pair = await v1Pair(source, { client: c, server: true });
    try {
      await pair.client.callTool({ name: 'doc', arguments: { id: 'a' } });
      clock.advance(1_500);
      await pair.client.callTool({ name: 'doc', arguments: { id: 'a' } });
      for (let i = 0; i < 50 && c.stats().stored < 2; i++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        [c.stats().stale, c.stats().refreshes, c.stats().notModified, c.stats().stored],
        [1, 1, 1, 2],
      );
      assert.equal(
        textOf(await pair.client.callTool({ name: 'doc', arguments: { id: 'a' } })),
        `a:${source.body}`,
      );
      assert.equal(c.stats().hits, 1, 'the renewed copy is fresh');
    } finally {
      await pair.close();
    }
  });

  it('a plain SDK server: no offer accepted, nothing but ordinary requests', async () => {
    const source = docSource();
    const clock = fakeClock();
    const c = clientCache(clock);
    const pair = await v1Pair(source, { client: c, server: false });
    try {
      await pair.client.callTool({ name: 'doc', arguments: { id: 'a' } });
      clock.advance(2_000);
      assert.equal(
        textOf(await pair.client.callTool({ name: 'doc', arguments: { id: 'a' } })),
        `a:${source.body}`,
      );
      assert.deepEqual(source.metaKeys, [[], []]);
      assert.deepEqual([c.stats().revalidations, c.stats().notModified, c.stats().misses], [0, 0, 2]);
    } finally {
      await pair.close();
    }
  });

  it('a plain SDK client: no acceptance in its handshake, full answers', async () => {
    const source = docSource();
    const pair = await v1Pair(source, { server: true });
    try {
      assert.equal(pair.client.getServerCapabilities()?.experimental, undefined);
      // Even a request that carries the key by itself gets the full result when its hash is stale.
      const result = await pair.client.callTool({
        name: 'doc',
        arguments: { id: 'a' },
        _meta: { [CONDITIONAL_CAPABILITY]: { ifNoneMatch: 'not-the-hash' } },
      });
      assert.equal(textOf(result), `a:${source.body}`);
      assert.deepEqual(source.metaKeys, [[]]);
      assert.deepEqual([pair.nm.stats().agreed, pair.nm.stats().asked, pair.nm.stats().modified], [0, 1, 1]);
    } finally {
      await pair.close();
    }
  });

  it('the acceptance never reaches the SDK client', async () => {
    const source = docSource();
    const pair = await v1Pair(source, { client: clientCache(fakeClock()), server: true });
    try {
      assert.equal(pair.nm.stats().agreed, 1);
      const experimental = pair.client.getServerCapabilities()?.experimental ?? {};
      assert.equal(CONDITIONAL_CAPABILITY in experimental, false);
    } finally {
      await pair.close();
    }
  });

  it('SDK v2 on both ends, modern era (server/discover carries the agreement)', async () => {
    const source = docSource();
    const clock = fakeClock();
    const c = clientCache(clock);
    const nm = notModified();
    const eras: string[] = [];
    const [clientSide, serverSide] = InMemoryTransportV2.createLinkedPair();
    const handle = serveStdio(() => v2Server(source), {
      transport: wrapTransport(
        serverSide,
        [
          nm,
          async function era(ctx, next) {
            eras.push(String(ctx.session.era));
            return next();
          },
        ],
        { side: 'server' },
      ),
    });
    const client = new ClientV2(
      { name: 'doc-client-v2', version: '2.0.0' },
      { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS, versionNegotiation: { mode: 'auto' } },
    );
    withMiddleware(client, [c]);
    await client.connect(clientSide);
    try {
      const first = await client.callTool({ name: 'doc', arguments: { id: 'm' } });
      clock.advance(2_000);
      const second = await client.callTool({ name: 'doc', arguments: { id: 'm' } });
      assert.deepEqual(second, first);
      assert.ok(eras.includes('modern'), eras.join());
      assert.deepEqual([c.stats().revalidations, c.stats().notModified, nm.stats().notModified], [1, 1, 1]);
      assert.ok(source.metaKeys.every((keys) => !keys.includes(CONDITIONAL_CAPABILITY)));
    } finally {
      await client.close();
      await handle.close();
    }
  });

  it('SDK v2 client, legacy era, against an SDK v1 server', async () => {
    const source = docSource();
    const clock = fakeClock();
    const c = clientCache(clock);
    const server = v1Server(source);
    const nm = withNotModified(server);
    assert.equal(nm, server);
    const client = new ClientV2({ name: 'doc-client-v2', version: '2.0.0' });
    withMiddleware(client, [c]);
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(b);
    await client.connect(a as never);
    try {
      const first = await client.callTool({ name: 'doc', arguments: { id: 'l' } });
      clock.advance(2_000);
      assert.deepEqual(await client.callTool({ name: 'doc', arguments: { id: 'l' } }), first);
      assert.deepEqual([c.stats().revalidations, c.stats().notModified], [1, 1]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('over Streamable HTTP: the revalidation answer is a few bytes; figures reach metrics()', async () => {
    const source = docSource(20_000);
    const clock = fakeClock();
    const c = clientCache(clock);
    const nm = notModified();
    const server = v1Server(source);
    withMiddleware(server, [nm]);
    let transport: StreamableHTTPServerTransport | undefined;
    const handle = compressHandler(async (req, res, body) => {
      if (transport === undefined) {
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: true,
        });
        await server.connect(transport);
      }
      await transport.handleRequest(req, res, body);
    });
    const endpoint = await listenOnLoopback((req, res, body) => handle(req, res, body));
    const sizes: number[] = [];
    const measuring = async (url: string | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('accept-encoding', 'identity');
      const response = await fetch(url, { ...init, headers });
      if (init?.method === 'POST' && response.status === 200)
        sizes.push((await response.clone().arrayBuffer()).byteLength);
      return response;
    };
    const m = metrics({ sources: [nm, c, handle] });
    const client = new Client({ name: 'http-client', version: '1.0.0' });
    withMiddleware(client, [c]);
    await client.connect(
      new StreamableHTTPClientTransport(endpoint.url, { fetch: measuring as typeof fetch }),
    );
    try {
      const first = await client.callTool({ name: 'doc', arguments: { id: 'h' } });
      const full = sizes.at(-1) ?? 0;
      clock.advance(2_000);
      assert.deepEqual(await client.callTool({ name: 'doc', arguments: { id: 'h' } }), first);
      const tiny = sizes.at(-1) ?? 0;
      assert.ok(full > 20_000, `full answer ${full} bytes`);
      assert.ok(tiny < 200, `not-modified answer ${tiny} bytes`);
      const sources = m.snapshot().sources;
      assert.equal(sources.notModified?.notModified, 1);
      assert.equal(sources.cache?.notModified, 1);
      assert.equal(sources.cache?.revalidations, 1);
      assert.equal(typeof sources.httpEncoding?.['requests.count'], 'number');
    } finally {
      await client.close();
      await server.close();
      await endpoint.close();
    }
  });

  it('validates its options, naming the option', () => {
    assert.throws(() => notModified({ enabled: 'yes' as never }), /notModified: options\.enabled/);
    assert.throws(() => notModified({ bogus: 1 } as never), /bogus/);
    assert.throws(() => cache({ conditional: 1 as never }), /cache: options\.conditional/);
    assert.throws(() => cache({ conditionalKeepMs: -1 }), /cache: options\.conditionalKeepMs/);
  });
});
