import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { createClient } from 'redis';
import { createStack, isConfigError, MIDDLEWARE_REGISTRY, parseConfig } from '../../src/config/index.js';
import type { CacheMiddleware, ConcurrencyLimiter, RateLimiter } from '../../src/index.js';
import { isMiddlewareOfKind } from '../../src/index.js';
import { connectPair } from '../helpers/servers.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('createStack', () => {
  it('builds every registered middleware, in order, from plain data', async () => {
    const stack = await createStack({
      middleware: [
        { notModified: {} },
        { metrics: {} },
        { concurrencyLimit: { limit: 3, maxQueue: 0 } },
        { rateLimit: { limit: 1000, windowMs: '1s', key: 'tool' } },
        { cache: { ttlMs: '5m' } },
        { toolFilter: { rules: { deny: ['debug_*'] } } },
        { tokenBudget: { maxTokens: 10_000 } },
        { batching: { requests: { maxBatchSize: 8 } } },
      ],
    });
    assert.deepEqual(
      stack.middleware.map((m) => (typeof m === 'function' ? m.name : m.name)),
      [
        'notModified',
        'metrics',
        'concurrencyLimit',
        'rateLimit',
        'cache',
        'toolFilter',
        'tokenBudget',
        'batching',
      ],
    );
    for (const name of Object.keys(MIDDLEWARE_REGISTRY))
      assert.ok(isMiddlewareOfKind(stack.find(name), name), name);
    assert.equal((stack.find('concurrencyLimit') as ConcurrencyLimiter).stats().scopes.global?.limit, 3);
    await stack.close();
  });

  it('runs a config-built stack in front of a server: cached repeats, counted calls', async () => {
    const stack = await createStack(
      parseConfig('middleware:\n  - metrics: {}\n  - cache: { tools: { include: [echo] } }\n'),
    );
    const pair = await connectPair({ server: stack.middleware });
    try {
      for (let i = 0; i < 3; i++) await pair.client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      assert.equal(pair.counts.echo, 1, 'the repeats were served from the cache');
      const cache = stack.find('cache') as CacheMiddleware;
      assert.equal(cache.stats().hits, 2);
    } finally {
      await pair.close();
      await stack.close();
    }
  });

  it('passes the key names to the limits', async () => {
    const stack = await createStack({
      middleware: [{ rateLimit: { limit: 1, windowMs: '1h', key: 'tool', burst: 1 } }],
    });
    const pair = await connectPair({ server: stack.middleware });
    try {
      await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
      await pair.client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
      await assert.rejects(pair.client.callTool({ name: 'echo', arguments: { text: 'b' } }), /rate limit/i);
      assert.equal((stack.find('rateLimit') as RateLimiter).stats().limited, 1);
    } finally {
      await pair.close();
    }
  });

  it('names the entry and option when a factory refuses the options', async () => {
    await assert.rejects(
      createStack({
        middleware: [{ metrics: {} }, { concurrencyLimit: { limit: 4, scopes: [{ name: 'a' }] } }],
      }),
      (error) =>
        isConfigError(error) &&
        error.issues[0]!.path === 'middleware[1].concurrencyLimit.limit' &&
        /omitted when options\.scopes is given/.test(error.issues[0]!.message),
    );
    await assert.rejects(
      createStack({ middleware: [{ cache: { ttlMs: 'soon' } }] }),
      /middleware\[0\]\.cache\.ttlMs/,
    );
  });
});

const probe = createClient({ url: REDIS_URL, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
probe.on('error', () => {});
const reachable = await probe.connect().then(
  () => true,
  () => false,
);
if (!reachable && process.env.CI) {
  test('Redis is reachable (required when CI is set)', () =>
    assert.fail(`Redis unreachable at ${REDIS_URL}`));
} else if (!reachable) {
  console.log(`skipping the config Redis store test: Redis unreachable at ${REDIS_URL}`);
} else {
  test('a cache with a Redis store from an interpolated URL shares entries through Redis', async () => {
    const prefix = `mcp-perf-test:config:${process.pid}-${Date.now().toString(36)}:`;
    const config = parseConfig(
      'middleware:\n  - cache:\n      store: { redis: { url: "${TEST_REDIS_URL}", prefix: "${TEST_PREFIX}" } }\n      tools: { include: [echo] }\n',
      { env: { TEST_REDIS_URL: REDIS_URL, TEST_PREFIX: prefix } },
    );
    const first = await createStack(config);
    const second = await createStack(config);
    const a = await connectPair({ server: first.middleware });
    const b = await connectPair({ server: second.middleware });
    try {
      await a.client.callTool({ name: 'echo', arguments: { text: 'shared' } });
      // The store writes behind the answer: wait until the entry is in Redis.
      while ((await probe.keys(`${prefix}e:*`)).length === 0) await new Promise((r) => setImmediate(r));
      await b.client.callTool({ name: 'echo', arguments: { text: 'shared' } });
      assert.equal(a.counts.echo, 1);
      assert.equal(b.counts.echo ?? 0, 0, 'the second stack read the entry the first wrote to Redis');
      assert.ok((await probe.keys(`${prefix}*`)).length > 0);
    } finally {
      await a.close();
      await b.close();
      await first.close();
      await second.close();
      const keys = await probe.keys(`${prefix}*`);
      if (keys.length !== 0) await probe.del(keys);
      probe.destroy();
    }
  });
}
if (!reachable) probe.destroy();
