/**
 * The Redis stores on a real Redis Cluster of three primaries, started once for this file:
 * the cache and rate-limit contract suites, one slot per cache store, and invalidations
 * reaching a replica subscribed through another node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCluster } from 'redis';
import { redisRateLimitStore, redisStore } from '../../src/entries/redis.js';
import { redisSemaphore } from '../../src/stores/redis/semaphore.js';
import { cacheStoreContract, makeEntry, rateLimitStoreContract } from '../../src/testing/index.js';
import { type OwnCluster, ownClusterUnavailable, startOwnCluster } from './redis-cluster.js';

const unavailable = ownClusterUnavailable();
if (unavailable !== undefined && process.env.CI) {
  test('redis-server and redis-cli are installed (required when CI is set)', () => {
    assert.fail(unavailable);
  });
}
const skip = unavailable;

let own: OwnCluster | undefined;
let cluster: ReturnType<typeof createCluster> | undefined;
let prefixes = 0;
const nextPrefix = () => `cluster-test-${++prefixes}:`;

before(async () => {
  if (skip !== undefined) return;
  own = await startOwnCluster();
  cluster = createCluster({ rootNodes: own.rootNodes });
  cluster.on('error', () => {});
  await cluster.connect();
});

after(async () => {
  cluster?.destroy();
  await own?.dispose();
});

const options = skip === undefined ? {} : { skip };
const contractOptions = { runner: { describe, it: test }, ...options };

cacheStoreContract(
  'redis on a three-primary cluster',
  async ({ now }) => {
    const store = redisStore({
      client: cluster!,
      prefix: nextPrefix(),
      clock: now,
      timeoutMs: 2_000,
    });
    await store.ready;
    return store;
  },
  contractOptions,
);

rateLimitStoreContract(
  'redis on a three-primary cluster',
  () =>
    redisRateLimitStore({
      client: cluster!,
      prefix: nextPrefix(),
      timeSource: 'caller',
      timeoutMs: 2_000,
    }),
  contractOptions,
);

describe('Redis stores on a cluster', options, () => {
  test("a cache store's keys share one slot, and stores on different prefixes spread over the primaries", async () => {
    const slots = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const prefix = `spread-${i}:`;
      const store = redisStore({ client: cluster!, prefix, timeoutMs: 2_000 });
      await store.ready;
      await store.set('a', makeEntry({ n: 1 }, Date.now(), { tags: ['t1', 't2'] }));
      await store.invalidateTag('t1');
      const keys: string[] = [];
      for (const master of cluster!.masters) {
        const node = await cluster!.nodeClient(master);
        for await (const batch of node.scanIterator({ MATCH: `{${prefix}}*` })) keys.push(...batch);
      }
      assert.ok(keys.length >= 3, keys.join());
      const keySlots = new Set(
        await Promise.all(keys.map((k) => cluster!.sendCommand(k, true, ['CLUSTER', 'KEYSLOT', k]))),
      );
      assert.equal(keySlots.size, 1, `keys ${keys.join()} span slots ${[...keySlots].join()}`);
      slots.add(Number([...keySlots][0]));
      await store.clear();
      await store.close();
    }
    const owners = new Set(
      [...slots].map((slot) =>
        cluster!.masters.findIndex((m) => cluster!.slots[slot]?.master.address === m.address),
      ),
    );
    assert.ok(owners.size >= 2, `6 prefixes all landed on one primary: ${[...slots].join()}`);
  });

  test('an invalidation on one replica reaches another subscribed through its own node', async () => {
    const prefix = nextPrefix();
    const a = redisStore({ client: cluster!, prefix, timeoutMs: 2_000 });
    const b = redisStore({ client: cluster!, prefix, timeoutMs: 2_000 });
    await Promise.all([a.ready, b.ready]);
    try {
      assert.equal(b.listening, true);
      const heard = new Promise<string>((resolve) => b.onRemoteInvalidate(resolve));
      await a.set('k', makeEntry({ v: 1 }, Date.now(), { tags: ['users'] }));
      assert.ok(await b.get('k'));
      await a.invalidateTag('users');
      assert.equal(await heard, 'users');
      assert.equal(await b.get('k'), undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("the bloom filter's warm-up scans the primary holding the store's slot", async () => {
    const prefix = nextPrefix();
    const writer = redisStore({ client: cluster!, prefix, timeoutMs: 2_000 });
    await writer.ready;
    for (let i = 0; i < 5; i++) await writer.set(`k${i}`, makeEntry({ i }, Date.now()));
    const reader = redisStore({
      client: cluster!,
      prefix,
      timeoutMs: 2_000,
      bloom: true,
    });
    await reader.ready;
    try {
      assert.equal(reader.stats().bloom?.state, 'ready');
      for (let i = 0; i < 5; i++) assert.deepEqual((await reader.get(`k${i}`))?.value, { i });
      for (let i = 0; i < 50; i++) assert.equal(reader.get(`never-${i}`) ?? 'sync miss', 'sync miss');
      assert.ok(reader.stats().bloom!.skipped >= 45, JSON.stringify(reader.stats().bloom));
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  test('a semaphore holds its limit across holders on a cluster', async () => {
    const semaphore = redisSemaphore({
      client: cluster!,
      prefix: nextPrefix(),
      timeoutMs: 2_000,
    });
    const first = await semaphore.acquire('db', 2, 5_000);
    const second = await semaphore.acquire('db', 2, 5_000);
    assert.ok(first.granted && second.granted);
    assert.equal((await semaphore.acquire('db', 2, 5_000)).granted, false);
    await semaphore.release('db', first.lease!);
    assert.equal((await semaphore.acquire('db', 2, 5_000)).granted, true);
    await semaphore.close();
  });
});
