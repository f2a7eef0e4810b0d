import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { type Middleware, withMiddleware, wrapTransport } from '../../src/index.js';
import type { Counts } from '../helpers/servers.js';
import { connectPairV2, createCountingServerV2, MODERN_AND_LEGACY_VERSIONS } from '../helpers/servers-v2.js';
import {
  eraSpy,
  LOCAL_TEXT,
  RecordingTransport,
  runScenario,
  scenarioStack,
  textOf,
} from '../helpers/stacks.js';

const MODERN = '2026-07-28';

/**
 * A v2 server served by `serveStdio` over an in-memory transport (the entry that speaks
 * the modern era on a non-HTTP transport), and a v2 client that negotiates the era.
 */
async function modernPair(options: { server?: Middleware[]; client?: Middleware[] }) {
  const counts: Counts = {};
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(
    () =>
      createCountingServerV2({
        counts,
        serverOptions: { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS },
      }).server,
    {
      transport: options.server ? wrapTransport(serverSide, options.server, { side: 'server' }) : serverSide,
    },
  );
  const wire = new RecordingTransport(clientSide);
  const client = new Client(
    { name: 'modern-client', version: '2.0.0' },
    { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS, versionNegotiation: { mode: 'auto' } },
  );
  if (options.client) withMiddleware(client, options.client);
  await client.connect(wire);
  return {
    client,
    counts,
    wire,
    async close() {
      await client.close();
      await handle.close();
    },
  };
}

/** Answers a `tools/list` page with cursor `local` itself, without any cache fields. */
const localListPage: Middleware = async function localListPage(ctx, next) {
  if (ctx.method === 'tools/list' && ctx.params?.cursor === 'local') return { result: { tools: [] } };
  return next();
};

describe('SDK v2, legacy era', () => {
  it('in-memory: runs a stack on the server side', async () => {
    const log: string[] = [];
    const pair = await connectPairV2({ server: scenarioStack(log) });
    try {
      await runScenario({
        client: pair.client,
        readCounts: async () => pair.counts,
        readLog: async () => log,
        sdk: 'v2',
      });
    } finally {
      await pair.close();
    }
  });

  it('in-memory: runs a stack on the client side', async () => {
    const log: string[] = [];
    const pair = await connectPairV2({ client: scenarioStack(log) });
    try {
      await runScenario({
        client: pair.client,
        readCounts: async () => pair.counts,
        readLog: async () => log,
        sdk: 'v2',
      });
    } finally {
      await pair.close();
    }
  });
});

describe('SDK v2, modern era (2026-07-28)', () => {
  it('server side: the session is modern, server/discover passes through, local answers are completed', async () => {
    const log: string[] = [];
    const eras: string[] = [];
    const discovered: unknown[] = [];
    const discoverSpy: Middleware = async function discoverSpy(ctx, next) {
      const reply = await next();
      if (ctx.method === 'server/discover') discovered.push(reply.result);
      return reply;
    };
    const pair = await modernPair({
      server: [eraSpy(eras), discoverSpy, localListPage, ...scenarioStack(log)],
    });
    try {
      await runScenario({
        client: pair.client,
        readCounts: async () => pair.counts,
        readLog: async () => log,
        sdk: 'v2',
      });
      assert.ok(eras.length > 0);
      for (const seen of eras) assert.match(seen, /:modern$/);
      assert.equal(eras[0], 'server/discover:modern');
      assert.ok(!eras.some((e) => e.startsWith('initialize')), 'no initialize in the modern era');

      // server/discover went to the server and its answer came back untouched.
      assert.equal(discovered.length, 1);
      const probe = pair.wire.sent[0]?.message as { id?: unknown; method?: string } | undefined;
      assert.equal(probe?.method, 'server/discover');
      const probeId = probe?.id;
      const onWire = pair.wire.received.find((m) => 'id' in m && (m as { id?: unknown }).id === probeId);
      assert.deepEqual((onWire as { result?: unknown }).result, discovered[0]);
      assert.deepEqual((discovered[0] as { supportedVersions: string[] }).supportedVersions, [MODERN]);

      // The local tools/call answer was completed with resultType on its way out.
      const localResponse = pair.wire.received.find(
        (m) => 'result' in m && textOf(m.result) === LOCAL_TEXT,
      ) as { result: Record<string, unknown> };
      assert.equal(localResponse.result.resultType, 'complete');

      // A local tools/list page: resultType, ttlMs and cacheScope added, and the client accepts it.
      const page = await pair.client.listTools({ cursor: 'local' });
      assert.deepEqual(page.tools, []);
      const pageResponse = pair.wire.received.at(-1) as { result: Record<string, unknown> };
      assert.deepEqual(pageResponse.result, {
        tools: [],
        resultType: 'complete',
        ttlMs: 0,
        cacheScope: 'private',
      });
    } finally {
      await pair.close();
    }
  });

  it('client side: the session is modern and a local answer is accepted by the v2 client', async () => {
    const log: string[] = [];
    const eras: string[] = [];
    const pair = await modernPair({ client: [eraSpy(eras), localListPage, ...scenarioStack(log)] });
    try {
      await runScenario({
        client: pair.client,
        readCounts: async () => pair.counts,
        readLog: async () => log,
        sdk: 'v2',
      });
      assert.equal(eras[0], 'server/discover:modern');
      for (const seen of eras) assert.match(seen, /:modern$/);
      const page = await pair.client.listTools({ cursor: 'local' });
      assert.deepEqual(page.tools, []);
      assert.equal((page as { ttlMs?: number }).ttlMs, 0);
      assert.equal((page as { cacheScope?: string }).cacheScope, 'private');
      assert.ok(!pair.wire.sent.some((s) => 'method' in s.message && s.message.method === 'initialize'));
    } finally {
      await pair.close();
    }
  });
});

describe('SDK v2, era negotiation falling back to legacy', () => {
  it('sees initialize as legacy once the server/discover probe has failed', async () => {
    const eras: string[] = [];
    // A legacy-only server answers the probe with -32601; the client then runs initialize.
    const pair = await connectPairV2({
      server: [eraSpy(eras)],
      clientOptions: {
        supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS,
        versionNegotiation: { mode: 'auto' },
      },
    });
    try {
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      // The probe itself is a modern request; the handshake that follows is not. A session
      // left at 2026-07-28 during initialize would make a middleware treat the handshake
      // (and anything it synthesizes for it) as modern.
      assert.deepEqual(eras, ['server/discover:modern', 'initialize:legacy', 'tools/call:legacy']);
    } finally {
      await pair.close();
    }
  });
});
