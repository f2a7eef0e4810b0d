/**
 * A stale-while-revalidate refresh over real Streamable HTTP (SDK v1 on a loopback port):
 * the refreshed tool logs and reports progress while no HTTP request is waiting for it. The
 * SDK server transport throws for a message related to a request id it never saw, so the
 * pipeline must keep what concerns its own request to itself.
 */

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { withMiddleware } from '../../src/index.js';
import { type CacheMiddleware, cache } from '../../src/middleware/cache/index.js';
import { listenOnLoopback } from '../helpers/http.js';
import { fakeClock, textOf, until } from '../middleware/cache/helpers.js';

/** A server whose `chatty` tool logs and reports progress before it answers with its run number. */
function chattyServer(runs: { count: number }, errors: Error[]): McpServer {
  const server = new McpServer({ name: 'chatty', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool('chatty', { inputSchema: { topic: z.string() } }, async ({ topic }, extra) => {
    const run = ++runs.count;
    await extra.sendNotification({
      method: 'notifications/message',
      params: { level: 'info', data: `working on ${topic}` },
    });
    const token = extra._meta?.progressToken;
    if (token !== undefined) {
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress: 1, total: 1 },
      });
    }
    return { content: [{ type: 'text', text: `${topic} #${run}` }] };
  });
  server.server.onerror = (error) => errors.push(error);
  return server;
}

/**
 * Streamable HTTP on 127.0.0.1. Stateful: one server per session. Stateless: a new server
 * and transport per POST, kept open until the end (a background refresh outlives the POST
 * that started it; closing a connection abandons its refresh).
 */
async function serve(stateless: boolean, c: CacheMiddleware) {
  const runs = { count: 0 };
  const errors: Error[] = [];
  const transports: StreamableHTTPServerTransport[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const connect = async (): Promise<StreamableHTTPServerTransport> => {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport(
      stateless
        ? { sessionIdGenerator: undefined }
        : {
            sessionIdGenerator: randomUUID,
            onsessioninitialized: (id) => {
              sessions.set(id, transport);
            },
          },
    );
    transport.onerror = (error) => errors.push(error);
    const server = chattyServer(runs, errors);
    withMiddleware(server, [c]);
    await server.connect(transport);
    transports.push(transport);
    return transport;
  };
  const endpoint = await listenOnLoopback(
    async (req, res, body) => {
      const id = req.headers['mcp-session-id'] as string | undefined;
      const transport = (id === undefined ? undefined : sessions.get(id)) ?? (await connect());
      await transport.handleRequest(req, res, body);
    },
    (error) => errors.push(error as Error),
  );
  return {
    url: endpoint.url,
    runs,
    errors,
    async close() {
      for (const transport of transports) await transport.close();
      await endpoint.close();
    },
  };
}

for (const stateless of [false, true]) {
  describe(`a background refresh over Streamable HTTP, ${stateless ? 'stateless' : 'stateful'}`, () => {
    it('keeps the refreshed tool’s log and progress off the transport and stores the fresh result', async () => {
      const clock = fakeClock();
      const c = cache({ now: clock.now, tools: { include: ['chatty'], ttlMs: 1_000, staleMs: 10_000 } });
      const server = await serve(stateless, c);
      const client = new Client({ name: 'http-refresh', version: '1.0.0' });
      const clientErrors: Error[] = [];
      client.onerror = (error) => clientErrors.push(error);
      await client.connect(new StreamableHTTPClientTransport(server.url));
      const call = () =>
        client.callTool({ name: 'chatty', arguments: { topic: 'rain' } }, undefined, {
          onprogress: () => {},
        });
      try {
        assert.equal(textOf(await call()), 'rain #1');
        clock.advance(1_500);
        assert.equal(textOf(await call()), 'rain #1', 'the stale entry is served');
        await until(() => c.stats().stored === 2 || server.errors.length !== 0, 'the refresh to end');
        assert.deepEqual(
          server.errors.map((e) => e.message),
          [],
        );
        assert.equal(c.stats().stored, 2, 'the refresh was stored');
        assert.equal(textOf(await call()), 'rain #2', 'the fresh result is served');
        assert.equal(server.runs.count, 2);
        assert.deepEqual(
          clientErrors.map((e) => e.message),
          [],
        );
      } finally {
        await client.close();
        await server.close();
      }
    });
  });
}
