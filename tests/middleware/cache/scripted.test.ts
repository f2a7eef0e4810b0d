/**
 * The cache driven through a pipeline whose handler a test scripts: results the SDK v1
 * server cannot produce (modern cache hints, `input_required`, task acknowledgements,
 * private scope), auth info per request, and the client and proxy sides.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pipeline } from '../../../src/entries/core.js';
import type { JsonObject, JsonRpcMessage, JsonRpcRequest, Middleware, Side } from '../../../src/index.js';
import { cache } from '../../../src/middleware/cache/index.js';
import { fakeClock, user } from './helpers.js';

const MODERN_META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' };

function scripted(stack: Middleware[], side: Side = 'server') {
  const handled: JsonRpcRequest[] = [];
  const waiting = new Map<unknown, (message: JsonRpcMessage) => void>();
  let answer: (request: JsonRpcRequest) => JsonObject = () => ({});
  let seq = 0;
  const pipeline = new Pipeline(
    side,
    {
      toCaller(message) {
        if ('id' in message && !('method' in message)) waiting.get(message.id)?.(message);
      },
      toHandler(message) {
        if ('method' in message && 'id' in message) {
          handled.push(message);
          const result = answer(message);
          queueMicrotask(() => pipeline.fromHandler({ jsonrpc: '2.0', id: message.id, result }));
        }
      },
      sessionId: () => undefined,
      reportError: () => {},
    },
    stack,
  );
  return {
    pipeline,
    handled,
    answerWith(fn: (request: JsonRpcRequest) => JsonObject) {
      answer = fn;
    },
    call(method: string, params: JsonObject = {}, extra?: unknown): Promise<JsonObject> {
      const id = ++seq;
      return new Promise((resolve, reject) => {
        waiting.set(id, (message) => {
          waiting.delete(id);
          if ('result' in message) resolve(message.result);
          else reject(new Error(JSON.stringify(message)));
        });
        pipeline.fromCaller({ jsonrpc: '2.0', id, method, params }, extra);
      });
    },
  };
}

const read = (uri: string, modern = true) => ({ uri, ...(modern ? { _meta: MODERN_META } : {}) });

describe('cache with modern (2026-07-28) results', () => {
  it('honours ttlMs as a cap on the policy TTL and lowers it on hits to what is left', async () => {
    const clock = fakeClock();
    const s = scripted([cache({ clock: clock.now, ttlMs: 60_000 })]);
    s.answerWith(() => ({ contents: [], resultType: 'complete', ttlMs: 5_000, cacheScope: 'public' }));
    await s.call('resources/read', read('file:///a'));
    clock.advance(2_000);
    const hit = await s.call('resources/read', read('file:///a'));
    assert.equal(hit.ttlMs, 3_000);
    assert.equal(s.handled.length, 1);
    clock.advance(3_000);
    await s.call('resources/read', read('file:///a'));
    assert.equal(s.handled.length, 2, 'expired after the hint, not the policy');
  });

  it('a modern result without ttlMs is not cached, unless hints are ignored', async () => {
    for (const hints of ['respect', 'ignore'] as const) {
      const s = scripted([cache({ resources: { hints } })]);
      s.answerWith(() => ({ contents: [], resultType: 'complete' }));
      await s.call('resources/read', read('file:///a'));
      await s.call('resources/read', read('file:///a'));
      assert.equal(s.handled.length, hints === 'respect' ? 2 : 1, hints);
    }
  });

  it('ttlMs: 0 means do not cache', async () => {
    const s = scripted([cache()]);
    s.answerWith(() => ({ tools: [], resultType: 'complete', ttlMs: 0, cacheScope: 'public' }));
    await s.call('tools/list', { _meta: MODERN_META });
    await s.call('tools/list', { _meta: MODERN_META });
    assert.equal(s.handled.length, 2);
  });

  it('never caches input_required (or any non-complete resultType) nor task acknowledgements', async () => {
    const c = cache({ tools: { include: ['**'] } });
    const s = scripted([c]);
    s.answerWith((request) =>
      (request.params?.name as string) === 'ask'
        ? { resultType: 'input_required', inputRequests: {}, requestState: 'opaque' }
        : { task: { taskId: 't1', status: 'working' } },
    );
    for (const name of ['ask', 'ask', 'long', 'long']) {
      await s.call('tools/call', { name, arguments: {}, _meta: MODERN_META });
    }
    assert.equal(s.handled.length, 4);
    assert.equal(c.stats().uncacheable, 4);
  });

  it('private results are kept per principal and never shared across principals', async () => {
    const c = cache();
    const s = scripted([c]);
    s.answerWith(() => ({ tools: [], resultType: 'complete', ttlMs: 10_000, cacheScope: 'private' }));
    const alice = { authInfo: user('app', 'alice') };
    const bob = { authInfo: user('app', 'bob') };
    await s.call('tools/list', { _meta: MODERN_META }, alice);
    await s.call('tools/list', { _meta: MODERN_META }, alice);
    assert.equal(s.handled.length, 1);
    await s.call('tools/list', { _meta: MODERN_META }, bob);
    assert.equal(s.handled.length, 2);
    await s.call('tools/list', { _meta: MODERN_META });
    await s.call('tools/list', { _meta: MODERN_META });
    assert.equal(s.handled.length, 4, 'anonymous callers on a server cannot be told apart: not cached');
  });

  it('on the client side a private result is cached (one client, one principal)', async () => {
    const s = scripted([cache()], 'client');
    s.answerWith(() => ({ tools: [], resultType: 'complete', ttlMs: 10_000, cacheScope: 'private' }));
    await s.call('tools/list', { _meta: MODERN_META });
    await s.call('tools/list', { _meta: MODERN_META });
    assert.equal(s.handled.length, 1);
  });

  it('a hit served on a modern connection still carries resultType', async () => {
    const s = scripted([cache({ tools: { include: ['echo'] } })]);
    s.answerWith(() => ({ content: [{ type: 'text', text: 'hi' }] }));
    await s.call('tools/call', { name: 'echo', arguments: {}, _meta: MODERN_META });
    const hit = await s.call('tools/call', { name: 'echo', arguments: {}, _meta: MODERN_META });
    assert.equal(hit.resultType, 'complete');
    assert.equal(s.handled.length, 1);
  });
});

describe('cache on a proxy', () => {
  it('partitions by the upstream server identity learned from initialize', async () => {
    const c = cache();
    const upstreams = ['alpha', 'beta'].map((name) => {
      const s = scripted([c], 'proxy');
      s.answerWith((request) =>
        request.method === 'initialize'
          ? { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name, version: '1' } }
          : { tools: [{ name: `${name}-tool`, inputSchema: { type: 'object' } }] },
      );
      return s;
    });
    for (const s of upstreams) {
      await s.call('initialize', {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'c', version: '1' },
      });
    }
    const a = await upstreams[0]!.call('tools/list');
    const b = await upstreams[1]!.call('tools/list');
    assert.notDeepEqual(a, b, 'one server never gets the other server’s list');
    await upstreams[0]!.call('tools/list');
    assert.equal(upstreams[0]!.handled.filter((r) => r.method === 'tools/list').length, 1);
  });
});
