import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { redisStore, type TieredStore, tieredStore } from '../../src/entries/redis.js';
import { isInvalidOptionError } from '../../src/errors/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { cacheStoreContract, makeEntry } from '../../src/testing/index.js';
import { closeAfter, REDIS_URL, sharedRedis } from './redis-env.js';
import { ownRedisUnavailable, startOwnRedis, startPartition } from './redis-server.js';

const { admin, skip, nextPrefix } = await sharedRedis('tiered store');

cacheStoreContract(
  'tiered (memory in front of redis)',
  async ({ now }) => {
    const l2 = redisStore({ client: admin!, prefix: nextPrefix(), clock: now, timeoutMs: 2_000 });
    await l2.ready;
    return tieredStore({ l1: { now }, l2 });
  },
  { runner: { describe, it }, countsLocally: true, ...(skip === undefined ? {} : { skip }) },
);

/** Two replicas' tiered stores on one prefix of the shared Redis, both listening. */
async function twoReplicas(): Promise<[TieredStore, TieredStore]> {
  const prefix = nextPrefix();
  const l2s = [0, 1].map(() => redisStore({ url: REDIS_URL, prefix, timeoutMs: 2_000 }));
  await Promise.all(l2s.map((l2) => l2.ready));
  return [closeAfter(tieredStore({ l2: l2s[0]! })), closeAfter(tieredStore({ l2: l2s[1]! }))];
}

/** Waits for something a connection times itself; bounded, asserts nothing about time. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

describe('tieredStore', () => {
  test('rejects an l2 that is not a Redis store, naming the option', () => {
    assert.throws(
      () => tieredStore({ l2: memoryStore() as never }),
      (error: unknown) => isInvalidOptionError(error) && error.option === 'l2',
    );
  });
});

describe('tieredStore against Redis', { skip }, () => {
  test('an L2 hit fills L1; the next lookup answers synchronously', async () => {
    const [a, b] = await twoReplicas();
    await a.set('k', makeEntry({ n: 1 }, Date.now(), { tags: ['tool:t'] }));
    assert.equal(a.get('k') instanceof Promise, false, 'the writer holds it in L1');
    const first = b.get('k');
    assert.ok(first instanceof Promise, 'the other replica asks Redis first');
    assert.deepEqual((await first)?.value, { n: 1 });
    const second = b.get('k');
    assert.ok(!(second instanceof Promise), 'then answers from L1');
    assert.deepEqual(second?.value, { n: 1 });
    assert.deepEqual([b.stats().l1Hits, b.stats().l2Hits, b.stats().entries], [1, 1, 1]);
  });

  test("an invalidation on one replica empties every replica's L1", async () => {
    const [a, b] = await twoReplicas();
    await a.set('k', makeEntry('v', Date.now(), { tags: ['method:tools/list'] }));
    await b.get('k');
    assert.equal((b.get('k') as { value: unknown } | undefined)?.value, 'v');
    const heard: string[] = [];
    b.onRemoteInvalidate((tag) => heard.push(tag));
    assert.equal(await a.invalidateTag('method:tools/list'), 1);
    await waitFor(() => heard.length === 1, 'b to hear the invalidation');
    assert.equal(b.stats().entries, 0, "dropped from b's L1 before its listeners ran");
    assert.equal(await b.get('k'), undefined);
  });

  test('an L1 copy expires with its L2 entry', async () => {
    let now = Date.now();
    const prefix = nextPrefix();
    const store = closeAfter(
      tieredStore({
        l1: { clock: () => now },
        l2: redisStore({ client: admin!, prefix, timeoutMs: 2_000, clock: () => now }),
      }),
    );
    await store.set('k', makeEntry('v', now, { freshMs: 1_000 }));
    now += 1_001;
    assert.equal(store.get('k') instanceof Promise, true, 'L1 no longer has it');
  });
});

const noServer = ownRedisUnavailable();
describe('tieredStore when its channel drops', { skip: noServer ?? skip }, () => {
  test('L1 is emptied, not filled while L2 cannot hear invalidations, and filled again once it can', async () => {
    const server = await startOwnRedis();
    const partition = await startPartition(server.port);
    try {
      const l2 = redisStore({ url: partition.url, timeoutMs: 1_000 });
      await l2.ready;
      const store = tieredStore({ l2 });
      await store.set('k', makeEntry('v', Date.now()));
      assert.equal(store.stats().entries, 1);
      partition.cut();
      await waitFor(() => store.stats().entries === 0, 'L1 to be emptied');
      assert.equal(l2.listening, false);
      partition.heal();
      await waitFor(() => l2.listening, 'L2 to listen again');
      assert.equal((await store.get('k'))?.value, 'v');
      assert.equal(store.stats().entries, 1, 'filled again');
      await store.close();
    } finally {
      await partition.close();
      await server.dispose();
    }
  });
});
