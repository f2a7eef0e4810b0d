import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type AuthInfo, type Middleware, type MiddlewareTransport, withMiddleware } from '../../src/index.js';
import { listenOnLoopback } from '../helpers/http.js';
import { type Counts, createCountingServer } from '../helpers/servers.js';
import {
  methodCounter,
  RecordingTransport,
  rememberToolCalls,
  runScenario,
  scenarioStack,
  textOf,
} from '../helpers/stacks.js';

const AUTH: AuthInfo = { token: 'token-of-alice', clientId: 'alice', scopes: ['tools:call'] };

/** What the HTTP server saw of each request: method, session and protocol-version headers, JSON-RPC method. */
interface SeenRequest {
  http: string | undefined;
  session: string | undefined;
  version: string | undefined;
  rpc: string | undefined;
}

async function listen(
  handle: (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, body: unknown) => Promise<void>,
) {
  const seen: SeenRequest[] = [];
  const endpoint = await listenOnLoopback(async (req, res, body) => {
    seen.push({
      http: req.method,
      session: req.headers['mcp-session-id'] as string | undefined,
      version: req.headers['mcp-protocol-version'] as string | undefined,
      rpc: (body as { method?: string } | undefined)?.method,
    });
    (req as IncomingMessage & { auth?: AuthInfo }).auth = AUTH;
    await handle(req, res, body);
  });
  return { url: endpoint.url, seen, close: endpoint.close };
}

/** Stateful Streamable HTTP: one server and transport per session, created on initialize. */
async function statefulServer(stack: readonly Middleware[]) {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const counts: Counts[] = [];
  const front = await listen(async (req, res, body) => {
    const id = req.headers['mcp-session-id'] as string | undefined;
    let transport = id === undefined ? undefined : sessions.get(id);
    if (transport === undefined) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (sessionId) => {
          sessions.set(sessionId, created);
        },
      });
      const counting = createCountingServer();
      counts.push(counting.counts);
      withMiddleware(counting.server, stack);
      await counting.server.connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res, body);
  });
  return {
    ...front,
    sessions,
    counts: () => sum(counts),
    async close() {
      for (const transport of sessions.values()) await transport.close();
      await front.close();
    },
  };
}

function sum(all: Counts[]): Counts {
  const total: Counts = {};
  for (const counts of all) for (const [k, v] of Object.entries(counts)) total[k] = (total[k] ?? 0) + v;
  return total;
}

describe('SDK v1 over Streamable HTTP, stateful', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('runs a stack on the server side with live session facts and the auth info', async () => {
    const log: string[] = [];
    const facts: { sessionId?: string; version?: string; era?: string; auth?: AuthInfo }[] = [];
    const spy: Middleware = async function sessionFacts(ctx, next) {
      if (ctx.method === 'tools/call') {
        facts.push({
          sessionId: ctx.session.sessionId,
          version: ctx.session.protocolVersion,
          era: ctx.session.era,
          auth: ctx.authInfo,
        });
      }
      return next();
    };
    const server = await statefulServer([spy, ...scenarioStack(log)]);
    closers.push(server.close);
    const wire = new RecordingTransport(new StreamableHTTPClientTransport(server.url));
    const client = new Client({ name: 'http-test', version: '1.0.0' });
    await client.connect(wire);
    closers.push(() => client.close());

    await runScenario({ client, readCounts: async () => server.counts(), readLog: async () => log, wire });

    const sessionId = wire.sessionId;
    assert.ok(sessionId !== undefined && server.sessions.has(sessionId));
    assert.equal(facts.length, 3);
    for (const fact of facts) {
      assert.equal(fact.sessionId, sessionId, 'the server-side session id is the live transport value');
      // The negotiated version, not the 2025-03-26 fallback the transport assumes without the header.
      assert.equal(fact.version, '2025-11-25');
      assert.equal(fact.era, 'legacy');
      assert.deepEqual(fact.auth, AUTH, 'req.auth reaches ctx.authInfo through the transport extra');
    }
  });

  it('runs a stack on the client side: initialize is sent, then the session id and version header follow', async () => {
    const log: string[] = [];
    const server = await statefulServer([]);
    closers.push(server.close);
    const inner = new StreamableHTTPClientTransport(server.url);
    const client = withMiddleware(new Client({ name: 'http-test', version: '1.0.0' }), scenarioStack(log));
    await client.connect(inner);
    closers.push(() => client.close());
    const wrapper = client.transport as MiddlewareTransport;
    assert.notEqual(wrapper, inner, 'the client talks through the wrapper');

    // Pitfall 1: a session id read too early (undefined) or copied would make connect() skip initialize.
    const initialize = server.seen.filter((r) => r.rpc === 'initialize');
    assert.equal(initialize.length, 1, 'the client sent initialize');
    assert.equal(initialize[0]?.session, undefined, 'initialize carries no session id');
    assert.ok(inner.sessionId !== undefined);
    assert.equal(wrapper.sessionId, inner.sessionId, 'the wrapper reads the session id live');
    assert.equal(wrapper.pipeline.session.sessionId, inner.sessionId);

    await runScenario({ client, readCounts: async () => server.counts(), readLog: async () => log });

    // Pitfall 2: setProtocolVersion reaches the inner transport, which then sends the header.
    assert.equal(inner.protocolVersion, '2025-11-25');
    assert.equal(wrapper.pipeline.session.protocolVersion, '2025-11-25');
    const later = server.seen.filter((r) => r.http === 'POST' && r.rpc !== 'initialize');
    assert.deepEqual(
      later.map((r) => r.rpc),
      ['notifications/initialized', 'tools/list', 'tools/call', 'tools/call'],
      'the local answer never went over HTTP',
    );
    for (const request of later) {
      assert.equal(request.version, '2025-11-25', `${request.rpc} carries mcp-protocol-version`);
      assert.equal(request.session, inner.sessionId, `${request.rpc} carries the session id`);
    }
  });
});

describe('SDK v1 over Streamable HTTP, stateless (a new server and transport per POST)', () => {
  it('keeps middleware state across connections: every request counted, a repeat answered locally', async () => {
    const counter = methodCounter();
    const remember = rememberToolCalls();
    const counts: Counts[] = [];
    let connections = 0;
    const front = await listen(async (req, res, body) => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      const counting = createCountingServer();
      counts.push(counting.counts);
      withMiddleware(counting.server, [counter, remember]);
      res.on('close', () => {
        transport.close();
        counting.server.close();
      });
      connections++;
      await counting.server.connect(transport);
      await transport.handleRequest(req, res, body);
    });
    const client = new Client({ name: 'http-stateless', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(front.url));
      const first = await client.callTool({ name: 'echo', arguments: { text: 'same' } });
      const second = await client.callTool({ name: 'echo', arguments: { text: 'same' } });
      const other = await client.callTool({ name: 'echo', arguments: { text: 'other' } });
      assert.equal(textOf(first), 'same');
      assert.deepEqual(second, first);
      assert.equal(textOf(other), 'other');

      assert.equal(sum(counts).echo, 2, 'the repeat never reached a server');
      assert.equal(remember.hits, 1);
      assert.equal(counter.counts['tools/call'], 3, 'one counter saw the calls of every connection');
      assert.equal(counter.counts.initialize, 1);
      assert.ok(connections >= 4, `a connection per POST (${connections})`);
    } finally {
      await client.close();
      await front.close();
    }
  });
});
