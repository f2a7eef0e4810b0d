/**
 * Three replicas of one MCP server, each with its own cache middleware and rate limit, in
 * front of one Redis: the fleet runs each distinct call once, drops everywhere what one
 * replica invalidates, and holds one rate limit.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { redisRateLimitStore, redisStore, type TieredStore, tieredStore } from '../../src/entries/redis.js';
import { cache, rateLimit } from '../../src/index.js';
import { seededRandom, zipfSampler } from '../../src/load/workload.js';
import { createCountingServer, deferred, linkPair } from '../helpers/servers.js';
import { closeAfter, REDIS_URL, sharedRedis } from './redis-env.js';

const { skip, nextPrefix } = await sharedRedis('multi-replica');

/** A replica: a counting server behind `cache` (echo cached) and `rateLimit`, on the shared Redis. */
async function replica(prefix: string, rateLimitPerHour: number) {
  const l2 = redisStore({ url: REDIS_URL, prefix, timeoutMs: 2_000 });
  await l2.ready;
  const store = closeAfter(tieredStore({ l2 }));
  const writes = new Set<Promise<void>>();
  const set = store.set.bind(store);
  // The cache answers before its write reaches Redis; the test waits for writes between calls.
  store.set = (key, entry) => {
    const write = set(key, entry);
    writes.add(write);
    write.finally(() => writes.delete(write)).catch(() => {});
    return write;
  };
  const buckets = closeAfter(redisRateLimitStore({ url: REDIS_URL, prefix, timeoutMs: 2_000 }));
  await buckets.ready;
  const c = cache({ store, tools: { include: ['echo'] } });
  const limit = rateLimit({ limit: rateLimitPerHour, windowMs: 3_600_000, store: buckets });
  const { server, counts } = createCountingServer();
  const pair = await linkPair(server, counts, { server: [limit, c] });
  return {
    store,
    cache: c,
    counts,
    pair,
    async echo(text: string) {
      const result = await pair.client.callTool({ name: 'echo', arguments: { text } });
      await Promise.all(writes);
      return result;
    },
  };
}

/** Keys drawn Zipf(1.0) over `distinct` ranks, from a fixed seed. */
function zipf(distinct: number, draws: number): string[] {
  const random = seededRandom(42);
  const sample = zipfSampler(distinct, 1);
  return Array.from({ length: draws }, () => `key-${sample(random)}`);
}

describe('three replicas on one Redis', { skip }, () => {
  test('run each distinct call once, and drop everywhere what one invalidates', async (t) => {
    const prefix = nextPrefix();
    const replicas = await Promise.all([0, 1, 2].map(() => replica(prefix, 1_000_000)));
    try {
      const draws = zipf(25, 300);
      for (const [i, text] of draws.entries()) {
        const result = await replicas[i % 3]!.echo(text);
        assert.deepEqual(result.content, [{ type: 'text', text }]);
      }
      const executed = replicas.reduce((n, r) => n + (r.counts.echo ?? 0), 0);
      assert.equal(executed, new Set(draws).size, 'one execution per distinct call across the fleet');

      const heard = replicas.slice(1).map(() => deferred<number>());
      replicas.slice(1).forEach((r, i) => {
        (r.store as TieredStore).onRemoteInvalidate((tag) => {
          if (tag === 'method:tools/call') heard[i]!.resolve(performance.now());
        });
      });
      const start = performance.now();
      await replicas[0]!.cache.invalidate('tools/call');
      const arrivals = await Promise.all(heard.map((d) => d.promise));
      t.diagnostic(
        `invalidation heard by the other replicas after ${arrivals.map((a) => (a - start).toFixed(1)).join(' / ')} ms`,
      );
      const before = replicas.map((r) => r.counts.echo ?? 0);
      for (const r of replicas) await r.echo('key-0');
      assert.deepEqual(
        replicas.map((r, i) => (r.counts.echo ?? 0) - before[i]!),
        [1, 0, 0],
        'the replica asked first runs the call again; the others serve its new result',
      );
    } finally {
      await Promise.all(replicas.map((r) => r.pair.close()));
    }
  });

  test('hold one rate limit across the fleet', async () => {
    const prefix = nextPrefix();
    const fleet = await Promise.all([0, 1, 2].map(() => replica(prefix, 10)));
    try {
      const outcomes: unknown[] = [];
      for (let i = 0; i < 30; i++) {
        outcomes.push(
          await fleet[i % 3]!.echo(`call-${i}`).then(
            () => 'handled',
            (error: unknown) => error,
          ),
        );
      }
      assert.equal(outcomes.filter((o) => o === 'handled').length, 10);
      const refused = outcomes.filter((o) => o !== 'handled') as { code?: number }[];
      assert.deepEqual(
        new Set(refused.map((e) => e.code)),
        new Set([-31429]),
        'the other 20 were rate limited',
      );
    } finally {
      await Promise.all(fleet.map((r) => r.pair.close()));
    }
  });
});
