/**
 * The concurrency limit shared by replicas: the Redis semaphore's leases (limit, release,
 * expiry, renewal) and two limiters on one semaphore behaving as one fleet, including a
 * replica that stops renewing and a Redis that cannot be reached.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisSemaphore } from '../../../src/entries/redis.js';
import { isInvalidOptionError, isOverloadedError } from '../../../src/errors/index.js';
import { concurrencyLimit, SHARED_CONCURRENCY_DEFAULTS } from '../../../src/middleware/concurrency/index.js';
import { fakeContext } from '../../helpers/request-context.js';
import { closeAfter, sharedRedis } from '../../stores/redis-env.js';
import { freePort } from '../../stores/redis-server.js';

const { admin, skip, nextPrefix } = await sharedRedis('shared concurrency limit');

const semaphoreOf = () =>
  closeAfter(redisSemaphore({ client: admin!, prefix: nextPrefix(), timeoutMs: 2_000 }));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('redisSemaphore', { skip }, () => {
  test('grants at most limit leases, and a release frees one', async () => {
    const s = semaphoreOf();
    const a = await s.acquire('db', 2, 5_000);
    const b = await s.acquire('db', 2, 5_000);
    assert.ok(a.granted && b.granted && a.lease !== b.lease);
    const c = await s.acquire('db', 2, 5_000);
    assert.deepEqual([c.granted, c.holders, c.lease], [false, 2, undefined]);
    assert.ok(c.retryAfterMs > 4_000 && c.retryAfterMs <= 5_000, String(c.retryAfterMs));
    assert.equal((await s.acquire('other', 2, 5_000)).granted, true, 'keys are separate semaphores');
    await s.release('db', a.lease!);
    assert.equal((await s.acquire('db', 2, 5_000)).granted, true);
  });

  test('a lease not renewed expires and frees its slot; a renewed one holds', async () => {
    const s = semaphoreOf();
    const kept = await s.acquire('db', 2, 150);
    const dropped = await s.acquire('db', 2, 150);
    assert.ok(kept.granted && dropped.granted);
    await sleep(90);
    assert.equal(await s.renew('db', kept.lease!, 150), true);
    await sleep(90);
    const after = await s.acquire('db', 2, 150);
    assert.equal(after.granted, true, 'the lease nobody renewed has expired');
    assert.equal((await s.acquire('db', 2, 150)).granted, false, 'the renewed lease still counts');
    assert.equal(await s.renew('db', dropped.lease!, 150), false, 'an expired lease cannot come back');
  });
});

describe('concurrencyLimit({ shared })', { skip }, () => {
  test('two replicas on one semaphore never run more than the shared limit, and every request runs', async () => {
    const semaphore = semaphoreOf();
    const shared = { semaphore, limit: 2, retryMs: 5 };
    const replicas = [concurrencyLimit({ limit: 4, shared }), concurrencyLimit({ limit: 4, shared })];
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const handler = async () => {
      running++;
      peak = Math.max(peak, running);
      const d = deferred();
      gates.push(d.resolve);
      await d.promise;
      running--;
      return { result: { content: [] } };
    };
    const calls = Array.from({ length: 6 }, (_, i) =>
      replicas[i % 2]!.request!(fakeContext({ tool: 't' }), handler),
    );
    let done = 0;
    for (const c of calls) c.then(() => done++);
    while (done < 6) {
      await sleep(15);
      assert.ok(running <= 2, `${running} running`);
      for (const open of gates.splice(0)) open();
    }
    assert.equal(peak, 2);
    const [a, b] = replicas.map((r) => r.sharedStats()!);
    assert.equal(a!.granted + b!.granted, 6);
    assert.equal(a!.held + b!.held, 0);
  });

  test("a crashed replica's leases expire, and a waiting request gets its slot then", async () => {
    const semaphore = semaphoreOf();
    // A replica that took both slots and died: nobody renews its leases.
    assert.ok((await semaphore.acquire('global', 2, 120)).granted);
    assert.ok((await semaphore.acquire('global', 2, 120)).granted);
    const limiter = concurrencyLimit({ shared: { semaphore, limit: 2, retryMs: 10, leaseMs: 120 } });
    const started = Date.now();
    await limiter.request!(fakeContext({ tool: 't' }), async () => ({ result: { content: [] } }));
    assert.ok(Date.now() - started >= 80, 'ran only once the dead leases expired');
  });

  test('a request waiting longer than maxWaitMs for the fleet is shed, naming the shared limit', async () => {
    const semaphore = semaphoreOf();
    assert.ok((await semaphore.acquire('global', 1, 5_000)).granted);
    const limiter = concurrencyLimit({ shared: { semaphore, limit: 1, retryMs: 5, maxWaitMs: 30 } });
    await assert.rejects(
      limiter.request!(fakeContext({ tool: 't' }), async () => ({ result: { content: [] } })),
      (error: unknown) =>
        isOverloadedError(error) &&
        /shared concurrency limit reached for "global": 1\/1 running across replicas/.test(error.message) &&
        error.data.scope === 'shared:global',
    );
    assert.equal(limiter.sharedStats()!.shed, 1);
    assert.equal(limiter.stats().scopes.global!.running, 0, 'the local slot was given back');
  });
});

describe('concurrencyLimit({ shared }) with Redis unreachable', () => {
  test("fails open with 'allow' and closed with 'reject', each at once", async () => {
    const port = await freePort();
    const dead = closeAfter(redisSemaphore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 50 }));
    const open = concurrencyLimit({ shared: { semaphore: dead, limit: 1 } });
    const closed = concurrencyLimit({ shared: { semaphore: dead, limit: 1, onStoreError: 'reject' } });
    const started = Date.now();
    const reply = await open.request!(fakeContext({ tool: 't' }), async () => ({ result: { content: [] } }));
    assert.deepEqual(reply, { result: { content: [] } });
    await assert.rejects(
      closed.request!(fakeContext({ tool: 't' }), async () => ({ result: { content: [] } })),
      (error: unknown) =>
        isOverloadedError(error) && /shared concurrency limit unavailable/.test(error.message),
    );
    assert.ok(Date.now() - started < 1_000, 'no hang');
    assert.equal(open.sharedStats()!.storeErrors, 1);
  });

  test('documents its defaults and rejects bad options, naming them', () => {
    assert.deepEqual(
      { ...SHARED_CONCURRENCY_DEFAULTS },
      { key: 'global', leaseMs: 10_000, retryMs: 25, onStoreError: 'allow' },
    );
    const semaphore = {
      name: 's',
      acquire: async () => ({ granted: true, holders: 1, retryAfterMs: 0 }),
      renew: async () => true,
      release: async () => {},
    };
    const cases: [Record<string, unknown>, string][] = [
      [{ semaphore: {}, limit: 1 }, 'shared.semaphore'],
      [{ semaphore, limit: 0 }, 'shared.limit'],
      [{ semaphore, limit: 1, key: '' }, 'shared.key'],
      [{ semaphore, limit: 1, leaseMs: 5 }, 'shared.leaseMs'],
      [{ semaphore, limit: 1, retryMs: -1 }, 'shared.retryMs'],
      [{ semaphore, limit: 1, maxWaitMs: 'x' }, 'shared.maxWaitMs'],
      [{ semaphore, limit: 1, onStoreError: 'maybe' }, 'shared.onStoreError'],
    ];
    for (const [shared, option] of cases) {
      assert.throws(
        () => concurrencyLimit({ shared: shared as never }),
        (error: unknown) => isInvalidOptionError(error) && error.option === option,
        option,
      );
    }
  });
});
