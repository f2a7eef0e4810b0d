import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Context } from '../../src/core/context.js';
import { Pipeline, type PipelineEnds } from '../../src/entries/core.js';
import {
  CancelledError,
  isMalformedMessageError,
  isOverloadedError,
  type JsonRpcMessage,
  type Middleware,
  OverloadedError,
  type RequestContext,
  type SendOptions,
} from '../../src/index.js';
import { flush } from '../helpers/fake-transport.js';
import { deferred } from '../helpers/servers.js';

/** A pipeline whose two ends record what reaches them. */
function harness(stack: Middleware[], side: 'server' | 'client' | 'proxy' = 'server') {
  const toCaller: { message: JsonRpcMessage; options: SendOptions | undefined }[] = [];
  const toHandler: { message: JsonRpcMessage; extra: unknown; options: SendOptions | undefined }[] = [];
  const errors: Error[] = [];
  const ends: PipelineEnds = {
    toCaller: (message, options) => {
      toCaller.push({ message, options });
    },
    toHandler: (message, extra, options) => {
      toHandler.push({ message, extra, options });
    },
    sessionId: () => 'session-1',
    reportError: (error) => errors.push(error),
  };
  const pipeline = new Pipeline(side, ends, stack);
  return { pipeline, toCaller, toHandler, errors };
}

const call = (id: number | string, name = 'echo', extraParams: Record<string, unknown> = {}) =>
  ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {}, ...extraParams } }) as const;
const answer = (id: number | string, text = 'ok') =>
  ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } }) as const;

describe('Pipeline', () => {
  it('passes requests to the handler and the handler answer back, untouched, with an empty stack', async () => {
    const h = harness([]);
    const request = call(1);
    h.pipeline.fromCaller(request, { authInfo: { token: 't' } });
    assert.equal(h.toHandler[0]?.message, request);
    assert.deepEqual(h.toHandler[0]?.extra, { authInfo: { token: 't' } });
    const response = answer(1);
    h.pipeline.fromHandler(response, undefined, { relatedRequestId: 1 });
    assert.equal(h.toCaller[0]?.message, response);
    assert.deepEqual(h.toCaller[0]?.options, { relatedRequestId: 1 });
  });

  it('runs the stack in order around the handler and delivers the handler reply as is', async () => {
    const log: string[] = [];
    const layer = (name: string): Middleware => ({
      name,
      async request(ctx, next) {
        log.push(`${name}>${ctx.method}`);
        const reply = await next();
        log.push(`${name}<`);
        return reply;
      },
    });
    const h = harness([layer('a'), layer('b')]);
    h.pipeline.fromCaller(call(7));
    await flush();
    assert.deepEqual(log, ['a>tools/call', 'b>tools/call']);
    const response = answer(7);
    h.pipeline.fromHandler(response);
    await flush();
    assert.deepEqual(log, ['a>tools/call', 'b>tools/call', 'b<', 'a<']);
    assert.equal(h.toCaller[0]?.message, response);
  });

  it('sends a local answer under the caller id and never bothers the handler', async () => {
    const local: Middleware = async function local() {
      return { result: { content: [] } };
    };
    const h = harness([local]);
    h.pipeline.fromCaller(call('abc'));
    await flush();
    assert.equal(h.toHandler.length, 0);
    assert.deepEqual(h.toCaller[0]?.message, { jsonrpc: '2.0', id: 'abc', result: { content: [] } });
    assert.deepEqual(h.toCaller[0]?.options, { relatedRequestId: 'abc' });
  });

  it('passes replaced params to the handler under the caller id', async () => {
    const rewrite: Middleware = async function rewrite(ctx, next) {
      ctx.params = { ...ctx.params, name: 'other' };
      return next();
    };
    const h = harness([rewrite]);
    h.pipeline.fromCaller(call(3));
    await flush();
    assert.deepEqual(h.toHandler[0]?.message, {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'other', arguments: {} },
    });
  });

  it('completes a synthesized result for a modern connection', async () => {
    const local: Middleware = async function local() {
      return { result: { tools: [] } };
    };
    const h = harness([local]);
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' };
    h.pipeline.fromCaller({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } });
    await flush();
    assert.equal(h.pipeline.session.era, 'modern');
    assert.deepEqual(h.toCaller[0]?.message, {
      jsonrpc: '2.0',
      id: 1,
      result: { tools: [], resultType: 'complete', ttlMs: 0, cacheScope: 'private' },
    });
  });

  it('leaves a synthesized result alone on a legacy connection', async () => {
    const local: Middleware = async function local() {
      return { result: { tools: [] } };
    };
    const h = harness([local]);
    h.pipeline.fromCaller({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25' },
    });
    h.pipeline.fromCaller({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    await flush();
    assert.equal(h.pipeline.session.era, 'legacy');
    assert.deepEqual(h.toCaller.at(-1)?.message, { jsonrpc: '2.0', id: 2, result: { tools: [] } });
  });

  it('converts errors at the edge: library errors keep their code, others become internal errors and are reported', async () => {
    const shed: Middleware = async function shed(ctx) {
      if (ctx.params?.name === 'busy') {
        throw new OverloadedError('concurrency limit reached for tool "busy": 1/1 running, 0/0 queued', {
          retryAfterMs: 50,
          scope: 'tool:busy',
          limit: 1,
        });
      }
      throw new Error('kaput');
    };
    const h = harness([shed]);
    h.pipeline.fromCaller(call(1, 'busy'));
    h.pipeline.fromCaller(call(2, 'other'));
    await flush();
    const [first, second] = h.toCaller.map(
      (s) => s.message as { error: { code: number; message: string; data?: unknown } },
    );
    assert.equal(first?.error.code, -31503);
    assert.deepEqual(first?.error.data, { retryAfterMs: 50, scope: 'tool:busy', limit: 1 });
    assert.equal(second?.error.code, -32603);
    assert.match(second?.error.message ?? '', /kaput/);
    assert.equal(h.errors.length, 1);
  });

  it('rejects a second request with an id already in flight', async () => {
    const h = harness([async (_ctx, next) => next()]);
    h.pipeline.fromCaller(call(1));
    h.pipeline.fromCaller(call(1));
    assert.equal(h.toHandler.length, 1);
    assert.equal((h.toCaller[0]!.message as { error: { code: number } }).error.code, -32600);
  });

  it('runs completion hooks once, inner first, after every layer is done, for replies, errors and closes', async () => {
    const log: string[] = [];
    const hooked = (name: string): Middleware => ({
      name,
      request(ctx, next) {
        (ctx as Context).onSettled((_ctx, reply, error) =>
          log.push(`${name}:${reply ? 'reply' : `error ${(error as Error).message}`}`),
        );
        return next();
      },
    });
    const outer: Middleware = {
      name: 'outer',
      async request(_ctx, next) {
        const reply = await next();
        log.push('outer<');
        return reply;
      },
    };
    const h = harness([outer, hooked('a'), hooked('b')]);
    h.pipeline.fromCaller(call(1));
    await flush();
    assert.deepEqual(log, []);
    h.pipeline.fromHandler(answer(1));
    await flush();
    assert.deepEqual(log, ['outer<', 'b:reply', 'a:reply']);
    assert.equal(h.toCaller.length, 1);

    log.length = 0;
    const failing: Middleware = () => Promise.reject(new Error('boom'));
    const f = harness([hooked('a'), failing]);
    f.pipeline.fromCaller(call(2));
    await flush();
    assert.deepEqual(log, ['a:error boom']);

    log.length = 0;
    const c = harness([hooked('a')]);
    c.pipeline.fromCaller(call(3));
    await flush();
    c.pipeline.close();
    await flush();
    assert.deepEqual(
      log,
      ['a:error connection closed before the request was answered'],
      'a closed connection ends its requests',
    );
  });

  it('reports a completion hook that throws, and still answers the caller', async () => {
    const throwing: Middleware = {
      name: 'throwing',
      request(ctx, next) {
        (ctx as Context).onSettled(() => {
          throw new Error('hook broke');
        });
        return next();
      },
    };
    const h = harness([throwing]);
    h.pipeline.fromCaller(call(1));
    h.pipeline.fromHandler(answer(1));
    await flush();
    assert.equal(h.toCaller.length, 1);
    assert.match(h.errors[0]?.message ?? '', /a completion hook of tools\/call failed: hook broke/);
  });

  describe('cancellation', () => {
    const cancelled = (requestId: number | string) =>
      ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'user' } }) as const;

    it('drops a queued request: never started, no answer, the cancellation not forwarded', async () => {
      const seen: RequestContext[] = [];
      const queue: Middleware = async function queue(ctx, next) {
        seen.push(ctx);
        await new Promise<void>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        });
        return next();
      };
      const h = harness([queue]);
      h.pipeline.fromCaller(call(1));
      await flush();
      h.pipeline.fromCaller(cancelled(1));
      await flush();
      assert.equal(seen[0]?.cancelled, true);
      assert.ok(seen[0]?.signal.reason instanceof CancelledError);
      assert.equal(h.toHandler.length, 0);
      assert.equal(h.toCaller.length, 0);
      assert.equal(h.errors.length, 0);
    });

    it('forwards the cancellation of a request that is with the handler and drops its late answer', async () => {
      const log: string[] = [];
      const observe: Middleware = async function observe(_ctx, next) {
        try {
          return await next();
        } catch (error) {
          log.push((error as Error).name);
          throw error;
        }
      };
      const h = harness([observe]);
      h.pipeline.fromCaller(call(1));
      await flush();
      h.pipeline.fromCaller(cancelled(1));
      await flush();
      assert.deepEqual(
        h.toHandler.map((s) => (s.message as { method: string }).method),
        ['tools/call', 'notifications/cancelled'],
      );
      assert.deepEqual(log, ['CancelledError']);
      h.pipeline.fromHandler(answer(1));
      await flush();
      assert.equal(h.toCaller.length, 0);
    });

    it('with no request middleware, behaves as the bare transport: cancellations and late answers pass', async () => {
      const h = harness([{ name: 'hooks-only', notification: () => undefined }]);
      h.pipeline.fromCaller(call(5));
      h.pipeline.fromCaller(cancelled(5));
      h.pipeline.fromHandler(answer(5));
      assert.deepEqual(
        h.toHandler.map((s) => (s.message as { method: string }).method),
        ['tools/call', 'notifications/cancelled'],
      );
      assert.equal(h.toCaller.length, 1);
    });

    it('ignores the cancellation of a request answered locally or already finished', async () => {
      const local: Middleware = async function local(ctx, next) {
        if (ctx.params?.name === 'local') return { result: { content: [] } };
        return next();
      };
      const h = harness([local]);
      h.pipeline.fromCaller(call(1, 'local'));
      h.pipeline.fromCaller(call(2));
      await flush();
      h.pipeline.fromHandler(answer(2));
      await flush();
      h.pipeline.fromCaller(cancelled(1));
      h.pipeline.fromCaller(cancelled(2));
      h.pipeline.fromCaller(cancelled(99));
      await flush();
      assert.deepEqual(
        h.toHandler.map((s) => (s.message as { method: string }).method),
        ['tools/call'],
      );
      assert.equal(h.toCaller.length, 2);
    });

    it('cancels through the per-request signal of the send options', async () => {
      const h = harness([async (_ctx, next) => next()], 'client');
      const controller = new AbortController();
      h.pipeline.fromCaller(call(1), undefined, { requestSignal: controller.signal });
      await flush();
      controller.abort();
      h.pipeline.fromHandler(answer(1));
      await flush();
      assert.equal(h.toCaller.length, 0);
      assert.equal(h.toHandler[0]?.options?.requestSignal, controller.signal);
    });

    it('abandons everything in flight when the connection closes', async () => {
      const signals: AbortSignal[] = [];
      const hold: Middleware = async function hold(ctx, next) {
        signals.push(ctx.signal);
        return next();
      };
      const h = harness([hold]);
      h.pipeline.fromCaller(call(1));
      await flush();
      const own = h.pipeline.request('ping', undefined);
      h.pipeline.close();
      await assert.rejects(own, /connection closed/);
      await flush();
      assert.equal(signals[0]?.aborted, true);
      assert.equal(h.toCaller.length, 0);
      h.pipeline.fromCaller(call(2));
      assert.equal(h.toHandler.length, 2);
    });
  });

  describe('own requests', () => {
    it('use their own id space, route their progress, and never reach the caller', async () => {
      const h = harness([]);
      const progress: unknown[] = [];
      const pending = h.pipeline.request(
        'tools/call',
        { name: 'x', _meta: { progressToken: 'caller-token' } },
        { onprogress: (p) => progress.push(p.progress) },
      );
      const sent = h.toHandler[0]?.message as unknown as {
        id: string;
        params: { _meta: { progressToken: string } };
      };
      assert.match(sent.id, /^mcp-perf:/);
      assert.equal(sent.params._meta.progressToken, sent.id);
      h.pipeline.fromHandler({
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: sent.id, progress: 1 },
      });
      h.pipeline.fromHandler(answer(sent.id, 'mine'));
      assert.deepEqual(await pending, answer(sent.id, 'mine'));
      assert.deepEqual(progress, [1]);
      assert.equal(h.toCaller.length, 0);
    });

    it('strip the caller progress token when no progress is wanted, and cancel upstream on abort', async () => {
      const h = harness([]);
      const controller = new AbortController();
      const pending = h.pipeline.request(
        'tools/call',
        { name: 'x', _meta: { progressToken: 7 } },
        { signal: controller.signal },
      );
      const sent = h.toHandler[0]?.message as unknown as {
        id: string;
        params: { _meta: Record<string, unknown> };
      };
      assert.deepEqual(sent.params._meta, {});
      controller.abort();
      await assert.rejects(pending, CancelledError);
      assert.deepEqual(h.toHandler[1]?.message, {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: sent.id, reason: 'cancelled' },
      });
      h.pipeline.fromHandler(answer(sent.id));
      assert.equal(h.toCaller.length, 0);
    });

    it('carry a random prefix per pipeline, and a caller request under that prefix is refused', async () => {
      const a = harness([]);
      const b = harness([]);
      void a.pipeline.request('ping', undefined);
      void b.pipeline.request('ping', undefined);
      const idA = (a.toHandler[0]!.message as { id: string }).id;
      const idB = (b.toHandler[0]!.message as { id: string }).id;
      assert.match(idA, /^mcp-perf:[0-9a-f-]{36}:1$/);
      assert.notEqual(idA, idB);
      a.pipeline.fromCaller(call(idA));
      assert.equal(a.toHandler.length, 1, 'the forged request never reached the handler');
      const refusal = a.toCaller[0]?.message as { id: string; error: { code: number } };
      assert.deepEqual([refusal.id, refusal.error.code], [idA, -32600]);
      a.pipeline.fromCaller(call('mcp-perf:1'));
      assert.equal(a.toHandler.length, 2, 'an id merely shaped like an own one is served');
    });

    it('server side: what the handler sends for an own request never names the own id to the caller end', async () => {
      const seen: string[] = [];
      const h = harness([{ name: 'watch', notification: (n) => void seen.push(n.message.method) }]);
      const progress: unknown[] = [];
      void h.pipeline.request('tools/call', { name: 'x' }, { onprogress: (p) => progress.push(p.progress) });
      const id = (h.toHandler[0]!.message as { id: string }).id;
      const related = { relatedRequestId: id, other: 1 };
      h.pipeline.fromHandler(
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: id, progress: 3 } },
        undefined,
        related,
      );
      h.pipeline.fromHandler(
        { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } },
        undefined,
        related,
      );
      h.pipeline.fromHandler(
        { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///a' } },
        undefined,
        related,
      );
      h.pipeline.fromHandler(
        { jsonrpc: '2.0', id: 9, method: 'sampling/createMessage', params: {} },
        undefined,
        related,
      );
      assert.deepEqual(progress, [3]);
      assert.deepEqual(seen, ['notifications/resources/updated'], 'the update still reaches the hooks');
      assert.equal(h.toCaller.length, 1);
      assert.equal((h.toCaller[0]!.message as { method: string }).method, 'notifications/resources/updated');
      assert.deepEqual(h.toCaller[0]!.options, { other: 1 });
      const refusal = h.toHandler[1]!.message as { id: number; error: { code: number } };
      assert.deepEqual([refusal.id, refusal.error.code], [9, -32600]);
    });

    it('server side: progress related to a caller request never goes to an own request, whatever its token', async () => {
      const h = harness([]);
      const progress: unknown[] = [];
      void h.pipeline.request('tools/call', { name: 'x' }, { onprogress: (p) => progress.push(p) });
      const id = (h.toHandler[0]!.message as { id: string }).id;
      h.pipeline.fromCaller(call(5, 'echo', { _meta: { progressToken: id } }));
      const forged = {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: id, progress: 1 },
      } as const;
      h.pipeline.fromHandler(forged, undefined, { relatedRequestId: 5 });
      assert.deepEqual(progress, []);
      assert.equal(h.toCaller[0]?.message, forged);
    });
  });

  describe('state stays bounded', () => {
    /** The pipeline's private tables, read for their sizes. */
    interface Tables {
      inflight: { size: number };
      own: { size: number };
      recentlyCancelled: { size: number };
    }
    const sizes = (p: Pipeline) => {
      const t = p as unknown as Tables;
      return { inflight: t.inflight.size, own: t.own.size, recentlyCancelled: t.recentlyCancelled.size };
    };

    it('20k aborted own requests (20× the bound) leave nothing behind but a bounded memory of cancellations', async () => {
      const h = harness([]);
      const aborted: Promise<unknown>[] = [];
      for (let i = 0; i < 20_000; i++) {
        const controller = new AbortController();
        aborted.push(
          h.pipeline.request('tools/call', { name: 'x' }, { signal: controller.signal }).catch(() => 0),
        );
        controller.abort();
      }
      await Promise.all(aborted);
      const s = sizes(h.pipeline);
      assert.equal(s.own, 0);
      assert.ok(s.recentlyCancelled <= 1024, `recentlyCancelled holds ${s.recentlyCancelled}`);
    });

    it('20k caller requests cancelled while with the handler, and their late answers, stay bounded', async () => {
      const h = harness([
        async function pass(_ctx, next) {
          return next();
        },
      ]);
      for (let i = 0; i < 20_000; i++) {
        h.pipeline.fromCaller(call(i));
        await undefined;
        h.pipeline.fromCaller({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: i },
        });
        if (i % 2 === 0) h.pipeline.fromHandler(answer(i));
      }
      await flush();
      const s = sizes(h.pipeline);
      assert.equal(s.inflight, 0);
      assert.ok(s.recentlyCancelled <= 1024, `recentlyCancelled holds ${s.recentlyCancelled}`);
      assert.equal(h.toCaller.length, 0, 'no late answer reached the caller');
    });

    it('100k own requests the handler never answers: at most 1024 wait, the rest are refused at once', async () => {
      const h = harness([]);
      const outcomes: string[] = [];
      for (let i = 0; i < 100_000; i++) {
        h.pipeline.request('tools/call', { name: 'x' }).then(
          () => outcomes.push('answered'),
          (error: unknown) => outcomes.push(isOverloadedError(error) ? 'refused' : 'other'),
        );
      }
      await flush();
      const waiting = 100_000 - outcomes.length;
      assert.equal(waiting, 1024);
      assert.equal(outcomes.filter((o) => o === 'refused').length, 100_000 - 1024);
      assert.equal(sizes(h.pipeline).own, 1024);
      assert.equal(h.toHandler.length, 1024, 'a refused request is never sent');
      h.pipeline.close();
      assert.equal(sizes(h.pipeline).own, 0);
    });

    it('100k answers and progress under forged own ids are dropped and leave nothing behind', async () => {
      const h = harness([]);
      const own = h.pipeline.request('tools/call', { name: 'x' }, { onprogress: () => {} });
      const id = (h.toHandler[0]!.message as { id: string }).id;
      const prefix = id.slice(0, id.lastIndexOf(':') + 1);
      for (let i = 0; i < 100_000; i++) {
        h.pipeline.fromHandler(answer(`${prefix}${i + 1_000}`));
        h.pipeline.fromHandler({
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: { progressToken: `${prefix}${i + 1_000}`, progress: 1 },
        });
      }
      h.pipeline.fromHandler(answer(id, 'mine'));
      assert.deepEqual((await own).result, answer(id, 'mine').result);
      assert.deepEqual(sizes(h.pipeline), { inflight: 0, own: 0, recentlyCancelled: 0 });
      assert.equal(h.toCaller.length, 0);
    });
  });

  describe('notifications', () => {
    it('run hooks outer→inner from the caller, inner→outer from the handler; may replace or drop', () => {
      const log: string[] = [];
      const hook = (name: string): Middleware => ({
        name,
        notification(n) {
          log.push(`${name}:${n.from}:${n.message.method}`);
          if (name === 'b' && n.message.method === 'notifications/drop') return null;
          if (name === 'a' && n.message.method === 'notifications/rename')
            return { ...n.message, method: 'notifications/renamed' };
          return undefined;
        },
      });
      const h = harness([hook('a'), hook('b')]);
      h.pipeline.fromCaller({ jsonrpc: '2.0', method: 'notifications/initialized' });
      h.pipeline.fromHandler({ jsonrpc: '2.0', method: 'notifications/drop' });
      h.pipeline.fromHandler({ jsonrpc: '2.0', method: 'notifications/rename' });
      assert.deepEqual(log, [
        'a:caller:notifications/initialized',
        'b:caller:notifications/initialized',
        'b:handler:notifications/drop',
        'b:handler:notifications/rename',
        'a:handler:notifications/rename',
      ]);
      assert.equal(h.toHandler.length, 1);
      assert.deepEqual(
        h.toCaller.map((s) => (s.message as { method: string }).method),
        ['notifications/renamed'],
      );
    });

    it('keeps going when a hook throws, and reports it', () => {
      const h = harness([
        {
          name: 'bad',
          notification() {
            throw new Error('hook broke');
          },
        },
      ]);
      h.pipeline.fromHandler({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
      assert.equal(h.toCaller.length, 1);
      assert.match(h.errors[0]?.message ?? '', /hook broke/);
    });

    it('sends progress to the caller under its own token', async () => {
      let captured: RequestContext | undefined;
      const h = harness([
        async function grab(ctx, next) {
          captured = ctx;
          return next();
        },
      ]);
      h.pipeline.fromCaller(call(4, 'echo', { _meta: { progressToken: 'tok' } }));
      await flush();
      captured?.progress({ progress: 1, total: 2 });
      assert.deepEqual(h.toCaller[0], {
        message: {
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: { progress: 1, total: 2, progressToken: 'tok' },
        },
        options: { relatedRequestId: 4 },
      });
    });
  });

  describe('malformed input', () => {
    it('answers a request whose params are not an object, which the SDK would drop without a word', async () => {
      for (const stack of [[], [async (_ctx: RequestContext, next: () => Promise<unknown>) => next()]]) {
        const h = harness(stack as Middleware[]);
        for (const [i, params] of [5, 'x', null, [1]].entries()) {
          h.pipeline.fromCaller({
            jsonrpc: '2.0',
            id: i,
            method: 'tools/call',
            params,
          } as unknown as JsonRpcMessage);
        }
        await flush();
        assert.equal(h.toHandler.length, 0, 'nothing reached the handler');
        assert.deepEqual(
          h.toCaller.map((s) => (s.message as { error?: { code: number } }).error?.code),
          [-32600, -32600, -32600, -32600],
        );
        assert.equal(h.errors.length, 4);
      }
    });

    it('reports and drops what is not JSON-RPC, answers what has an id, and keeps working', async () => {
      const h = harness([async (_ctx, next) => next()]);
      h.pipeline.fromCaller('garbage' as unknown as JsonRpcMessage);
      h.pipeline.fromCaller(null as unknown as JsonRpcMessage);
      h.pipeline.fromCaller({ jsonrpc: '2.0', foo: 1 } as unknown as JsonRpcMessage);
      h.pipeline.fromCaller({ jsonrpc: '2.0', id: 9, method: 42 } as unknown as JsonRpcMessage);
      h.pipeline.fromHandler([1, 2] as unknown as JsonRpcMessage);
      assert.equal(h.errors.length, 5);
      assert.ok(h.errors.every(isMalformedMessageError));
      assert.deepEqual(
        h.toCaller.map((s) => (s.message as { id?: unknown }).id),
        [9],
      );
      h.pipeline.fromCaller(call(10));
      await flush();
      h.pipeline.fromHandler(answer(10));
      await flush();
      assert.equal((h.toCaller.at(-1)!.message as { id: number }).id, 10);
    });

    it('passes a response with no request on to the caller (whose SDK reports it)', () => {
      const h = harness([]);
      h.pipeline.fromHandler(answer(12345));
      assert.equal((h.toCaller[0]!.message as { id: number }).id, 12345);
    });

    it('answers with an error when the handler cannot be reached', async () => {
      const errors: Error[] = [];
      const toCaller: JsonRpcMessage[] = [];
      const pipeline = new Pipeline(
        'client',
        {
          toCaller: (m) => {
            toCaller.push(m);
          },
          toHandler: () => Promise.reject(new Error('socket hang up')),
          sessionId: () => undefined,
          reportError: (e) => errors.push(e),
        },
        [async (_ctx, next) => next()],
      );
      pipeline.fromCaller(call(1));
      pipeline.fromCaller(call(2, 'x'));
      await flush();
      await flush();
      assert.equal(toCaller.length, 2);
      assert.match(
        (toCaller[0] as { error: { message: string } }).error.message,
        /could not deliver tools\/call.*socket hang up/,
      );
    });
  });

  it('flags control methods and learns session facts from the handshake', async () => {
    const seen: RequestContext[] = [];
    const h = harness([
      async function grab(ctx, next) {
        seen.push(ctx);
        return next();
      },
    ]);
    h.pipeline.fromCaller({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        clientInfo: { name: 'c', version: '1' },
        capabilities: { roots: {} },
      },
    });
    await flush();
    h.pipeline.fromHandler({
      jsonrpc: '2.0',
      id: 0,
      result: {
        protocolVersion: '2025-06-18',
        serverInfo: { name: 's', version: '2' },
        capabilities: { tools: {} },
      },
    });
    await flush();
    h.pipeline.fromCaller({ jsonrpc: '2.0', id: 1, method: 'ping' });
    h.pipeline.fromCaller(call(2));
    await flush();
    assert.deepEqual(
      seen.map((c) => c.control),
      [true, true, false],
    );
    const s = h.pipeline.session;
    assert.equal(s.sessionId, 'session-1');
    assert.equal(s.protocolVersion, '2025-06-18');
    assert.equal(s.era, 'legacy');
    assert.equal(s.clientInfo?.name, 'c');
    assert.equal(s.serverInfo?.name, 's');
    assert.deepEqual(s.serverCapabilities, { tools: {} });
    assert.deepEqual(s.clientCapabilities, { roots: {} });
  });

  it('lets several contexts share per-request state', async () => {
    const d = deferred<unknown>();
    const h = harness([
      async function mark(ctx, next) {
        ctx.state.cache = 'miss';
        return next();
      },
      async function read(ctx, next) {
        d.resolve(ctx.state.cache);
        return next();
      },
    ]);
    h.pipeline.fromCaller(call(1));
    assert.equal(await d.promise, 'miss');
  });
});

describe('Pipeline: layers that declare what they handle', () => {
  const recording = (name: string, log: string[], handles?: (method: string) => boolean): Middleware => ({
    name,
    ...(handles === undefined ? {} : { handles }),
    request(ctx, next) {
      log.push(`${name}:${ctx.method}`);
      return next();
    },
  });
  const read = (id: number) =>
    ({ jsonrpc: '2.0', id, method: 'resources/read', params: { uri: 'a://b' } }) as const;

  it('skips a layer for the methods it does not handle, and keeps the order of the others', async () => {
    const log: string[] = [];
    const h = harness([
      recording('outer', log),
      recording('reads-only', log, (method) => method === 'resources/read'),
      recording('inner', log),
    ]);
    h.pipeline.fromCaller(call(1));
    h.pipeline.fromCaller(read(2));
    await flush();
    assert.deepEqual(log, [
      'outer:tools/call',
      'inner:tools/call',
      'outer:resources/read',
      'reads-only:resources/read',
      'inner:resources/read',
    ]);
    h.pipeline.fromHandler(answer(1));
    h.pipeline.fromHandler(answer(2));
    await flush();
    assert.deepEqual(
      h.toCaller.map((c) => (c.message as { id: number }).id),
      [1, 2],
    );
  });

  it('asks again after restack(), and asks once per method until then', async () => {
    const log: string[] = [];
    let calls = true;
    let asked = 0;
    const h = harness([
      recording('switching', log, (method) => {
        asked++;
        return method !== 'tools/call' || calls;
      }),
    ]);
    h.pipeline.fromCaller(call(1));
    h.pipeline.fromCaller(call(2));
    calls = false;
    h.pipeline.fromCaller(call(3));
    h.pipeline.restack();
    h.pipeline.fromCaller(call(4));
    await flush();
    assert.deepEqual(log, ['switching:tools/call', 'switching:tools/call', 'switching:tools/call']);
    assert.equal(asked, 2);
    assert.equal(h.toHandler.length, 4, 'every request still reaches the handler');
  });

  it('keeps a layer whose handles() throws, and reports it', async () => {
    const log: string[] = [];
    const h = harness([
      recording('broken', log, () => {
        throw new Error('boom');
      }),
    ]);
    h.pipeline.fromCaller(call(1));
    await flush();
    assert.deepEqual(log, ['broken:tools/call']);
    assert.match(h.errors[0]?.message ?? '', /broken: handles\(tools\/call\) failed: boom/);
  });

  it('runs the whole stack for made-up methods past the bound, without keeping them', async () => {
    const log: string[] = [];
    const h = harness([recording('none', log, () => false), recording('all', log)]);
    for (let i = 0; i < 100; i++) {
      h.pipeline.fromCaller({ jsonrpc: '2.0', id: i, method: `x/${i}` });
    }
    await flush();
    assert.equal(log.filter((l) => l.startsWith('all:')).length, 100);
    // Past the bound, the whole stack runs: the skipping layer sees those methods.
    assert.equal(log.filter((l) => l.startsWith('none:')).length, 100 - 64);
  });
});
