import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type HttpFront, serveHttp } from '../../src/cli/serve.js';
import { createStack } from '../../src/config/stack.js';
import { switchableStack } from '../../src/config/switchable.js';
import { type Counts, createCountingServer } from '../helpers/servers.js';
import { textOf } from '../helpers/stacks.js';

interface Answer {
  id: number;
  result: { content: { text: string }[] };
}

/** POSTs one JSON-RPC message with no session and no prior initialize; returns the answer. */
async function postAlone(
  url: string,
  message: object,
): Promise<{ status: number; body: Answer; session: string | null }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(message),
  });
  const text = await response.text();
  const data = /^data: (.*)$/m.exec(text)?.[1] ?? text;
  return { status: response.status, body: JSON.parse(data), session: response.headers.get('mcp-session-id') };
}

describe('mcp-perf proxy --listen --stateless', () => {
  let front: HttpFront;
  let url: string;
  let counts: Counts;
  let opened = 0;
  let stateless = true;
  const upstreams: InMemoryTransport[] = [];
  const stack = createStack({
    middleware: [{ metrics: {} }, { cache: { tools: { include: ['echo'] } } }],
  });

  before(async () => {
    const configured = await stack;
    const server = createCountingServer();
    counts = server.counts;
    front = await serveHttp({
      host: '127.0.0.1',
      port: 0,
      token: undefined,
      stack: [switchableStack(configured.middleware)],
      current: () => ({
        names: configured.config.middleware.map((e) => e.name),
        find: configured.find,
        middleware: configured.middleware,
      }),
      openUpstream: () => {
        // The first connection reaches the counting server; later ones (stateful sessions) a fresh one.
        const target = opened++ === 0 ? server.server : createCountingServer().server;
        const [client, serverSide] = InMemoryTransport.createLinkedPair();
        void target.connect(serverSide);
        upstreams.push(client);
        return client;
      },
      endpoint: { command: 'counting-server', args: [] },
      stateless: () => stateless,
    });
    url = `http://127.0.0.1:${front.address.port}/mcp`;
  });
  after(async () => {
    await front.close();
    await (await stack).close();
  });

  it('serves an SDK client with no session id, every POST through one upstream connection', async () => {
    const client = new Client({ name: 'stateless-host', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url));
    await client.connect(transport);
    try {
      assert.equal(transport.sessionId, undefined, 'no session was issued');
      assert.equal(client.getServerVersion()?.name, 'counting');
      assert.equal(textOf(await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })), '5');
      for (let i = 0; i < 3; i++)
        assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'x' } })), 'x');
      assert.equal(counts.echo, 1, 'repeats answered by the cache, which every POST shares');
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'));
    } finally {
      await client.close();
    }
    assert.equal(opened, 1);
  });

  it('answers a POST from a client that never initialized, with its own ids', async () => {
    const answer = await postAlone(url, {
      jsonrpc: '2.0',
      id: 0,
      method: 'tools/call',
      params: { name: 'add', arguments: { a: 40, b: 2 } },
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.session, null);
    assert.equal(answer.body.id, 0);
    assert.equal(answer.body.result.content[0]?.text, '42');
    // Two stateless clients using the same id at once each get their own answer.
    const [a, b] = await Promise.all([
      postAlone(url, {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'add', arguments: { a: 1, b: 1 } },
      }),
      postAlone(url, {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'add', arguments: { a: 2, b: 2 } },
      }),
    ]);
    assert.deepEqual(
      [a.body.id, a.body.result.content[0]?.text, b.body.id, b.body.result.content[0]?.text],
      [7, '2', 7, '4'],
    );
    assert.equal(opened, 1, 'still the one upstream connection');
  });

  it('routes progress back to the caller under its own token', async () => {
    const client = new Client({ name: 'progress-host', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const seen: number[] = [];
    try {
      const result = await client.callTool({ name: 'progress', arguments: { steps: 3 } }, undefined, {
        onprogress: (p) => void seen.push(p.progress),
      });
      assert.equal(textOf(result), 'done 3');
    } finally {
      await client.close();
    }
    // The v1 client may drop the last step when it arrives in the response's chunk.
    assert.ok(seen.length >= 2 && seen[0] === 1, `progress seen: ${seen}`);
  });

  it('refuses GET and DELETE, and keeps /metrics and /dashboard', async () => {
    assert.equal((await fetch(url, { headers: { accept: 'text/event-stream' } })).status, 405);
    assert.equal((await fetch(url, { method: 'DELETE' })).status, 405);
    const metrics = await fetch(url.replace('/mcp', '/metrics'));
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /gen_ai_tool_name="add"/);
    const dashboard = await fetch(url.replace('/mcp', '/dashboard'));
    assert.equal(dashboard.status, 200);
    assert.match(await dashboard.text(), /<html/i);
  });

  it('opens a new upstream connection when the shared one closes', async () => {
    await upstreams[0]!.close();
    const call = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'add', arguments: { a: 5, b: 5 } },
    };
    const answer = await postAlone(url, call);
    assert.equal(answer.body.result.content[0]?.text, '10');
    assert.equal(opened, 2);
  });

  it('follows the setting per request: stateful again when it is off', async () => {
    stateless = false;
    try {
      const client = new Client({ name: 'stateful-host', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(url));
      await client.connect(transport);
      assert.equal(typeof transport.sessionId, 'string');
      assert.equal(textOf(await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } })), '3');
      await transport.terminateSession();
      await client.close();
      assert.equal(opened, 3, 'a session opens its own upstream');
    } finally {
      stateless = true;
    }
  });
});
