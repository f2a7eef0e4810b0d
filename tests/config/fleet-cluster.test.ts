/**
 * A fleet config whose Redis blocks name a Redis Cluster (`cluster.rootNodes`), on a real
 * cluster of three primaries: two replicas share cache entries, a rate limit and a
 * concurrency limit through it; a cluster nobody answers is warned about.
 */
import assert from 'node:assert/strict';
import { after, describe, it, test } from 'node:test';
import { createClient, createCluster } from 'redis';
import { createStack, parseConfig } from '../../src/config/index.js';
import { redisStore } from '../../src/entries/redis.js';
import type { CacheMiddleware, ConcurrencyLimiter, RateLimiter } from '../../src/index.js';
import type { RedisStore } from '../../src/stores/redis/store.js';
import { connectPair } from '../helpers/servers.js';
import { ownClusterUnavailable, startOwnCluster } from '../stores/redis-cluster.js';
import { freePort } from '../stores/redis-server.js';

/** Run after every test of the file, last added first. */
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const clusterSkip = ownClusterUnavailable();
if (clusterSkip !== undefined && process.env.CI) {
  test('redis-server and redis-cli are installed (required when CI is set)', () => assert.fail(clusterSkip));
}

describe('a fleet on a Redis Cluster from a config', { skip: clusterSkip }, () => {
  it('shares cache entries, a rate limit and a concurrency limit through the cluster', async () => {
    const own = await startOwnCluster();
    cleanups.push(() => own.dispose());
    const config = parseConfig(`
middleware:
  - concurrencyLimit: { shared: { redis: { cluster: { rootNodes: ["${own.rootNodes[0]!.url}"] }, prefix: "fleet:", timeoutMs: 1s }, limit: 2, onStoreError: reject } }
  - rateLimit: { limit: 2, windowMs: 1h, onStoreError: deny, store: { redis: { cluster: { rootNodes: ["${own.rootNodes[0]!.url}"] }, prefix: "fleet:", timeoutMs: 1s } } }
  - cache:
      tools: { include: [echo] }
      store: { redis: { cluster: { rootNodes: ["${own.rootNodes[0]!.url}"] }, prefix: "fleet:", timeoutMs: 1s, coalesce: true } }
`);
    const built = [await createStack(config), await createStack(config)];
    cleanups.push(() => Promise.all(built.map((s) => s.close())));
    const pairs = await Promise.all(built.map((stack) => connectPair({ server: stack.middleware })));
    cleanups.push(() => Promise.all(pairs.map((p) => p.close())));
    await pairs[0]!.client.callTool({ name: 'echo', arguments: { text: 'c' } });
    // The store writes behind the answer, under its prefix made a hash tag: wait for it.
    for (let i = 0; !(await keysOf(own.rootNodes)).some((k) => k.startsWith('{fleet:}e:')); i++) {
      assert.ok(i < 500, 'the entry reaches the cluster');
      await new Promise((r) => setTimeout(r, 10));
    }
    await pairs[1]!.client.callTool({ name: 'echo', arguments: { text: 'c' } });
    assert.equal((pairs[0]!.counts.echo ?? 0) + (pairs[1]!.counts.echo ?? 0), 1, 'one call in all');
    await assert.rejects(
      pairs[1]!.client.callTool({ name: 'echo', arguments: { text: 'd' } }),
      /rate limit/i,
    );
    const granted = built.map(
      (s) => (s.find('concurrencyLimit') as ConcurrencyLimiter).sharedStats()!.granted,
    );
    assert.deepEqual(granted, [1, 2], 'every call took its lease from the cluster');
    assert.deepEqual(
      built.map((s) => (s.find('rateLimit') as RateLimiter).stats().storeErrors),
      [0, 0],
    );
  });

  it('warns about a cluster nobody answers, and listens for invalidations once it is there', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const urls = ports.map((p) => `redis://127.0.0.1:${p}`);
    const seen: string[] = [];
    const stack = await createStack(
      parseConfig(
        `middleware:\n  - cache: { store: { redis: { cluster: { rootNodes: ${JSON.stringify(urls)} }, prefix: "late:" } } }\n`,
      ),
      { onWarning: (w) => seen.push(w), redisConnectWaitMs: 100 },
    );
    cleanups.push(() => stack.close());
    assert.deepEqual(seen, [
      `cache: Redis at cluster ${urls.join(', ')} is not connected after 100 ms; lookups miss until it connects`,
    ]);
    const store = (stack.find('cache') as CacheMiddleware).store as RedisStore;
    assert.equal(store.listening, false);
    const own = await startOwnCluster(ports);
    cleanups.push(() => own.dispose());
    for (let i = 0; !store.listening; i++) {
      assert.ok(i < 300, 'the invalidation channel opens once the cluster answers');
      await new Promise((r) => setTimeout(r, 50));
    }
    const client = createCluster({ rootNodes: own.rootNodes });
    client.on('error', () => {});
    await client.connect();
    cleanups.push(() => client.destroy());
    const other = redisStore({ client, prefix: 'late:' });
    cleanups.push(() => other.close());
    await other.ready;
    const heard = new Promise<string>((resolve) => store.onRemoteInvalidate(resolve));
    await other.invalidateTag('users');
    assert.equal(await heard, 'users');
  });
});

/** Every key of the cluster's nodes. */
async function keysOf(nodes: readonly { url: string }[]): Promise<string[]> {
  const keys: string[] = [];
  for (const { url } of nodes) {
    const probe = createClient({ url, socket: { reconnectStrategy: false } });
    await probe.connect();
    keys.push(...((await probe.sendCommand(['KEYS', '*'])) as string[]));
    await probe.close();
  }
  return keys;
}
