/**
 * The SDK pitfalls the transport wrapper must handle (DESIGN.md §1), each shown failing
 * in the way it would fail without the handling. The comment on each test says what
 * breaks when the handling is removed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  type AuthInfo,
  type JsonRpcMessage,
  type McpTransport,
  type Middleware,
  type RequestContext,
  withMiddleware,
  wrapTransport,
} from '../../src/index.js';
import { FakeTransport } from '../helpers/fake-transport.js';
import { connectPair, createCountingServer, deferred } from '../helpers/servers.js';
import { orderLog, textOf } from '../helpers/stacks.js';

/** A fake transport that can wait until something matching is sent through it. */
class WaitingTransport extends FakeTransport {
  private waiters: { match: (m: JsonRpcMessage) => boolean; resolve: () => void }[] = [];

  override async send(message: JsonRpcMessage, options?: unknown): Promise<void> {
    await super.send(message, options);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(message)) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once a message matching `match` has been sent (or already was). */
  sentMatching(match: (m: JsonRpcMessage) => boolean): Promise<void> {
    if (this.sent.some((s) => match(s.message))) return Promise.resolve();
    const done = deferred();
    this.waiters.push({ match, resolve: done.resolve });
    return done.promise;
  }
}

const responseTo = (id: string | number) => (m: JsonRpcMessage) => !('method' in m) && m.id === id;

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 'init',
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'fake', version: '1' } },
} as const;

const passThrough: Middleware = async function passThrough(_ctx, next) {
  return next();
};

describe('pitfall 3: callbacks already on the inner transport are chained, not overwritten', () => {
  // Without chaining, whoever set these callbacks first (a session manager, a logger, a
  // transport owner such as serveStdio) silently stops hearing messages, errors and close.
  for (const side of ['server', 'client'] as const) {
    it(`keeps onmessage, onerror and onclose on the ${side} side`, async () => {
      const inner = new FakeTransport();
      const heard: string[] = [];
      inner.onmessage = (m) => heard.push(`before:message:${'method' in m ? m.method : 'response'}`);
      inner.onerror = (e) => heard.push(`before:error:${e.message}`);
      inner.onclose = () => heard.push('before:close');
      const wrapper = wrapTransport(inner, [passThrough], { side });
      wrapper.onmessage = (m: JsonRpcMessage) =>
        heard.push(`wrapper:message:${'method' in m ? m.method : 'response'}`);
      wrapper.onerror = (e) => heard.push(`wrapper:error:${e.message}`);
      wrapper.onclose = () => heard.push('wrapper:close');
      await wrapper.start();

      inner.receive({
        jsonrpc: '2.0',
        method: 'notifications/message',
        params: { level: 'info', data: 'x' },
      });
      inner.onerror?.(new Error('boom'));
      await inner.close();
      assert.deepEqual(heard, [
        'before:message:notifications/message',
        'wrapper:message:notifications/message',
        'before:error:boom',
        'wrapper:error:boom',
        'before:close',
        'wrapper:close',
      ]);
    });
  }
});

describe('pitfall 2: optional transport members exist only when the inner transport has them', () => {
  // Without this, a wrapper that always defines setProtocolVersion hides the fact that the
  // inner one has none, and one that never defines it makes the HTTP client drop the
  // mcp-protocol-version header (the server then falls back to 2025-03-26).
  it('has no setProtocolVersion or hasPerRequestStream over a transport without them', () => {
    const wrapper = wrapTransport(new FakeTransport(), [passThrough], { side: 'client' });
    assert.equal('setProtocolVersion' in wrapper, false);
    assert.equal('setSupportedProtocolVersions' in wrapper, false);
    assert.equal('hasPerRequestStream' in wrapper, false);
  });

  it('forwards setProtocolVersion to a transport that has it, and records the version', () => {
    const inner = new FakeTransport() as FakeTransport & {
      setProtocolVersion(v: string): void;
      version?: string;
    };
    inner.setProtocolVersion = function (this: typeof inner, v: string) {
      this.version = v;
    };
    const wrapper = wrapTransport(inner, [passThrough], { side: 'client' });
    const asTransport: McpTransport = wrapper;
    assert.equal(typeof asTransport.setProtocolVersion, 'function');
    asTransport.setProtocolVersion?.('2025-11-25');
    assert.equal(inner.version, '2025-11-25', 'called with the inner transport as this');
    assert.equal(wrapper.pipeline.session.protocolVersion, '2025-11-25');
    assert.equal(wrapper.pipeline.session.era, 'legacy');
  });
});

describe('pitfall 3: the transport extra passes through untouched', () => {
  // Without it, authInfo never reaches the SDK's handlers (every multi-tenant server
  // breaks) nor ctx.authInfo (a private cache entry would be shared across principals).
  it('hands the same extra object to the SDK and to the middleware', async () => {
    const inner = new FakeTransport();
    const seen: RequestContext[] = [];
    const wrapper = wrapTransport(
      inner,
      [
        async function record(ctx, next) {
          seen.push(ctx);
          return next();
        },
      ],
      { side: 'server' },
    );
    const delivered: unknown[] = [];
    wrapper.onmessage = (_m: JsonRpcMessage, extra?: unknown) => delivered.push(extra);
    await wrapper.start();
    const authInfo: AuthInfo = { token: 't', clientId: 'bob', scopes: [] };
    const extra = { authInfo, requestInfo: { headers: { 'x-test': '1' } } };
    inner.receive({ jsonrpc: '2.0', id: 7, method: 'tools/list' }, extra);
    await Promise.resolve();
    assert.equal(delivered[0], extra, 'the very same object reaches the SDK');
    assert.equal(seen[0]?.extra, extra);
    assert.equal(seen[0]?.authInfo, authInfo);
  });

  it('gets authInfo to a real v1 tool handler through a server-side stack', async () => {
    const { server } = createCountingServer();
    server.registerTool('whoami', { inputSchema: {} }, async (_args, extra) => ({
      content: [{ type: 'text', text: extra.authInfo?.clientId ?? 'nobody' }],
    }));
    withMiddleware(server, [passThrough]);
    const [raw, serverSide] = InMemoryTransport.createLinkedPair();
    const answers = new Map<string | number, JsonRpcMessage>();
    const answered = deferred();
    raw.onmessage = (m) => {
      const message = m as JsonRpcMessage;
      if ('id' in message && !('method' in message)) {
        answers.set(message.id, message);
        if (message.id === 2) answered.resolve();
      }
    };
    await server.connect(serverSide);
    await raw.start();
    const authInfo: AuthInfo = { token: 't', clientId: 'carol', scopes: ['a'] };
    await raw.send(INITIALIZE as never);
    await raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await raw.send(
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } },
      { authInfo },
    );
    await answered.promise;
    assert.equal(textOf((answers.get(2) as { result: unknown }).result), 'carol');
    await server.close();
  });
});

describe('pitfall 6: server notifications keep their send options (relatedRequestId)', () => {
  // Without it, Streamable HTTP sends a request's progress on the standalone GET stream
  // (or drops it when there is none) instead of on that request's own response stream.
  for (const stack of [[], [passThrough]] as const) {
    it(`passes relatedRequestId for progress and the response (${stack.length === 0 ? 'empty' : 'one-layer'} stack)`, async () => {
      const inner = new WaitingTransport();
      const { server } = createCountingServer();
      await server.connect(wrapTransport(inner, stack, { side: 'server' }));
      inner.receive(INITIALIZE);
      await inner.sentMatching(responseTo('init'));
      inner.receive({ jsonrpc: '2.0', method: 'notifications/initialized' });
      inner.receive({
        jsonrpc: '2.0',
        id: 41,
        method: 'tools/call',
        params: { name: 'progress', arguments: { steps: 2 }, _meta: { progressToken: 'tok' } },
      });
      await inner.sentMatching(responseTo(41));
      const forCall = inner.sent.filter(
        (s) => 'method' in s.message || ('id' in s.message && s.message.id === 41),
      );
      assert.deepEqual(
        forCall.map((s) => [('method' in s.message && s.message.method) || 'response', s.options]),
        [
          ['notifications/progress', { relatedRequestId: 41 }],
          ['notifications/progress', { relatedRequestId: 41 }],
          // The SDK sends its response with no options; the wrapper adds none either.
          ['response', undefined],
        ],
      );
      await server.close();
    });
  }
});

describe('pitfall 6: progress reaches a v1 client through stacks on both sides', () => {
  // Without progress routing, the v1 client (which parses its token with Number()) never
  // sees a step: a token rewritten or a notification swallowed by the stack loses them all.
  it('delivers every step, in order, before the result', async () => {
    const log: string[] = [];
    const pair = await connectPair({ server: [orderLog(log, 'server')], client: [orderLog(log, 'client')] });
    try {
      const steps: number[] = [];
      const result = await pair.client.callTool({ name: 'progress', arguments: { steps: 5 } }, undefined, {
        onprogress: (p) => steps.push(p.progress),
      });
      assert.equal(textOf(result), 'done 5');
      assert.deepEqual(steps, [1, 2, 3, 4, 5]);
      assert.deepEqual(log.slice(-4), [
        'client:in:tools/call',
        'server:in:tools/call',
        'server:out:tools/call',
        'client:out:tools/call',
      ]);
    } finally {
      await pair.close();
    }
  });
});

describe('pitfall 7: initialize and ping are not delayed by a middleware that holds requests', () => {
  // A queue that honours ctx.control lets the handshake and pings through while it holds
  // work. Without the control flag (or if the pipeline ran one request per connection at a
  // time) connect() and ping() would wait behind the held call, and this test would time out.
  it('answers ping and a new connection while tools/call is held', { timeout: 5000 }, async () => {
    const release = deferred();
    const control: Record<string, boolean> = {};
    let holding = 0;
    const holdWork: Middleware = async function holdWork(ctx, next) {
      control[ctx.method] = ctx.control;
      if (ctx.control) return next();
      if (ctx.method === 'tools/call') {
        holding++;
        await release.promise;
        holding--;
      }
      return next();
    };
    const first = await connectPair({ server: [holdWork] });
    const { server: second } = createCountingServer();
    withMiddleware(second, [holdWork]);
    try {
      const held = first.client.callTool({ name: 'echo', arguments: { text: 'held' } });
      let heldSettled = false;
      held.then(() => {
        heldSettled = true;
      });
      await first.client.ping();
      assert.equal(holding, 1, 'the call is still held while ping was answered');

      // A second connection through the same middleware instance: initialize is not held.
      const [c, s] = InMemoryTransport.createLinkedPair();
      await second.connect(s);
      const client2 = new Client({ name: 'second', version: '1.0.0' });
      await client2.connect(c);
      await client2.ping();
      assert.equal(heldSettled, false);
      assert.deepEqual(control, { initialize: true, ping: true, 'tools/call': false });

      release.resolve();
      assert.equal(textOf(await held), 'held');
      await client2.close();
    } finally {
      await first.close();
      await second.close();
    }
  });
});
