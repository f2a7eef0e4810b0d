import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport, McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import {
  type Middleware,
  TOOL_QUERY_META_KEY,
  type ToolFilterOptions,
  toolFilter,
  withMiddleware,
  wrapTransport,
} from '../../../src/index.js';
import { deferred } from '../../helpers/servers.js';
import { MODERN_AND_LEGACY_VERSIONS } from '../../helpers/servers-v2.js';

const MODERN = '2026-07-28';
const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

/** A v2 McpServer with `names` as tools, each answering its own name; `ran` records real executions. */
function serverV2(names: readonly string[], ran: string[], modern = false, listChanged = true): McpServer {
  const server = new McpServer(
    { name: 'v2-tools', version: '2.0.0' },
    modern
      ? { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS, capabilities: { tools: { listChanged } } }
      : undefined,
  );
  for (const name of names) {
    server.registerTool(
      name,
      {
        description: `The ${name.replace(/_/g, ' ')} tool`,
        inputSchema: z.object({ q: z.string().optional() }),
        annotations: { readOnlyHint: name.startsWith('read') },
      },
      async () => {
        ran.push(name);
        return { content: [{ type: 'text', text: name }] };
      },
    );
  }
  return server;
}

const NAMES = ['read_calendar', 'send_email', 'delete_everything', 'read_weather'];

/** A legacy-era v2 pair. */
async function legacyPair(names: readonly string[], stack: Middleware[] | undefined) {
  const ran: string[] = [];
  const server = serverV2(names, ran);
  if (stack) withMiddleware(server, stack);
  const client = new Client({ name: 'v2-client', version: '2.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  await client.connect(a);
  return { client, ran, close: () => client.close() };
}

/** A modern-era (2026-07-28) v2 pair, served by `serveStdio` over an in-memory transport. */
async function modernPair(names: readonly string[], stack: Middleware[] | undefined) {
  const ran: string[] = [];
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(() => serverV2(names, ran, true), {
    transport: stack ? wrapTransport(serverSide, stack, { side: 'server' }) : serverSide,
  });
  const client = new Client(
    { name: 'modern-client', version: '2.0.0' },
    { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS, versionNegotiation: { mode: 'auto' } },
  );
  await client.connect(clientSide);
  return {
    client,
    ran,
    async close() {
      await client.close();
      await handle.close();
    },
  };
}

async function outcome(client: Client, name: string): Promise<unknown> {
  try {
    return { result: await client.callTool({ name, arguments: {} }) };
  } catch (error) {
    const e = error as { code?: unknown; message?: string };
    return { error: { code: e.code, message: e.message } };
  }
}

/** What the era's `tools/list` results carry, seen on the server side before the wire. */
function listSpy(seen: Record<string, unknown>[]): Middleware {
  return async function listSpy(ctx, next) {
    const reply = await next();
    if (ctx.method === 'tools/list' && reply.result) seen.push(reply.result);
    return reply;
  };
}

for (const [era, pair] of [
  ['legacy', legacyPair],
  ['modern', modernPair],
] as const) {
  describe(`toolFilter on SDK v2, ${era} era`, () => {
    const options: ToolFilterOptions = { rules: { deny: ['delete_*'] } };

    it('filters the list and answers a hidden tool exactly as the bare server answers a missing one', async () => {
      const wrapped = await pair(NAMES, [toolFilter(options)]);
      const bare = await pair(
        NAMES.filter((n) => !n.startsWith('delete_')),
        undefined,
      );
      try {
        if (era === 'modern') {
          assert.equal(wrapped.client.getNegotiatedProtocolVersion?.(), MODERN);
        }
        assert.deepEqual(
          (await wrapped.client.listTools()).tools.map((t) => t.name),
          ['read_calendar', 'send_email', 'read_weather'],
        );
        const expected = await outcome(bare.client, 'delete_everything');
        assert.deepEqual(await outcome(wrapped.client, 'delete_everything'), expected);
        assert.deepEqual(
          await outcome(wrapped.client, 'no_such_tool'),
          await outcome(bare.client, 'no_such_tool'),
        );
        assert.deepEqual((await wrapped.client.callTool({ name: 'send_email', arguments: {} })).content, [
          { type: 'text', text: 'send_email' },
        ]);
        assert.deepEqual(wrapped.ran, ['send_email']);
      } finally {
        await wrapped.close();
        await bare.close();
      }
    });

    it('a ranked list and search mode are valid results for the era', async () => {
      const seen: Record<string, unknown>[] = [];
      const ranked = await pair(NAMES, [listSpy(seen), toolFilter({ topK: 1 })]);
      try {
        const { tools } = await ranked.client.listTools({
          _meta: { [TOOL_QUERY_META_KEY]: 'weather today' },
        });
        assert.deepEqual(
          tools.map((t) => t.name),
          ['read_weather'],
        );
        if (era === 'modern') {
          assert.equal(seen[0]?.ttlMs, 0, 'a ranked list is not for keeping');
          assert.equal(seen[0]?.cacheScope, 'private');
        }
      } finally {
        await ranked.close();
      }
      const search = await pair(NAMES, [
        toolFilter({ mode: 'search', rules: { annotations: { readOnlyHint: true } } }),
      ]);
      try {
        assert.deepEqual(
          (await search.client.listTools()).tools.map((t) => t.name),
          ['search_tools'],
        );
        const found = await search.client.callTool({
          name: 'search_tools',
          arguments: { query: 'calendar' },
        });
        assert.deepEqual(
          (found.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name),
          ['read_calendar'],
        );
        assert.deepEqual((await search.client.callTool({ name: 'read_calendar', arguments: {} })).content, [
          { type: 'text', text: 'read_calendar' },
        ]);
        assert.deepEqual(search.ran, ['read_calendar']);
      } finally {
        await search.close();
      }
    });
  });
}

describe('toolFilter on SDK v2, modern era: changes at run time', () => {
  for (const serverListChanged of [true, false]) {
    it(`setRules() reaches the client on its subscriptions/listen stream, stamped with the subscription id (server ${serverListChanged ? 'advertises' : 'does not advertise'} listChanged)`, async () => {
      const ran: string[] = [];
      const filter = toolFilter({ rules: { deny: ['delete_*'] } });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      const wire: Record<string, unknown>[] = [];
      const send = serverSide.send.bind(serverSide);
      serverSide.send = (message, options) => {
        wire.push(message as Record<string, unknown>);
        return send(message, options);
      };
      const handle = serveStdio(() => serverV2(NAMES, ran, true, serverListChanged), {
        transport: wrapTransport(serverSide, [filter], { side: 'server' }),
      });
      const changed = deferred<string[]>();
      const client = new Client(
        { name: 'modern-client', version: '2.0.0' },
        {
          supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS,
          versionNegotiation: { mode: 'auto' },
          listChanged: {
            tools: {
              onChanged: (error, tools) => {
                if (error) changed.reject(error);
                else changed.resolve((tools ?? []).map((t) => t.name));
              },
            },
          },
        },
      );
      await client.connect(clientSide);
      try {
        assert.equal(client.getNegotiatedProtocolVersion?.(), MODERN);
        const subscription = client.autoOpenedSubscription;
        assert.ok(subscription, 'the client opened subscriptions/listen');
        // Where the server does not promise tool changes, the filter does, in the acknowledgement too.
        assert.equal(subscription.honoredFilter.toolsListChanged, true);
        const before = wire.length;
        filter.setRules({ deny: ['delete_*', 'send_*'] });
        assert.deepEqual(await changed.promise, ['read_calendar', 'read_weather']);
        const notes = wire.slice(before).filter((m) => m.method === 'notifications/tools/list_changed');
        assert.equal(notes.length, 1);
        const listen = wire.find((m) => m.method === 'notifications/subscriptions/acknowledged') as {
          params: { _meta: Record<string, unknown> };
        };
        assert.equal(
          (notes[0]!.params as { _meta?: Record<string, unknown> } | undefined)?._meta?.[SUBSCRIPTION_ID],
          listen.params._meta[SUBSCRIPTION_ID],
        );
        assert.equal(filter.stats().listChangedSent, 1);
        // A closed subscription gets no more changes, and the modern era sends none unasked.
        await subscription.close();
        await new Promise((resolve) => setImmediate(resolve));
        const afterClose = wire.length;
        filter.setRules({ deny: ['delete_*'] });
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(
          wire.slice(afterClose).filter((m) => m.method === 'notifications/tools/list_changed').length,
          0,
        );
        assert.equal(filter.stats().listChangedSent, 1);
      } finally {
        await client.close();
        await handle.close();
      }
    });
  }
});
