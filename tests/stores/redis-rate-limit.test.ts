import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { REDIS_RATE_LIMIT_STORE_DEFAULTS, redisRateLimitStore } from '../../src/entries/redis.js';
import { isInvalidOptionError, isRateLimitedError, isStoreError } from '../../src/errors/index.js';
import { rateLimit } from '../../src/middleware/rate-limit/index.js';
import { rateLimitStoreContract } from '../../src/testing/index.js';
import { fakeContext } from '../helpers/request-context.js';
import { fakeRedisForSuite } from './fake-redis.js';
import { closeAfter, REDIS_URL, sharedRedis } from './redis-env.js';

const { admin, skip, nextPrefix } = await sharedRedis('Redis rate-limit store');

const track = closeAfter;

rateLimitStoreContract(
  'redis (your client, caller clock)',
  () =>
    track(
      redisRateLimitStore({ client: admin!, prefix: nextPrefix(), timeSource: 'caller', timeoutMs: 2_000 }),
    ),
  { skip, runner: { describe, it } },
);

rateLimitStoreContract(
  'redis (own connection, caller clock)',
  async () => {
    const store = track(
      redisRateLimitStore({ url: REDIS_URL, prefix: nextPrefix(), timeSource: 'caller', timeoutMs: 2_000 }),
    );
    await store.ready;
    return store;
  },
  { skip, runner: { describe, it } },
);

/** Runs one request through a rate limiter; answers whether the handler ran, or the error. */
async function through(limiter: ReturnType<typeof rateLimit>): Promise<'handled' | unknown> {
  try {
    await limiter.request!(fakeContext(), async () => ({ result: { content: [] } }));
    return 'handled';
  } catch (error) {
    return error;
  }
}

describe('redisRateLimitStore options', () => {
  test('documents its default time source and rejects bad options, naming them', () => {
    assert.deepEqual({ ...REDIS_RATE_LIMIT_STORE_DEFAULTS }, { timeSource: 'redis' });
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'url'],
      [{ url: 'http://x' }, 'url'],
      [{ url: REDIS_URL, timeSource: 'wall' }, 'timeSource'],
      [{ url: REDIS_URL, clock: 'wall' }, 'clock'],
      [{ url: REDIS_URL, timeoutMs: 0 }, 'timeoutMs'],
      [{ url: REDIS_URL, circuit: { cooldownMs: -1 } }, 'circuit.cooldownMs'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => redisRateLimitStore(options as never),
        (error: unknown) => isInvalidOptionError(error) && error.option === option,
        JSON.stringify(options),
      );
    }
  });
});

describe('redisRateLimitStore against Redis', { skip }, () => {
  test("with Redis's clock, the caller's now is ignored and the refill comes from Redis TIME", async () => {
    const store = track(redisRateLimitStore({ client: admin!, prefix: nextPrefix(), timeoutMs: 2_000 }));
    const bucket = { capacity: 2, refillPerMs: 1 / 10_000 };
    assert.equal((await store.take('k', 1, 0, bucket)).allowed, true);
    assert.equal((await store.take('k', 1, 1e15, bucket)).allowed, true, 'a far-future now refills nothing');
    const refused = await store.take('k', 1, 0, bucket);
    assert.equal(refused.allowed, false);
    assert.ok(refused.retryAfterMs > 9_000 && refused.retryAfterMs <= 10_000, String(refused.retryAfterMs));
  });

  test('replicas taking at once never oversell a bucket', async () => {
    const prefix = nextPrefix();
    const a = track(redisRateLimitStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    const b = track(redisRateLimitStore({ url: REDIS_URL, prefix, timeoutMs: 2_000 }));
    await b.ready;
    const bucket = { capacity: 50, refillPerMs: 1 / 3_600_000 };
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) => (i % 2 === 0 ? a : b).take('shared', 1, Date.now(), bucket)),
    );
    assert.equal(results.filter((r) => r.allowed).length, 50);
    assert.equal(a.stats().takes + b.stats().takes, 120);
  });

  test('a bucket expires from Redis once it would be full again', async () => {
    const prefix = nextPrefix();
    const store = track(redisRateLimitStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    await store.take('k', 3, Date.now(), { capacity: 4, refillPerMs: 1 / 1_000 });
    const ttl = Number(await admin!.sendCommand(['PTTL', `${prefix}rl:k`]));
    assert.ok(ttl > 3_000 && ttl <= 4_000, `PTTL ${ttl}: 3 s to refill plus 1 s of slack`);
  });

  test('the rate-limit middleware shares one limit across replicas through it', async () => {
    const prefix = nextPrefix();
    const limiters = [0, 1, 2].map(() =>
      rateLimit({
        limit: 5,
        windowMs: 3_600_000,
        store: track(redisRateLimitStore({ client: admin!, prefix, timeoutMs: 2_000 })),
      }),
    );
    const outcomes = [];
    for (let i = 0; i < 9; i++) outcomes.push(await through(limiters[i % 3]!));
    assert.equal(outcomes.filter((o) => o === 'handled').length, 5);
    assert.ok(outcomes.slice(5).every(isRateLimitedError));
  });
});

describe('redisRateLimitStore when Redis is down', () => {
  test('a dead port: take rejects at once, and the middleware applies onStoreError', async () => {
    const store = track(redisRateLimitStore({ url: 'redis://127.0.0.1:1', prefix: nextPrefix() }));
    await assert.rejects(
      store.take('k', 1, 0, { capacity: 1, refillPerMs: 1 }),
      (error: unknown) =>
        isStoreError(error) && /^redis rate limit store: take failed: not connected/.test(error.message),
    );
    assert.equal(await through(rateLimit({ store, onStoreError: 'allow' })), 'handled');
    const denied = await through(rateLimit({ store, onStoreError: 'deny', windowMs: 2_000 }));
    assert.ok(isRateLimitedError(denied));
    assert.match(denied.message, /the rate limit store failed; retry in 2000 ms/);
    await store.close();
    await assert.rejects(store.ready, 'connecting stops once closed');
  });

  describe('with a server that stops answering', () => {
    const suite = fakeRedisForSuite();

    test('a take gives up after timeoutMs, then the circuit refuses at once', async (t) => {
      const { fake, client } = suite;
      let now = 0;
      const store = track(
        redisRateLimitStore({
          client: client as never,
          prefix: nextPrefix(),
          timeoutMs: 30,
          clock: () => now,
          circuit: { failureThreshold: 1, cooldownMs: 1_000 },
        }),
      );
      const limiter = rateLimit({ store, onStoreError: 'deny' });
      t.mock.timers.enable({ apis: ['setTimeout'] });
      fake.paused = true;
      const first = through(limiter);
      t.mock.timers.tick(30);
      assert.ok(isRateLimitedError(await first), 'denied after the timeout, not hung');
      assert.equal(store.stats().timeouts, 1);
      assert.equal(store.stats().circuit, 'open');
      assert.ok(isRateLimitedError(await through(limiter)), 'refused at once while open');
      assert.equal(store.stats().shortCircuited, 1);
      now += 1_000;
      fake.resume();
      assert.equal(store.stats().circuit, 'half-open');
    });
  });
});
