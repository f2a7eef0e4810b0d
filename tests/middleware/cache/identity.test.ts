/**
 * Client-side cache identity: one cache instance shared by several `Client`s keeps each
 * one's entries apart unless a `principal` says they act for the same user, and two
 * servers that describe themselves alike but live at different endpoints never share
 * entries. Real Streamable HTTP servers (stateless: a server per request), SDK v1 clients.
 */

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as StreamableHTTPClientTransportV2,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type CacheMiddleware, cache, withCache } from '../../../src/middleware/cache/index.js';
import { listenOnLoopback } from '../../helpers/http.js';
import { textOf } from './helpers.js';

/**
 * A stateless HTTP MCP server that always calls itself `same@1.0.0`. Its `whoami` tool
 * answers `<label> #<call>` with `cacheScope` = `scope` (when given).
 */
async function startServer(label: string, scope: 'private' | undefined) {
  const state = { calls: 0 };
  const endpoint = await listenOnLoopback(async (req, res, body) => {
    const server = new McpServer({ name: 'same', version: '1.0.0' });
    server.registerTool('whoami', {}, async () => ({
      content: [{ type: 'text', text: `${label} #${++state.calls}` }],
      ...(scope === undefined ? {} : { cacheScope: scope }),
    }));
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
    });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  return { url: endpoint.url, state, close: endpoint.close };
}

async function clientOf(c: CacheMiddleware, url: URL) {
  const client = new Client({ name: 'identity-client', version: '1.0.0' });
  withCache(client, c);
  await client.connect(new StreamableHTTPClientTransport(url));
  return {
    client,
    whoami: async () => textOf(await client.callTool({ name: 'whoami', arguments: {} })),
  };
}

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers.splice(0)) await close();
});

async function serve(label: string, scope: 'private' | undefined) {
  const server = await startServer(label, scope);
  closers.push(server.close);
  return server;
}

async function connect(c: CacheMiddleware, url: URL) {
  const client = await clientOf(c, url);
  closers.unshift(() => client.client.close());
  return client;
}

describe('cache identity on the client side', () => {
  it('two Clients sharing one cache never share private results by default', async () => {
    const server = await serve('one', 'private');
    const c = cache({ tools: { include: ['whoami'] } });
    const a = await connect(c, server.url);
    const b = await connect(c, server.url);
    assert.equal(await a.whoami(), 'one #1');
    assert.equal(await a.whoami(), 'one #1', 'a client hits its own private entry');
    assert.equal(await b.whoami(), 'one #2', 'another client never gets it');
    assert.equal(await b.whoami(), 'one #2');
    assert.equal(server.state.calls, 2);
  });

  it('SDK v2 Clients sharing one cache never share private results by default either', async () => {
    const server = await serve('one', 'private');
    const c = cache({ tools: { include: ['whoami'] } });
    const clients = [];
    for (let i = 0; i < 2; i++) {
      const client = new ClientV2({ name: 'identity-client-v2', version: '2.0.0' });
      withCache(client, c);
      await client.connect(new StreamableHTTPClientTransportV2(server.url));
      closers.unshift(() => client.close());
      clients.push(async () => textOf(await client.callTool({ name: 'whoami', arguments: {} })));
    }
    const [a, b] = clients as [() => Promise<string>, () => Promise<string>];
    assert.equal(await a(), 'one #1');
    assert.equal(await a(), 'one #1');
    assert.equal(await b(), 'one #2');
    assert.equal(server.state.calls, 2);
  });

  it('Clients whose principal is the same share private results', async () => {
    const server = await serve('one', 'private');
    const c = cache({
      tools: { include: ['whoami'] },
      principal: () => 'alice',
    });
    const a = await connect(c, server.url);
    const b = await connect(c, server.url);
    assert.equal(await a.whoami(), 'one #1');
    assert.equal(await b.whoami(), 'one #1');
    assert.equal(server.state.calls, 1);
  });

  it('two servers with the same serverInfo at different endpoints never mix', async () => {
    const first = await serve('first', undefined);
    const second = await serve('second', undefined);
    // One principal for everyone: only the endpoint tells the two servers apart.
    const c = cache({
      tools: { include: ['whoami'] },
      principal: () => 'everyone',
    });
    const a = await connect(c, first.url);
    const b = await connect(c, second.url);
    const again = await connect(c, first.url);
    assert.equal(await a.whoami(), 'first #1');
    assert.equal(await b.whoami(), 'second #1');
    assert.equal(await again.whoami(), 'first #1', 'the same endpoint shares public entries');
    assert.equal(first.state.calls, 1);
    assert.equal(second.state.calls, 1);
  });

  it('object principals: {id:1} and {id:2} differ, equal objects in another key order match', async () => {
    const server = await serve('one', 'private');
    let current: unknown;
    const c = cache({
      tools: { include: ['whoami'] },
      principal: () => current,
    });
    const a = await connect(c, server.url);
    const b = await connect(c, server.url);
    current = { id: 1, org: 'acme' };
    assert.equal(await a.whoami(), 'one #1');
    current = { id: 2, org: 'acme' };
    assert.equal(await b.whoami(), 'one #2', 'another user id never gets the entry');
    current = { org: 'acme', id: 1 };
    assert.equal(await b.whoami(), 'one #1', 'the same user in another key order does');
    assert.equal(server.state.calls, 2);
  });
});
