import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolResultSchema,
  ListToolsRequestSchema,
  ListToolsResultSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  approximateTokenCounter,
  cache,
  createProxy,
  isInvalidOptionError,
  metrics,
  principalKey,
  TOOL_FILTER_DEFAULTS,
  TOOL_QUERY_META_KEY,
  type ToolFilterOptions,
  toolFilter,
  withMiddleware,
  withToolFilter,
} from '../../../src/index.js';
import { TOOLS_100 } from '../../fixtures/tools-100/tools.js';
import { deferred } from '../../helpers/servers.js';
import { catalogueServer, connectCatalogue, namesWhere, walkPages } from './servers.js';

/** What a v1 client gets for a tool call: the result, or the protocol error. */
async function callOutcome(client: Client, name: string): Promise<unknown> {
  try {
    return {
      result: await client.request(
        { method: 'tools/call', params: { name, arguments: {} } },
        CallToolResultSchema,
      ),
    };
  } catch (error) {
    const e = error as { code?: number; message?: string };
    return { error: { code: e.code, message: e.message } };
  }
}

describe('toolFilter: static rules on tools/list', () => {
  it('lists the visible tools in the server order, deny winning over allow', async () => {
    const { server } = catalogueServer();
    const pair = await connectCatalogue(server, {
      server: [
        toolFilter({ rules: { allow: ['git_*', /^s3_/, 'read_file'], deny: ['git_reset', /upload/] } }),
      ],
    });
    try {
      const { tools } = await pair.client.listTools();
      const expected = namesWhere(
        (t) =>
          (t.name.startsWith('git_') || t.name.startsWith('s3_') || t.name === 'read_file') &&
          t.name !== 'git_reset' &&
          !t.name.includes('upload'),
      );
      assert.deepEqual(
        tools.map((t) => t.name),
        expected,
      );
      // Definitions pass through untouched.
      assert.deepEqual(tools[0], JSON.parse(JSON.stringify(TOOLS_100.find((t) => t.name === expected[0]))));
      // Deterministic: the same list on every request.
      assert.deepEqual((await pair.client.listTools()).tools, tools);
    } finally {
      await pair.close();
    }
  });

  it('filters by annotations and by tags', async () => {
    const { server } = catalogueServer();
    const pair = await connectCatalogue(server, {
      server: [
        toolFilter({ rules: { annotations: { readOnlyHint: true }, tags: { allow: ['git', 'calendar'] } } }),
      ],
    });
    try {
      const names = (await pair.client.listTools()).tools.map((t) => t.name);
      assert.deepEqual(
        names,
        namesWhere(
          (t) =>
            t.annotations.readOnlyHint === true &&
            (t._meta.tags.includes('git') || t._meta.tags.includes('calendar')),
        ),
      );
      assert.ok(names.includes('git_log') && !names.includes('git_commit'));
    } finally {
      await pair.close();
    }
  });

  it('at its defaults changes nothing: the server answer itself is delivered', async () => {
    const { server } = catalogueServer();
    const filter = toolFilter();
    const pair = await connectCatalogue(server, { server: [filter] });
    try {
      assert.deepEqual(
        (await pair.client.listTools()).tools.map((t) => t.name),
        TOOLS_100.map((t) => t.name),
      );
      assert.deepEqual(await callOutcome(pair.client, 'git_status'), {
        result: { content: [{ type: 'text', text: 'ran git_status' }] },
      });
      assert.equal(filter.stats().lists, 0, 'nothing to account for');
    } finally {
      await pair.close();
    }
  });
});

describe('toolFilter: pagination', () => {
  it('skips pages that filtering empties and keeps the server cursors', async () => {
    const fixture = catalogueServer({ pageSize: 10 });
    const filter = toolFilter({ rules: { allow: ['git_*', 'get_forecast', 'summarize_document'] } });
    const pair = await connectCatalogue(fixture.server, { server: [filter] });
    try {
      const pages = await walkPages(pair.client);
      const expected = namesWhere(
        (t) => t.name.startsWith('git_') || t.name === 'get_forecast' || t.name === 'summarize_document',
      );
      assert.deepEqual(pages.flat(), expected);
      // No empty page before the end: every page the client saw has tools on it.
      for (const page of pages) assert.ok(page.length > 0, JSON.stringify(pages));
      assert.ok(filter.stats().pagesSkipped >= 5, `skipped ${filter.stats().pagesSkipped}`);
    } finally {
      await pair.close();
    }
  });

  it('a filter that hides everything answers one empty page with no cursor', async () => {
    const fixture = catalogueServer({ pageSize: 7 });
    const pair = await connectCatalogue(fixture.server, {
      server: [toolFilter({ rules: { allow: ['nothing_matches'] } })],
    });
    try {
      assert.deepEqual(await walkPages(pair.client), [[]]);
      assert.equal(fixture.pages.count, Math.ceil(TOOLS_100.length / 7));
    } finally {
      await pair.close();
    }
  });

  it('a page that keeps some tools is answered at once, with its own cursor', async () => {
    const fixture = catalogueServer({ pageSize: 10 });
    const pair = await connectCatalogue(fixture.server, {
      server: [toolFilter({ rules: { deny: ['read_file'] } })],
    });
    try {
      const pages = await walkPages(pair.client);
      assert.equal(pages.length, 10);
      assert.equal(pages[0]!.length, 9);
      assert.equal(fixture.pages.count, 10, 'no page read twice');
    } finally {
      await pair.close();
    }
  });
});

/** Two SDK v1 McpServers with tools `shown` and `hidden`, the second lacking `hidden`. */
function twinServersV1() {
  const ran: string[] = [];
  const make = (names: string[]) => {
    const server = new McpServer({ name: 'twin', version: '1.0.0' });
    for (const name of names) {
      server.registerTool(name, { inputSchema: { x: z.number().optional() } }, async () => {
        ran.push(name);
        return { content: [{ type: 'text', text: name }] };
      });
    }
    return server;
  };
  return { wrapped: make(['shown', 'hidden']), bare: make(['shown']), ran };
}

async function connectV1(server: McpServer) {
  const client = new Client({ name: 'c', version: '1' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  await client.connect(a);
  return client;
}

describe('toolFilter: a hidden tool cannot be told from a missing one', () => {
  it('SDK v1 McpServer: the same answer the unwrapped server gives for a tool it lacks', async () => {
    const { wrapped, bare, ran } = twinServersV1();
    const filter = toolFilter({ rules: { deny: ['hidden'] } });
    withToolFilter(wrapped, filter);
    const through = await connectV1(wrapped);
    const plain = await connectV1(bare);
    try {
      const expected = await callOutcome(plain, 'hidden');
      assert.deepEqual(await callOutcome(through, 'hidden'), expected);
      assert.deepEqual(await callOutcome(through, 'hidden'), expected, 'the learned answer is reused');
      assert.deepEqual(ran, [], 'the hidden tool never ran');
      assert.equal(filter.stats().rejectedCalls, 2);
      // A missing tool gets the server's own answer too.
      assert.deepEqual(await callOutcome(through, 'missing'), await callOutcome(plain, 'missing'));
      assert.deepEqual(
        (await through.listTools()).tools.map((t) => t.name),
        ['shown'],
      );
    } finally {
      await through.close();
      await plain.close();
    }
  });

  it('a server answering -32602: the same protocol error', async () => {
    const wrapped = catalogueServer();
    const bare = catalogueServer({ tools: TOOLS_100.filter((t) => t.name !== 'delete_file') });
    const through = await connectCatalogue(wrapped.server, {
      server: [toolFilter({ rules: { deny: ['delete_*'] } })],
    });
    const plain = await connectCatalogue(bare.server);
    try {
      const expected = await callOutcome(plain.client, 'delete_file');
      assert.equal((expected as { error: { code: number } }).error.code, -32602);
      assert.deepEqual(await callOutcome(through.client, 'delete_file'), expected);
      assert.deepEqual(wrapped.calls, {});
    } finally {
      await through.close();
      await plain.close();
    }
  });

  it('annotation rules: decided on the definition, which the filter reads from the server once', async () => {
    const fixture = catalogueServer();
    const pair = await connectCatalogue(fixture.server, {
      server: [toolFilter({ rules: { annotations: { destructiveHint: false } } })],
    });
    try {
      assert.deepEqual(await callOutcome(pair.client, 'git_log'), {
        result: { content: [{ type: 'text', text: 'ran git_log' }] },
      });
      const refused = (await callOutcome(pair.client, 'delete_file')) as {
        error: { code: number; message: string };
      };
      assert.equal(refused.error.code, -32602);
      assert.match(refused.error.message, /Unknown tool: delete_file/);
      await callOutcome(pair.client, 'sql_execute');
      assert.equal(fixture.pages.count, 1, 'the catalogue was read once');
      assert.deepEqual(fixture.calls, { git_log: 1 });
    } finally {
      await pair.close();
    }
  });
});

describe('toolFilter: per-caller rules', () => {
  it('each caller sees its own set, computed once per caller and list version', async () => {
    const fixture = catalogueServer();
    let computed = 0;
    const filter = toolFilter({
      caller: (ctx) => {
        computed++;
        return ctx.session.clientInfo?.name === 'admin' ? undefined : { tags: { deny: ['destroy'] } };
      },
    });
    withMiddleware(fixture.server, [filter]);
    const admin = new Client({ name: 'admin', version: '1' });
    const user = new Client({ name: 'user', version: '1' });
    // One server object, two connections: the SDK lets one Server serve one transport, so a second is made.
    const second = catalogueServer();
    withMiddleware(second.server, [filter]);
    const [a1, b1] = InMemoryTransport.createLinkedPair();
    const [a2, b2] = InMemoryTransport.createLinkedPair();
    await fixture.server.connect(b1);
    await admin.connect(a1);
    await second.server.connect(b2);
    await user.connect(a2);
    try {
      const adminNames = (await admin.listTools()).tools.map((t) => t.name);
      const userNames = (await user.listTools()).tools.map((t) => t.name);
      assert.equal(adminNames.length, 100);
      assert.deepEqual(
        userNames,
        namesWhere((t) => !t._meta.tags.includes('destroy')),
      );
      await admin.listTools();
      await user.listTools();
      await callOutcome(user, 'git_log');
      assert.equal(computed, 2, 'once per caller');
      const refused = (await callOutcome(user, 'delete_file')) as {
        error: { code: number; message: string };
      };
      assert.equal(refused.error.code, -32602);
      assert.match(refused.error.message, /Unknown tool: delete_file$/);
      assert.deepEqual(await callOutcome(admin, 'delete_file'), {
        result: { content: [{ type: 'text', text: 'ran delete_file' }] },
      });
      assert.equal(computed, 2);
      // The server's list changes: the user's view is computed again.
      const changed = deferred();
      user.setNotificationHandler(ToolListChangedNotificationSchema, () => changed.resolve());
      await second.replaceTools(TOOLS_100.slice(0, 20));
      await changed.promise;
      assert.deepEqual(
        (await user.listTools()).tools.map((t) => t.name),
        namesWhere((t) => !t._meta.tags.includes('destroy'), TOOLS_100.slice(0, 20)),
      );
      assert.equal(computed, 3);
      const callers = filter.callers();
      assert.equal(callers.size, 2);
      assert.equal(
        [...callers.values()].reduce((n, c) => n + c.lists, 0),
        5,
      );
    } finally {
      await admin.close();
      await user.close();
      await fixture.server.close();
      await second.server.close();
    }
  });
});

describe('toolFilter: per-principal rules from auth info', () => {
  it('keys callers by principal: one computation per principal, each its own list', async () => {
    const seen: string[] = [];
    const filter = toolFilter({
      caller: (ctx) => {
        const who = String(ctx.authInfo?.extra?.sub);
        seen.push(who);
        return who === 'alice' ? { tags: { allow: ['git'] } } : { tags: { allow: ['email'] } };
      },
    });
    const connection = { reportError() {} };
    const request = (sub: string, id: number) =>
      ({
        id,
        method: 'tools/list',
        params: {},
        connection,
        session: { clientInfo: { name: 'web', version: '1' } },
        authInfo: { token: `token-${sub}`, clientId: 'web', scopes: [], extra: { sub } },
      }) as unknown as Parameters<NonNullable<typeof filter.request>>[0];
    const next = () =>
      Promise.resolve({ result: { tools: TOOLS_100 as unknown as Record<string, unknown>[] } });
    const names = async (sub: string, id: number) => {
      const tools = (await filter.request!(request(sub, id), next)).result?.tools as
        | { name: string }[]
        | undefined;
      return (tools ?? []).map((t) => t.name);
    };
    const alice = await names('alice', 1);
    const bob = await names('bob', 2);
    assert.deepEqual(
      alice,
      namesWhere((t) => t._meta.tags.includes('git')),
    );
    assert.deepEqual(
      bob,
      namesWhere((t) => t._meta.tags.includes('email')),
    );
    assert.deepEqual(await names('alice', 3), alice);
    assert.deepEqual(seen, ['alice', 'bob']);
    const principal = (sub: string) =>
      principalKey({
        authInfo: { token: `token-${sub}`, clientId: 'web', scopes: [], extra: { sub } },
      } as never);
    assert.deepEqual(
      [...filter.callers().keys()],
      [`${principal('alice')}\u0000web`, `${principal('bob')}\u0000web`],
    );
  });
});

describe('toolFilter: changes at run time', () => {
  it('setRules() sends list_changed through the stack, so a cache outside the filter drops its lists', async () => {
    const fixture = catalogueServer();
    const filter = toolFilter({ rules: { allow: ['git_*'] } });
    const outer = cache({ ttlMs: 60_000 });
    const pair = await connectCatalogue(fixture.server, { server: [outer, filter] });
    try {
      assert.equal(pair.client.getServerCapabilities()?.tools?.listChanged, true);
      const first = (await pair.client.listTools()).tools.map((t) => t.name);
      await pair.client.listTools();
      assert.equal(fixture.pages.count, 1, 'the second list came from the cache');
      const changed = deferred();
      pair.client.setNotificationHandler(ToolListChangedNotificationSchema, () => changed.resolve());
      filter.setRules({ allow: ['s3_*'] });
      await changed.promise;
      const second = (await pair.client.listTools()).tools.map((t) => t.name);
      assert.deepEqual(
        first,
        namesWhere((t) => t.name.startsWith('git_')),
      );
      assert.deepEqual(
        second,
        namesWhere((t) => t.name.startsWith('s3_')),
      );
      assert.equal(fixture.pages.count, 2, 'the cached list was dropped');
      assert.equal(filter.stats().listChangedSent, 1);
      assert.ok(outer.stats().invalidations >= 1);
      assert.throws(() => filter.setRules({ allow: 'nope' } as never), isInvalidOptionError);
      assert.deepEqual(filter.rules, { allow: ['s3_*'] }, 'bad rules leave the old ones in force');
    } finally {
      await pair.close();
    }
  });

  it('advertises tools.listChanged when the server does not, and only when configured to act', async () => {
    const advertised = async (options: ToolFilterOptions | undefined) => {
      // A low-level server that declares tools without listChanged.
      const server = new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
      if (options !== undefined) withToolFilter(server, options);
      const client = new Client({ name: 'c', version: '1' });
      const [a, b] = InMemoryTransport.createLinkedPair();
      await server.connect(b);
      await client.connect(a);
      try {
        return client.getServerCapabilities()?.tools;
      } finally {
        await client.close();
      }
    };
    assert.deepEqual(await advertised(undefined), {});
    assert.deepEqual(await advertised({ rules: { deny: ['x'] } }), { listChanged: true });
    assert.deepEqual(await advertised({ mode: 'search' }), { listChanged: true });
    assert.deepEqual(await advertised({}), {}, 'a filter created empty leaves the handshake alone');
    assert.deepEqual(await advertised({ listChanged: true }), { listChanged: true });
  });
});

describe('toolFilter: changes through the proxy', () => {
  it('setRules() on a proxy tells the downstream client, which then lists the new set', async () => {
    const fixture = catalogueServer();
    const [up, serverSide] = InMemoryTransport.createLinkedPair();
    const [clientSide, down] = InMemoryTransport.createLinkedPair();
    await fixture.server.connect(serverSide);
    const filter = toolFilter({ rules: { allow: ['git_*'] } });
    const proxy = createProxy({ downstream: down, upstream: up, stack: [filter] });
    await proxy.start();
    const client = new Client({ name: 'behind-proxy', version: '1' });
    await client.connect(clientSide);
    try {
      assert.equal((await client.listTools()).tools.length, 9);
      const changed = deferred();
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => changed.resolve());
      filter.setRules({ allow: ['jira_*'] });
      await changed.promise;
      assert.deepEqual(
        (await client.listTools()).tools.map((t) => t.name),
        namesWhere((t) => t.name.startsWith('jira_')),
      );
    } finally {
      await client.close();
      await proxy.close();
      await fixture.server.close();
    }
  });
});

describe('toolFilter: ranking', () => {
  it('a query in _meta cuts the list to the top-k visible tools plus the pinned ones, in server order', async () => {
    const fixture = catalogueServer({ pageSize: 30 });
    const filter = toolFilter({ topK: 3, pinned: ['read_file'], rules: { deny: ['update_event'] } });
    const pair = await connectCatalogue(fixture.server, { server: [filter] });
    try {
      const pages = await walkPages(pair.client, {
        [TOOL_QUERY_META_KEY]: 'schedule a meeting with the team',
      });
      assert.equal(pages.length, 1, 'a ranked list is one page');
      const names = pages[0]!;
      assert.equal(names[0], 'read_file');
      assert.ok(names.includes('create_event'), names.join());
      assert.ok(!names.includes('update_event'));
      assert.equal(names.length, 4);
      const order = TOOLS_100.map((t) => t.name);
      assert.deepEqual(
        names,
        [...names].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
      );
      // Without a query the ordinary filtered pages come back.
      assert.equal((await walkPages(pair.client)).flat().length, 99);
    } finally {
      await pair.close();
    }
  });

  it('the host can set the query with an option function', async () => {
    const fixture = catalogueServer();
    const pair = await connectCatalogue(fixture.server, {
      server: [toolFilter({ topK: 2, query: () => 'kubernetes pods' })],
    });
    try {
      const names = (await pair.client.listTools()).tools.map((t) => t.name);
      assert.equal(names.length, 2);
      assert.ok(names.includes('k8s_get_pods'), names.join());
    } finally {
      await pair.close();
    }
  });
});

describe('toolFilter: search mode', () => {
  const searchOptions: ToolFilterOptions = {
    mode: 'search',
    pinned: ['get_weather'],
    rules: { deny: ['delete_*'] },
    tokens: approximateTokenCounter(),
  };

  async function roundTrip(client: Client, calls: Record<string, number>) {
    const listed = (await client.listTools()).tools;
    assert.deepEqual(
      listed.map((t) => t.name),
      ['search_tools', 'get_weather'],
    );
    const found = await client.callTool({
      name: 'search_tools',
      arguments: { query: 'send an email to a colleague', limit: 3 },
    });
    const structured = found.structuredContent as { tools: { name: string; inputSchema: unknown }[] };
    assert.equal(structured.tools.length, 3);
    assert.equal(structured.tools[0]!.name, 'send_email');
    assert.deepEqual(
      structured.tools[0],
      JSON.parse(JSON.stringify(TOOLS_100.find((t) => t.name === 'send_email'))),
    );
    assert.deepEqual(JSON.parse((found.content as { text: string }[])[0]!.text), structured);
    // Found tools are callable at once, and so is any tool the rules allow.
    assert.deepEqual((await client.callTool({ name: 'send_email', arguments: {} })).content, [
      { type: 'text', text: 'ran send_email' },
    ]);
    assert.deepEqual((await client.callTool({ name: 'git_log', arguments: {} })).content, [
      { type: 'text', text: 'ran git_log' },
    ]);
    // A hidden tool is never found and never reached.
    const deleting = await client.callTool({ name: 'search_tools', arguments: { query: 'delete email' } });
    assert.ok(
      !(deleting.structuredContent as { tools: { name: string }[] }).tools.some((t) =>
        t.name.startsWith('delete_'),
      ),
    );
    await assert.rejects(
      client.callTool({ name: 'delete_email', arguments: {} }),
      /Unknown tool: delete_email/,
    );
    const bad = await client.callTool({ name: 'search_tools', arguments: { query: '' } });
    assert.equal(bad.isError, true);
    assert.deepEqual(calls, { send_email: 1, git_log: 1 });
  }

  it('server side', async (t) => {
    const fixture = catalogueServer();
    const filter = toolFilter(searchOptions);
    const pair = await connectCatalogue(fixture.server, { server: [filter] });
    try {
      await roundTrip(pair.client, fixture.calls);
      const stats = filter.stats();
      assert.equal(stats.searches, 2, 'the call with bad arguments is not a search');
      assert.equal(stats.toolsAvailable, 100);
      assert.equal(stats.toolsListed, 2);
      assert.ok(stats.tokensSaved / stats.tokensBefore >= 0.85);
      t.diagnostic(
        `search mode tools/list: ${stats.tokensAfter} of ${stats.tokensBefore} definition tokens ` +
          `(${((stats.tokensSaved / stats.tokensBefore) * 100).toFixed(1)}% fewer)`,
      );
    } finally {
      await pair.close();
    }
  });

  it('client side', async () => {
    const fixture = catalogueServer();
    const pair = await connectCatalogue(fixture.server, { client: [toolFilter(searchOptions)] });
    try {
      await roundTrip(pair.client, fixture.calls);
    } finally {
      await pair.close();
    }
  });

  it('through the proxy', async () => {
    const fixture = catalogueServer();
    const [up, serverSide] = InMemoryTransport.createLinkedPair();
    const [clientSide, down] = InMemoryTransport.createLinkedPair();
    await fixture.server.connect(serverSide);
    const proxy = createProxy({
      downstream: down,
      upstream: up,
      stack: [metrics(), toolFilter(searchOptions)],
    });
    await proxy.start();
    const client = new Client({ name: 'behind-proxy', version: '1' });
    await client.connect(clientSide);
    try {
      await roundTrip(client, fixture.calls);
    } finally {
      await client.close();
      await proxy.close();
      await fixture.server.close();
    }
  });
});

describe('toolFilter: figures', () => {
  it('counts listed and available tools, definition tokens and rejected calls, and feeds metrics() as a source', async () => {
    const fixture = catalogueServer();
    const events: string[] = [];
    const filter = toolFilter({
      rules: { tags: { allow: ['git'] } },
      tokens: approximateTokenCounter(),
      onList: (e) => events.push(`list ${e.listed}/${e.available}`),
      onReject: (e) => events.push(`reject ${e.tool}`),
    });
    const m = metrics({ sources: [filter] });
    const pair = await connectCatalogue(fixture.server, { server: [m, filter] });
    try {
      await pair.client.listTools();
      await callOutcome(pair.client, 'send_email');
      const stats = filter.stats();
      assert.equal(stats.toolsAvailable, 100);
      assert.equal(stats.toolsListed, 9);
      assert.equal(stats.rejectedCalls, 1);
      assert.ok(stats.tokensAfter > 0 && stats.tokensAfter < stats.tokensBefore);
      assert.equal(stats.tokensSaved, stats.tokensBefore - stats.tokensAfter);
      assert.deepEqual(events, ['list 9/100', 'reject send_email']);
      const figures = m.snapshot().sources.toolFilter;
      assert.equal(figures?.toolsListed, 9);
      assert.equal(figures?.rejectedCalls, 1);
      const [mine] = [...filter.callers().values()];
      assert.equal(mine?.tokensBefore, stats.tokensBefore);
    } finally {
      await pair.close();
    }
  });
});

describe('toolFilter: early answers on a client', () => {
  it('lets an early answer from inside through only where it would pass the request untouched', () => {
    const answer = { content: [] };
    type EarlyContext = Parameters<NonNullable<ReturnType<typeof toolFilter>['early']>>[0];
    const ctx = (method: string, params: Record<string, unknown> = {}) =>
      ({ method, params, session: {} }) as unknown as EarlyContext;
    const idle = toolFilter();
    assert.equal(
      idle.early?.(ctx('tools/call', { name: 'x' }), () => answer),
      answer,
    );
    assert.equal(
      idle.early?.(ctx('tools/list'), () => answer),
      answer,
    );
    assert.equal(
      idle.early?.(ctx('resources/read'), () => answer),
      answer,
    );
    assert.equal(
      idle.early?.(ctx('tools/list', { _meta: { [TOOL_QUERY_META_KEY]: 'q' } }), () => answer),
      undefined,
    );
    const acting = toolFilter({ rules: { deny: ['x'] } });
    assert.equal(
      acting.early?.(ctx('tools/call', { name: 'x' }), () => answer),
      undefined,
    );
    assert.equal(
      acting.early?.(ctx('tools/list'), () => answer),
      undefined,
    );
    assert.equal(
      acting.early?.(ctx('prompts/list'), () => answer),
      answer,
    );
    idle.setRules({ deny: ['x'] });
    assert.equal(
      idle.early?.(ctx('tools/call', { name: 'y' }), () => answer),
      undefined,
    );
  });
});

describe('toolFilter: options', () => {
  it('documents its defaults', () => {
    assert.deepEqual(TOOL_FILTER_DEFAULTS, {
      maxCallers: 1000,
      topK: 10,
      mode: 'list',
      searchToolName: 'search_tools',
      searchLimit: 5,
      searchMaxLimit: 20,
      maxPages: 100,
    });
    assert.ok(Object.isFrozen(TOOL_FILTER_DEFAULTS));
  });

  it('refuses bad options with an error naming the option', () => {
    const bad: [unknown, string][] = [
      ['x', ''],
      [{ rules: { deny: [1] } }, 'rules.deny[0]'],
      [{ caller: 'admin' }, 'caller'],
      [{ topK: 0 }, 'topK'],
      [{ mode: 'hide' }, 'mode'],
      [{ searchTool: { name: '' } }, 'searchTool.name'],
      [{ searchTool: { limit: 30 } }, 'searchTool.limit'],
      [{ ranker: {} }, 'ranker'],
      [{ tokens: {} }, 'tokens'],
      [{ pinned: 'x' }, 'pinned.allow'],
      [{ listChanged: 'yes' }, 'listChanged'],
      [{ maxCallers: 1.5 }, 'maxCallers'],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => toolFilter(options as never),
        (error: unknown) => isInvalidOptionError(error) && error.option === option,
        JSON.stringify(options),
      );
    }
  });

  it('a listener that throws is reported, not fatal', async () => {
    const fixture = catalogueServer();
    const errors: Error[] = [];
    const filter = toolFilter({
      rules: { deny: ['git_*'] },
      onList: () => {
        throw new Error('listener broke');
      },
    });
    withMiddleware(fixture.server, [filter]);
    const client = new Client({ name: 'c', version: '1' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    b.onerror = (error) => errors.push(error);
    await fixture.server.connect(b);
    fixture.server.onerror = (error) => errors.push(error);
    await client.connect(a);
    try {
      assert.equal((await client.request({ method: 'tools/list' }, ListToolsResultSchema)).tools.length, 91);
      assert.ok(errors.some((e) => e.message === 'listener broke'));
    } finally {
      await client.close();
      await fixture.server.close();
    }
  });
});
