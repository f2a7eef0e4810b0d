import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { REDIS_STORE_DEFAULTS, redisStore } from '../../src/entries/redis.js';
import { isInvalidOptionError, isStoreError, StoreError } from '../../src/errors/index.js';
import { cacheStoreContract, makeEntry } from '../../src/testing/index.js';
import { fakeRedisForSuite } from './fake-redis.js';
import { closeAfter, REDIS_URL, sharedRedis } from './redis-env.js';

const { admin, skip, nextPrefix } = await sharedRedis('Redis store');

const track = closeAfter;

cacheStoreContract(
  'redis (your client)',
  ({ now }) => redisStore({ client: admin!, prefix: nextPrefix(), clock: now, timeoutMs: 2_000 }),
  { runner: { describe, it }, ...(skip === undefined ? {} : { skip }) },
);

cacheStoreContract(
  'redis (own connection, bloom filter)',
  async ({ now }) => {
    const store = redisStore({
      url: REDIS_URL,
      prefix: nextPrefix(),
      clock: now,
      timeoutMs: 2_000,
      bloom: true,
    });
    await store.ready;
    return store;
  },
  { runner: { describe, it }, ...(skip === undefined ? {} : { skip }) },
);

const T0 = Date.UTC(2026, 0, 1);

/** Resolves on the next call of the returned callback. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Waits for a reconnection the client times itself; bounded, and asserts nothing about time. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

/** Settles `promise` or answers `'pending'` if it has not settled by the next macrotask. */
function settledNow<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(resolve, 'pending'))]);
}

describe('redisStore options', () => {
  test('the documented defaults are the ones in effect', () => {
    assert.deepEqual(REDIS_STORE_DEFAULTS, {
      prefix: 'mcp-perf:',
      timeoutMs: 50,
      maxEntrySize: 1024 * 1024,
      encoding: { binaryOverBytes: 16_384 },
      circuit: { failureThreshold: 5, cooldownMs: 5_000 },
      coalesce: { lockMs: 10_000, waitMs: 5_000, pollMs: 100 },
      bloom: { expectedItems: 100_000, falsePositiveRate: 0.01 },
    });
    assert.ok(Object.isFrozen(REDIS_STORE_DEFAULTS) && Object.isFrozen(REDIS_STORE_DEFAULTS.circuit));
    assert.ok(Object.isFrozen(REDIS_STORE_DEFAULTS.encoding));
  });

  test('rejects invalid options at construction, naming the option', () => {
    const client = { sendCommand: () => Promise.resolve(null) };
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'url'],
      [{ url: REDIS_URL, client }, 'client'],
      [{ url: 'http://localhost' }, 'url'],
      [{ client: {} }, 'client'],
      [{ url: REDIS_URL, prefix: '' }, 'prefix'],
      [{ url: REDIS_URL, timeoutMs: 0 }, 'timeoutMs'],
      [{ url: REDIS_URL, maxEntrySize: 1.5 }, 'maxEntrySize'],
      [{ url: REDIS_URL, circuit: { failureThreshold: -1 } }, 'circuit.failureThreshold'],
      [{ url: REDIS_URL, circuit: { cooldownMs: 'soon' } }, 'circuit.cooldownMs'],
      [{ url: REDIS_URL, bloom: { expectedItems: 0 } }, 'bloom.expectedItems'],
      [{ url: REDIS_URL, coalesce: 'yes' }, 'coalesce'],
      [{ url: REDIS_URL, coalesce: { waitMs: 0 } }, 'coalesce.waitMs'],
      [{ url: REDIS_URL, bloom: { falsePositiveRate: 1 } }, 'bloom.falsePositiveRate'],
      [{ url: REDIS_URL, bloom: 'yes' }, 'bloom'],
      [{ url: REDIS_URL, clock: 5 }, 'clock'],
      [{ url: REDIS_URL, now: 5 }, 'now'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => redisStore(options as never),
        (error: unknown) =>
          isInvalidOptionError(error) &&
          error.option === option &&
          error.message.includes(`options.${option}`),
        JSON.stringify(options),
      );
    }
  });
});

describe('redisStore against an unreachable or stalled server', () => {
  test('a dead port fails every operation at once with StoreError, and close() returns', async () => {
    const store = redisStore({ url: 'redis://127.0.0.1:1', prefix: nextPrefix() });
    const operations: [string, () => unknown][] = [
      ['get', () => store.get('k')],
      ['set', () => store.set('k', makeEntry(1, Date.now()))],
      ['delete', () => store.delete('k')],
      ['invalidateTag', () => store.invalidateTag('t')],
      ['clear', () => store.clear()],
    ];
    for (const [name, run] of operations) {
      const outcome = await settledNow(
        Promise.resolve(run()).then(
          () => 'resolved',
          (error: unknown) => error,
        ),
      );
      assert.ok(isStoreError(outcome), `${name}: ${String(outcome)}`);
      assert.match(
        (outcome as StoreError).message,
        new RegExp(`^redis store: ${name} failed: not connected`),
      );
    }
    assert.equal(store.stats().errors, 5);
    assert.equal(
      store.stats().circuit,
      'closed',
      'instant refusals cost nothing, so they do not trip the circuit',
    );
    await store.close();
    await assert.rejects(store.ready);
  });

  describe('with a server that stops answering', () => {
    const suite = fakeRedisForSuite();

    test('an operation rejects with StoreError after timeoutMs', async (t) => {
      const { fake, client } = suite;
      const store = track(redisStore({ client, prefix: nextPrefix(), timeoutMs: 50 }));
      await store.ready;
      t.mock.timers.enable({ apis: ['setTimeout'] });
      fake.paused = true;
      const pending = Promise.resolve(store.get('k')).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      t.mock.timers.tick(49);
      assert.equal(await settledNow(pending), 'pending');
      t.mock.timers.tick(1);
      const error = await pending;
      assert.ok(error instanceof StoreError);
      assert.equal(error.message, 'redis store: get failed: timed out after 50 ms');
      assert.equal(store.stats().timeouts, 1);
      fake.resume();
    });

    test('the circuit opens after repeated failures, short-circuits, then closes after a good probe', async (t) => {
      const { fake, client } = suite;
      let now = T0;
      const store = track(
        redisStore({
          client,
          prefix: nextPrefix(),
          timeoutMs: 50,
          clock: () => now,
          circuit: { failureThreshold: 3, cooldownMs: 1_000 },
        }),
      );
      await store.ready;
      t.mock.timers.enable({ apis: ['setTimeout'] });
      fake.paused = true;
      for (let i = 0; i < 3; i++) {
        const pending = Promise.resolve(store.get(`k${i}`)).catch((error: unknown) => error);
        t.mock.timers.tick(50);
        assert.ok(isStoreError(await pending));
      }
      assert.equal(store.stats().circuit, 'open');
      const sent = fake.commands.length;
      const refused = await settledNow(Promise.resolve(store.get('k')).catch((error: unknown) => error));
      assert.ok(isStoreError(refused));
      assert.match(
        (refused as Error).message,
        /circuit open after 3 consecutive failures; next attempt in 1000 ms/,
      );
      assert.equal(fake.commands.length, sent, 'nothing was sent while open');
      assert.equal(store.stats().shortCircuited, 1);

      now += 1_000;
      assert.equal(store.stats().circuit, 'half-open');
      // A probe that fails reopens the circuit at once.
      const failedProbe = Promise.resolve(store.get('probe-1')).catch((error: unknown) => error);
      assert.ok(
        isStoreError(await settledNow(Promise.resolve(store.get('during-probe')).catch((e: unknown) => e))),
      );
      t.mock.timers.tick(50);
      assert.ok(isStoreError(await failedProbe));
      assert.equal(store.stats().circuit, 'open');

      now += 1_000;
      fake.resume();
      assert.equal(await store.get('probe-2'), undefined);
      assert.equal(store.stats().circuit, 'closed');
      assert.equal(await store.get('after'), undefined);
    });

    test('the bloom filter is set aside while pub/sub is down and reloaded after it reconnects', async () => {
      const { fake, client } = suite;
      let now = T0;
      const store = track(
        redisStore({ client, prefix: nextPrefix(), timeoutMs: 2_000, bloom: true, clock: () => now }),
      );
      await store.ready;
      assert.equal(store.stats().bloom?.state, 'ready');
      assert.equal(store.get('unknown'), undefined, 'skipped while ready');
      fake.dropConnections();
      await waitFor(() => store.stats().bloom?.state === 'warming', 'the filter set aside');
      // A reload that finds Redis still away is retried by later lookups, once a second.
      await waitFor(() => {
        if (store.stats().bloom?.state === 'ready') return true;
        now += 1_000;
        Promise.resolve(store.get('drive-a-retry')).catch(() => {});
        return false;
      }, 'the filter reloaded');
      assert.equal(store.get('unknown'), undefined, 'skipped again');
    });
  });
});

describe('redisStore against Redis', { skip }, () => {
  test('a corrupt value is a miss, is deleted, and is never thrown', async () => {
    const prefix = nextPrefix();
    const store = track(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    await admin!.sendCommand(['HSET', `${prefix}e:not-json`, 'v', '{not json']);
    await admin!.sendCommand(['HSET', `${prefix}e:wrong-shape`, 'v', '{"value":1,"size":"big"}']);
    await admin!.sendCommand(['SET', `${prefix}e:wrong-type`, 'a plain string']);
    for (const key of ['not-json', 'wrong-shape', 'wrong-type']) {
      assert.equal(await store.get(key), undefined, key);
      assert.equal(await admin!.sendCommand(['EXISTS', `${prefix}e:${key}`]), 0, `${key} was deleted`);
    }
    assert.equal(store.stats().corrupt, 3);
    assert.equal(store.stats().errors, 0);
  });

  test('stores entries with a Redis expiry at staleUntil and tag sets that outlive their members', async () => {
    const prefix = nextPrefix();
    const now = Date.now();
    const store = track(redisStore({ client: admin!, prefix, timeoutMs: 2_000, clock: () => now }));
    await store.set('short', makeEntry(1, now, { freshMs: 10_000, tags: ['t'] }));
    await store.set('long', makeEntry(2, now, { freshMs: 50_000, staleMs: 10_000, tags: ['t'] }));
    const entryTtl = Number(await admin!.sendCommand(['PTTL', `${prefix}e:long`]));
    const tagTtl = Number(await admin!.sendCommand(['PTTL', `${prefix}t:t`]));
    assert.ok(entryTtl > 55_000 && entryTtl <= 60_000, `entry PTTL ${entryTtl}`);
    assert.ok(tagTtl > 55_000 && tagTtl <= 60_000, `tag set PTTL ${tagTtl}`);
  });

  test('refuses entries over maxEntrySize and drops the older entry', async () => {
    const store = track(
      redisStore({ client: admin!, prefix: nextPrefix(), timeoutMs: 2_000, maxEntrySize: 100 }),
    );
    const now = Date.now();
    await store.set('k', makeEntry('small', now));
    await store.set('k', makeEntry('x'.repeat(200), now));
    assert.equal(await store.get('k'), undefined);
    assert.equal(store.stats().refused, 1);
  });

  test('close() leaves a client it was given open, and closes the one it created', async () => {
    const given = track(redisStore({ client: admin!, prefix: nextPrefix() }));
    await given.ready;
    await given.close();
    await given.close();
    assert.equal(admin!.isReady, true);
    const own = redisStore({ url: REDIS_URL, prefix: nextPrefix(), timeoutMs: 2_000 });
    await own.ready;
    await own.set('k', makeEntry(1, Date.now()));
    await own.close();
    await assert.rejects(Promise.resolve(own.get('k')), /store closed/);
  });

  test('invalidations reach other replicas, not the one that made them', async () => {
    const prefix = nextPrefix();
    const a = track(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    const b = track(redisStore({ url: REDIS_URL, prefix, timeoutMs: 2_000 }));
    const other = track(redisStore({ client: admin!, prefix: nextPrefix(), timeoutMs: 2_000 }));
    await Promise.all([a.ready, b.ready, other.ready]);
    const heardByA: string[] = [];
    const heardByOther: string[] = [];
    const heardByB = deferred<string>();
    a.onRemoteInvalidate((tag) => heardByA.push(tag));
    other.onRemoteInvalidate((tag) => heardByOther.push(tag));
    const off = b.onRemoteInvalidate((tag) => heardByB.resolve(tag));

    await a.set('k', makeEntry(1, Date.now(), { tags: ['method:tools/list'] }));
    assert.equal(await a.invalidateTag('method:tools/list'), 1);
    assert.equal(await heardByB.promise, 'method:tools/list');
    assert.equal(await b.get('k'), undefined);

    off();
    const heardAgain = deferred<string>();
    a.onRemoteInvalidate((tag) => heardAgain.resolve(tag));
    await b.invalidateTag('uri:file:///a.txt');
    assert.equal(await heardAgain.promise, 'uri:file:///a.txt');
    assert.deepEqual(heardByA, ['uri:file:///a.txt'], 'a did not hear its own invalidation');
    assert.deepEqual(heardByOther, [], 'a store on another prefix heard nothing');
  });

  test('an entry written before its writer heard of an invalidation is never served by a replica that has', async () => {
    const prefix = nextPrefix();
    const writer = track(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    const reader = track(redisStore({ url: REDIS_URL, prefix, timeoutMs: 2_000 }));
    await Promise.all([writer.ready, reader.ready]);
    const now = Date.now();
    await writer.set('before', makeEntry('old', now, { tags: ['tool:t'] }));
    assert.equal((await reader.get('before'))?.value, 'old');
    // An invalidation whose message has not reached the writer yet: the generation moves on in Redis only.
    await admin!.sendCommand(['INCR', `${prefix}g:tool:t`]);
    await writer.set('raced', makeEntry('computed before the invalidation', now, { tags: ['tool:t'] }));
    const fresh = track(redisStore({ url: REDIS_URL, prefix, timeoutMs: 2_000 }));
    await fresh.ready;
    assert.equal(await fresh.get('raced'), undefined);
    assert.equal(await fresh.get('before'), undefined);
    assert.equal(fresh.stats().outdated, 2);
  });

  test('invalidating a tag keeps entries written after it, and counts only live entries that carried it', async () => {
    const prefix = nextPrefix();
    const store = track(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    await store.ready;
    const now = Date.now();
    await store.set('a', makeEntry('a', now, { tags: ['x'] }));
    assert.equal(await store.invalidateTag('x'), 1);
    await store.set('b', makeEntry('b', now, { tags: ['x'] }));
    assert.equal((await store.get('b'))?.value, 'b');
    assert.equal(await admin!.sendCommand(['SISMEMBER', `${prefix}t:x`, 'b']), 1, 'b stays indexed');
    assert.equal(await admin!.sendCommand(['SISMEMBER', `${prefix}t:x`, 'a']), 0, 'a was swept');
  });

  test('hears invalidations published by an older version of the store (no generation in the message)', async () => {
    const prefix = nextPrefix();
    const store = track(redisStore({ url: REDIS_URL, prefix, timeoutMs: 2_000 }));
    await store.ready;
    const heard = deferred<string>();
    store.onRemoteInvalidate((tag) => heard.resolve(tag));
    await admin!.sendCommand(['PUBLISH', `${prefix}invalidate`, '0123456789abcdeftmethod:tools/list']);
    assert.equal(await heard.promise, 'method:tools/list');
  });

  describe('bloom filter', () => {
    test('skips lookups of unknown keys synchronously and learns keys other replicas write', async () => {
      const prefix = nextPrefix();
      const a = track(redisStore({ client: admin!, prefix, timeoutMs: 2_000, bloom: true }));
      const b = track(redisStore({ url: REDIS_URL, prefix, timeoutMs: 2_000, bloom: true }));
      await Promise.all([a.ready, b.ready]);

      assert.equal(b.get('never-written'), undefined, 'answered without a promise');
      assert.equal(b.stats().bloom?.skipped, 1);

      const marker = deferred<string>();
      b.onRemoteInvalidate((tag) => marker.resolve(tag));
      await a.set('written-by-a', makeEntry({ from: 'a' }, Date.now()));
      // Published after the key's announcement on the same connection, so b has both once it hears this.
      await a.invalidateTag('marker');
      await marker.promise;
      assert.deepEqual((await b.get('written-by-a'))?.value, { from: 'a' });
      assert.equal(b.stats().bloom?.skipped, 1);

      await a.delete('written-by-a');
      assert.equal(await b.get('written-by-a'), undefined);
      assert.equal(b.stats().bloom?.falsePositives, 1);
      const stats = b.stats().bloom!;
      assert.equal(stats.state, 'ready');
      assert.equal(stats.hashes, 7);
      assert.ok(stats.bits > 900_000 && stats.items === 1, JSON.stringify(stats));
    });

    test('a new replica warms up from a SCAN before trusting the filter', async () => {
      const prefix = nextPrefix();
      const writer = track(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
      const now = Date.now();
      for (let i = 0; i < 30; i++) await writer.set(`existing-${i}`, makeEntry(i, now));

      const fresh = track(redisStore({ client: admin!, prefix, timeoutMs: 2_000, bloom: true }));
      assert.equal(fresh.stats().bloom?.state, 'warming');
      const whileWarming = fresh.get('existing-3');
      assert.ok(whileWarming instanceof Promise, 'while warming, lookups go to Redis');
      assert.equal((await whileWarming)?.value, 3);

      await fresh.ready;
      assert.equal(fresh.stats().bloom?.state, 'ready');
      for (let i = 0; i < 30; i++) assert.equal((await fresh.get(`existing-${i}`))?.value, i);
      assert.equal(fresh.get('not-there'), undefined);
      assert.equal(fresh.stats().bloom?.skipped, 1);
    });

    test('rebuilds itself from Redis once it holds more keys than expected', async () => {
      const prefix = nextPrefix();
      const store = track(
        redisStore({ client: admin!, prefix, timeoutMs: 2_000, bloom: { expectedItems: 8 } }),
      );
      await store.ready;
      const now = Date.now();
      for (let i = 0; i < 8; i++) await store.set(`k${i}`, makeEntry(i, now, { freshMs: 60_000 }));
      await admin!.sendCommand(['DEL', `${prefix}e:k0`, `${prefix}e:k1`]);
      await store.set('k8', makeEntry(8, now));
      for (let i = 0; i < 50 && store.stats().bloom?.state === 'warming'; i++)
        await admin!.sendCommand(['PING']);
      assert.equal(store.stats().bloom?.state, 'ready');
      assert.equal(store.stats().bloom?.items, 7, 'only the keys still in Redis were loaded');
      for (let i = 2; i <= 8; i++) assert.equal((await store.get(`k${i}`))?.value, i);
      assert.equal(store.get('k0'), undefined);
    });
  });
});
