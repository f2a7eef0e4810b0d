import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  isInvalidOptionError,
  isMiddlewareTransport,
  type Middleware,
  type MiddlewareTransport,
  withMiddleware,
  wrapTransport,
} from '../../src/index.js';
import { FakeTransport, flush } from '../helpers/fake-transport.js';
import { connectPair, createCountingServer, deferred } from '../helpers/servers.js';

const localEcho: Middleware = async function localEcho(ctx, next) {
  const params = ctx.params as { name?: string; arguments?: { text?: string } } | undefined;
  if (ctx.method === 'tools/call' && params?.name === 'echo' && params.arguments?.text === 'local') {
    return { result: { content: [{ type: 'text', text: 'answered locally' }] } };
  }
  return next();
};

const passThrough: Middleware = async function passThrough(_ctx, next) {
  return next();
};

describe('MiddlewareTransport', () => {
  it('reads sessionId live from the inner transport (a copied value makes the client skip initialize)', () => {
    const inner = new FakeTransport();
    const wrapped = wrapTransport(inner, [], { side: 'client' });
    assert.equal(wrapped.sessionId, undefined);
    inner.sessionId = 'assigned-later';
    assert.equal(wrapped.sessionId, 'assigned-later');
  });

  it('forwards optional members only when the inner transport has them', () => {
    const bare = wrapTransport(new FakeTransport(), [], { side: 'client' });
    assert.equal('setProtocolVersion' in bare, false);
    assert.equal('hasPerRequestStream' in bare, false);
    const versions: string[] = [];
    const inner = Object.assign(new FakeTransport(), {
      setProtocolVersion: (v: string) => versions.push(v),
      hasPerRequestStream: true,
    });
    const wrapped = wrapTransport(inner, [], { side: 'client' }) as MiddlewareTransport & {
      setProtocolVersion(v: string): void;
      hasPerRequestStream: boolean;
    };
    wrapped.setProtocolVersion('2025-11-25');
    assert.deepEqual(versions, ['2025-11-25']);
    assert.equal(wrapped.pipeline.session.protocolVersion, '2025-11-25');
    assert.equal(wrapped.hasPerRequestStream, true);
  });

  it('chains the callbacks already set on the inner transport instead of overwriting them', async () => {
    const inner = new FakeTransport();
    const seen: string[] = [];
    inner.onmessage = (m) => seen.push(`pre:${'method' in m ? m.method : 'response'}`);
    inner.onerror = (e) => seen.push(`pre-error:${e.message}`);
    inner.onclose = () => seen.push('pre-close');
    const wrapped = wrapTransport(inner, [], { side: 'server' });
    wrapped.onmessage = (m) => seen.push(`sdk:${'method' in m ? m.method : 'response'}`);
    wrapped.onerror = (e) => seen.push(`sdk-error:${e.message}`);
    wrapped.onclose = () => seen.push('sdk-close');
    await wrapped.start();
    inner.receive({ jsonrpc: '2.0', method: 'notifications/initialized' });
    inner.onerror?.(new Error('x'));
    await inner.close();
    assert.deepEqual(seen, [
      'pre:notifications/initialized',
      'sdk:notifications/initialized',
      'pre-error:x',
      'sdk-error:x',
      'pre-close',
      'sdk-close',
    ]);
  });

  it('passes extra and send options through untouched', async () => {
    const inner = new FakeTransport();
    const wrapped = wrapTransport(inner, [async (_c, next) => next()], { side: 'server' });
    const extras: unknown[] = [];
    wrapped.onmessage = (_m, extra) => extras.push(extra);
    await wrapped.start();
    const extra = { authInfo: { token: 't', clientId: 'c', scopes: [] }, requestInfo: { headers: {} } };
    inner.receive({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } }, extra);
    await flush();
    assert.equal(extras[0], extra);
    await wrapped.send(
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
      { relatedRequestId: 1 },
    );
    await wrapped.send({ jsonrpc: '2.0', id: 1, result: {} }, { relatedRequestId: 1 });
    await flush();
    assert.deepEqual(
      inner.sent.map((s) => s.options),
      [{ relatedRequestId: 1 }, { relatedRequestId: 1 }],
    );
  });

  for (const stack of [[], [passThrough]] as Middleware[][]) {
    it(`client side: passes the extra of every inbound message to the SDK (${stack.length} layers)`, async () => {
      const inner = new FakeTransport();
      const wrapped = wrapTransport(inner, stack, { side: 'client' });
      const seen: [unknown, unknown][] = [];
      wrapped.onmessage = (m, extra) =>
        seen.push([(m as { id?: unknown; method?: unknown }).id ?? m.method, extra]);
      await wrapped.start();
      await wrapped.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } });
      await flush();
      const extras = [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }];
      inner.receive({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }, extras[0]);
      inner.receive({ jsonrpc: '2.0', id: 'srv', method: 'ping' }, extras[1]);
      inner.receive({ jsonrpc: '2.0', id: 1, result: { content: [] } }, extras[2]);
      inner.receive({ jsonrpc: '2.0', id: 99, result: {} }, extras[3]);
      await flush();
      const byWhat = new Map(seen);
      assert.equal(seen.length, 4);
      const whats = ['notifications/tools/list_changed', 'srv', 1, 99];
      for (const [i, what] of whats.entries()) assert.equal(byWhat.get(what), extras[i], String(what));
    });
  }

  it('hands the inner send promise back to the SDK when a message passes straight through', async () => {
    const inner = new FakeTransport();
    inner.send = () => Promise.reject(new Error('socket hang up'));
    const wrapped = wrapTransport(inner, [], { side: 'client' });
    await wrapped.start();
    await assert.rejects(wrapped.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), /socket hang up/);
    await assert.rejects(
      wrapped.send({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      /socket hang up/,
    );
  });

  it('adds layers to an existing wrapper instead of nesting wrappers', () => {
    const inner = new FakeTransport();
    const first = wrapTransport(
      inner,
      [
        async function a(_c, n) {
          return n();
        },
      ],
      { side: 'server' },
    );
    const second = wrapTransport(
      first,
      [
        async function b(_c, n) {
          return n();
        },
      ],
      { side: 'server' },
    );
    assert.equal(first, second);
    assert.equal(first.inner, inner);
    assert.deepEqual(first.pipeline.describe(), ['a', 'b']);
    assert.throws(() => wrapTransport(first, [], { side: 'client' }), isInvalidOptionError);
    assert.equal(isMiddlewareTransport(first), true);
    assert.equal(isMiddlewareTransport(inner), false);
  });

  it('validates its options', () => {
    assert.throws(
      () => wrapTransport(new FakeTransport(), [], { side: 'both' as 'server' }),
      /options\.side must be/,
    );
    assert.throws(() => withMiddleware(new FakeTransport() as never, []), /options\.side must be/);
    assert.throws(() => withMiddleware({} as never, []), /options\.target must be/);
    assert.throws(() => withMiddleware(new FakeTransport(), [42 as never], { side: 'server' }), /stack\[0\]/);
  });
});

describe('withMiddleware over the SDK (v1, in-memory)', () => {
  for (const side of ['server', 'client'] as const) {
    it(`delivers a local answer on the ${side} side; the tool never runs`, async () => {
      const pair = await connectPair({ [side]: [localEcho] });
      const local = await pair.client.callTool({ name: 'echo', arguments: { text: 'local' } });
      const remote = await pair.client.callTool({ name: 'echo', arguments: { text: 'remote' } });
      assert.deepEqual(local.content, [{ type: 'text', text: 'answered locally' }]);
      assert.deepEqual(remote.content, [{ type: 'text', text: 'remote' }]);
      assert.equal(pair.counts.echo, 1);
      await pair.close();
    });

    it(`routes progress to the caller through a stack on the ${side} side`, async () => {
      const pair = await connectPair({ [side]: [passThrough] });
      const steps: number[] = [];
      await pair.client.callTool({ name: 'progress', arguments: { steps: 3 } }, undefined, {
        onprogress: (p) => steps.push(p.progress),
      });
      assert.deepEqual(steps, [1, 2, 3]);
      await pair.close();
    });

    it(`cancels a request that is with the server through a stack on the ${side} side`, async () => {
      const gate = deferred();
      const pair = await connectPair({
        [side]: [passThrough],
        counting: { gate: () => gate.promise },
      });
      const controller = new AbortController();
      const call = pair.client.callTool({ name: 'gate', arguments: {} }, undefined, {
        signal: controller.signal,
      });
      while (!pair.counts.gate) await flush();
      controller.abort('user gave up');
      await assert.rejects(call, /gave up|abort/i);
      gate.resolve();
      while (!pair.counts['gate:aborted']) await flush();
      assert.equal(pair.counts['gate:aborted'], 1);
      await pair.close();
    });

    it(`never delays initialize or ping behind a held tools/call (${side} side)`, async () => {
      const release = deferred();
      const hold: Middleware = async function hold(ctx, next) {
        if (ctx.method === 'tools/call') await release.promise;
        return next();
      };
      const pair = await connectPair({ [side]: [hold] });
      const held = pair.client.callTool({ name: 'echo', arguments: { text: 'later' } });
      await pair.client.ping();
      release.resolve();
      assert.deepEqual((await held).content, [{ type: 'text', text: 'later' }]);
      await pair.close();
    });
  }

  it('learns the session facts on both sides', async () => {
    const sessions: Record<string, unknown> = {};
    const grab = (name: string): Middleware =>
      async function grab(ctx, next) {
        sessions[name] = ctx.session;
        return next();
      };
    const pair = await connectPair({ server: [grab('server')], client: [grab('client')] });
    await pair.client.listTools();
    const server = sessions.server as { clientInfo: { name: string }; era: string; protocolVersion: string };
    const client = sessions.client as {
      serverInfo: { name: string };
      era: string;
      serverCapabilities: object;
    };
    assert.equal(server.clientInfo.name, 'test-client');
    assert.equal(server.era, 'legacy');
    assert.equal(server.protocolVersion, '2025-11-25');
    assert.equal(client.serverInfo.name, 'counting');
    assert.ok('tools' in client.serverCapabilities);
    await pair.close();
  });

  it('lets a server-side middleware issue its own request to the SDK server', async () => {
    let own: unknown;
    const ask: Middleware = async function ask(ctx, next) {
      if (ctx.method === 'tools/list') {
        own = await ctx.connection.request(
          'tools/call',
          { name: 'add', arguments: { a: 2, b: 3 } },
          { extra: ctx.extra },
        );
      }
      return next();
    };
    const pair = await connectPair({ server: [ask] });
    await pair.client.listTools();
    assert.deepEqual((own as { result: { content: unknown } }).result.content, [{ type: 'text', text: '5' }]);
    assert.equal(pair.counts.add, 1);
    await pair.close();
  });

  it('stacks several withMiddleware calls on one target into one pipeline, in call order', async () => {
    const log: string[] = [];
    const mark = (name: string): Middleware =>
      async function mark(ctx, next) {
        if (ctx.method === 'tools/call') log.push(name);
        return next();
      };
    const { server } = createCountingServer();
    withMiddleware(server, [mark('a')]);
    withMiddleware(server, [mark('b'), mark('c')]);
    const client = new Client({ name: 'c', version: '1' });
    const [ct, st] = InMemoryTransport.createLinkedPair();
    await server.connect(st);
    await client.connect(ct);
    await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    assert.deepEqual(log, ['a', 'b', 'c']);
    await client.close();
  });

  it('patches a low-level Server and a Client', async () => {
    const server = new Server({ name: 's', version: '1' }, { capabilities: {} });
    const client = new Client({ name: 'c', version: '1' });
    const sides: string[] = [];
    const record: Middleware = async function record(ctx, next) {
      sides.push(`${ctx.side}:${ctx.method}`);
      return next();
    };
    withMiddleware(server, [record]);
    withMiddleware(client, [record]);
    const [ct, st] = InMemoryTransport.createLinkedPair();
    await server.connect(st);
    await client.connect(ct);
    await client.ping();
    assert.deepEqual(sides, ['client:initialize', 'server:initialize', 'client:ping', 'server:ping']);
    await client.close();
  });
});
