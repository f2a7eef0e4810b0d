import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import {
  ErrorCodes,
  isInvalidOptionError,
  isRateLimitedError,
  isStoreError,
  type RateLimitedError,
  type Reply,
} from '../../../src/index.js';
import { toolKey } from '../../../src/middleware/concurrency/index.js';
import {
  RATE_LIMIT_DEFAULTS,
  type RateLimitedEvent,
  type RateLimitOptions,
  rateLimit,
} from '../../../src/middleware/rate-limit/index.js';
import { fakeContext } from '../../helpers/request-context.js';
import { connectPair } from '../../helpers/servers.js';

const ok: Reply = { result: { content: [] } };

function runner(options: RateLimitOptions) {
  const limiter = rateLimit(options);
  let handled = 0;
  return {
    limiter,
    get handled() {
      return handled;
    },
    async call(ctxOptions: Parameters<typeof fakeContext>[0] = {}) {
      const ctx = fakeContext(ctxOptions);
      try {
        const reply = await limiter.request!(ctx, async () => {
          handled++;
          return ok;
        });
        return { ctx, reply, error: undefined };
      } catch (error) {
        return { ctx, reply: undefined, error };
      }
    },
  };
}

function limited(error: unknown): RateLimitedError {
  assert.ok(isRateLimitedError(error), `expected RateLimitedError, got ${String(error)}`);
  return error;
}

describe('rateLimit', () => {
  it('documents its real defaults', async () => {
    assert.deepEqual(
      { ...RATE_LIMIT_DEFAULTS },
      {
        limit: 100,
        windowMs: 1000,
        name: 'global',
        cost: 1,
        maxKeys: 10_000,
        shedAs: 'error',
        onStoreError: 'allow',
      },
    );
    const r = runner({ clock: () => 0 });
    for (let i = 0; i < 100; i++) assert.equal((await r.call()).error, undefined);
    const refused = limited((await r.call()).error);
    assert.equal(
      refused.message,
      'rate limit reached for global: 100 per 1000 ms (burst 100); retry in 10 ms',
    );
  });

  it('rejects bad options at factory time, naming the option', () => {
    const bad: [RateLimitOptions, string][] = [
      [{ limit: 0 }, 'limit'],
      [{ windowMs: -1 }, 'windowMs'],
      [{ burst: Number.NaN }, 'burst'],
      [{ name: '' }, 'name'],
      [{ key: 'tool' as never }, 'key'],
      [{ shedAs: 'x' as never }, 'shedAs'],
      [{ onStoreError: 'x' as never }, 'onStoreError'],
      [{ maxKeys: 0 }, 'maxKeys'],
      [{ store: {} as never }, 'store'],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => rateLimit(options),
        (e: unknown) => isInvalidOptionError(e) && e.option === option,
        `expected an InvalidOptionError naming ${option}`,
      );
    }
  });

  it('refuses with -31429 and a retryAfterMs from the refill, and refills with time', async () => {
    let now = 0;
    const events: RateLimitedEvent[] = [];
    const r = runner({
      name: 'tool',
      key: toolKey,
      limit: 4,
      windowMs: 1000,
      burst: 2,
      clock: () => now,
      onLimited: (e) => events.push(e),
    });
    assert.equal((await r.call({ tool: 'search' })).error, undefined);
    assert.equal((await r.call({ tool: 'search' })).error, undefined);
    const third = await r.call({ tool: 'search' });
    const error = limited(third.error);
    assert.equal(error.rpcCode, ErrorCodes.RateLimited);
    assert.equal(error.rpcCode, -31429);
    assert.equal(
      error.message,
      'rate limit reached for tool "search": 4 per 1000 ms (burst 2); retry in 250 ms',
    );
    assert.deepEqual(error.data, { retryAfterMs: 250, scope: 'tool:search', limit: 4 });
    assert.equal(third.ctx.state.shed, true);
    assert.deepEqual(
      events.map((e) => [e.scope, e.key, e.method]),
      [['tool', 'search', 'tools/call']],
    );
    assert.equal((await r.call({ tool: 'fetch' })).error, undefined, 'another key has its own bucket');
    assert.equal((await r.call({ method: 'resources/list' })).error, undefined, 'no key: exempt');
    now = 100;
    assert.equal(limited((await r.call({ tool: 'search' })).error).data.retryAfterMs, 150);
    now = 250;
    assert.equal((await r.call({ tool: 'search' })).error, undefined, 'one token refilled');
    assert.ok((await r.call({ tool: 'search' })).error);
    now = 10_000;
    assert.equal((await r.call({ tool: 'search' })).error, undefined);
    assert.equal((await r.call({ tool: 'search' })).error, undefined);
    assert.ok((await r.call({ tool: 'search' })).error, 'never more than the burst after a quiet spell');
    assert.deepEqual(r.limiter.stats(), { allowed: 6, limited: 4, storeErrors: 0 });
    assert.equal(r.handled, 7, 'six allowed plus the exempt request');
  });

  it('charges the cost and never limits control methods', async () => {
    const r = runner({ limit: 10, cost: (ctx) => (ctx.method === 'tools/call' ? 5 : 1), clock: () => 0 });
    assert.equal((await r.call({ tool: 'a' })).error, undefined);
    assert.equal((await r.call({ tool: 'a' })).error, undefined);
    assert.ok((await r.call({ method: 'resources/read' })).error);
    for (let i = 0; i < 5; i++) assert.equal((await r.call({ method: 'ping' })).error, undefined);
  });

  it('answers a refused tools/call with an isError result when shedAs is tool-result', async () => {
    const r = runner({ limit: 1, shedAs: 'tool-result', clock: () => 0 });
    await r.call({ tool: 'a' });
    const shed = await r.call({ tool: 'a' });
    assert.deepEqual(shed.reply, {
      result: {
        content: [
          { type: 'text', text: 'rate limit reached for global: 1 per 1000 ms (burst 1); retry in 1000 ms' },
        ],
        isError: true,
        _meta: { 'mcp-perf/retry': { retryAfterMs: 1000, scope: 'global', limit: 1 } },
      },
    });
    assert.ok(limited((await r.call({ method: 'resources/read' })).error));
  });

  it('awaits an asynchronous store, and fails open or closed when it breaks', async () => {
    let broken = false;
    const store = {
      async take() {
        if (broken) throw new Error('connection refused');
        return { allowed: true, retryAfterMs: 0, remaining: 5 };
      },
    };
    const open = runner({ store });
    assert.equal((await open.call()).error, undefined);
    broken = true;
    const failedOpen = await open.call();
    assert.equal(failedOpen.error, undefined);
    assert.ok(isStoreError(failedOpen.ctx.reported[0]));
    assert.deepEqual(open.limiter.stats(), { allowed: 2, limited: 0, storeErrors: 1 });
    const closed = runner({ store, onStoreError: 'deny', windowMs: 500 });
    const failedClosed = await closed.call();
    assert.equal(limited(failedClosed.error).data.retryAfterMs, 500);
    assert.equal(closed.handled, 0);
  });

  it('refuses over the wire with the error and its data', async () => {
    const pair = await connectPair({ server: [rateLimit({ limit: 1, windowMs: 60_000 })] });
    await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
    await assert.rejects(pair.client.callTool({ name: 'echo', arguments: { text: 'b' } }), (e: unknown) => {
      assert.ok(e instanceof McpError);
      assert.equal(e.code, -31429);
      const data = e.data as { retryAfterMs: number; scope: string; limit: number };
      assert.equal(data.scope, 'global');
      assert.ok(data.retryAfterMs > 59_000 && data.retryAfterMs <= 60_000);
      return true;
    });
    await pair.client.ping();
    assert.equal(pair.counts.echo, 1);
    await pair.close();
  });
});
