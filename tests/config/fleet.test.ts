/**
 * A fleet from a config file: the cache store's coalescing and memory tier, the Redis
 * rate-limit store and the shared concurrency limit, validated and built by createStack,
 * then run as two replicas (two stacks from one config) against the shared Redis. The
 * connection tests (one client per URL, closing, hot reload) run their own redis-server;
 * the same on a Redis Cluster: fleet-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import {
  createStack,
  isConfigError,
  loadConfigFile,
  parseConfig,
  watchConfig,
} from '../../src/config/index.js';
import type { CacheMiddleware, ConcurrencyLimiter, RateLimiter } from '../../src/index.js';
import type { TieredStoreStats } from '../../src/stores/redis/index.js';
import { connectPair, deferred } from '../helpers/servers.js';
import { REDIS_URL, sharedRedis } from '../stores/redis-env.js';
import { freePort, type OwnRedis, ownRedisUnavailable, startOwnRedis } from '../stores/redis-server.js';

/** Waits until `condition` holds, polling; fails naming `what` if it never does (about 10 s). */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

/** The issues a config gives, as `path: message` lines. */
function issuesOf(config: string): string[] {
  try {
    parseConfig(config);
  } catch (error) {
    if (isConfigError(error)) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

describe('fleet config forms', () => {
  it('validates each new form and converts its durations and sizes', () => {
    const config = parseConfig(`
middleware:
  - rateLimit:
      limit: 50
      store: { redis: { url: "redis://r:6379", prefix: "app:", timeoutMs: 20ms, circuit: { cooldownMs: 2s } } }
  - cache:
      store:
        redis:
          url: "redis://r:6379"
          coalesce: { lockMs: 10s, waitMs: 2s, pollMs: 50ms }
          l1: { maxEntries: 500, maxBytes: 8MiB, maxEntrySize: 64KiB }
          circuit: false
  - concurrencyLimit:
      limit: 8
      shared: { redis: { url: "redis://r:6379" }, limit: 20, key: tool, leaseMs: 3s, maxWaitMs: 1s, onStoreError: reject }
`);
    const [rate, cache, concurrency] = config.middleware.map((e) => e.options);
    assert.deepEqual(rate!.store, {
      redis: { url: 'redis://r:6379', prefix: 'app:', timeoutMs: 20, circuit: { cooldownMs: 2000 } },
    });
    assert.deepEqual(cache!.store, {
      redis: {
        url: 'redis://r:6379',
        coalesce: { lockMs: 10_000, waitMs: 2000, pollMs: 50 },
        l1: { maxEntries: 500, maxBytes: 8 * 1024 * 1024, maxEntrySize: 64 * 1024 },
        circuit: false,
      },
    });
    assert.deepEqual(concurrency!.shared, {
      redis: { url: 'redis://r:6379' },
      limit: 20,
      key: 'tool',
      leaseMs: 3000,
      maxWaitMs: 1000,
      onStoreError: 'reject',
    });
    assert.deepEqual(
      issuesOf(
        'middleware:\n  - cache: { store: { redis: { url: "redis://r", coalesce: true, l1: true } } }\n',
      ),
      [],
    );
  });

  it('accepts examples/fleet.yaml', async () => {
    const config = await loadConfigFile(
      fileURLToPath(new URL('../../examples/fleet.yaml', import.meta.url)),
      {},
    );
    assert.deepEqual(
      config.middleware.map((e) => e.name),
      ['metrics', 'rateLimit', 'cache', 'concurrencyLimit'],
    );
    const cache = config.middleware[2]!.options.store as { redis: Record<string, unknown> };
    assert.equal(cache.redis.url, 'redis://127.0.0.1:6379', 'the fallback of an unset REDIS_URL');
    assert.deepEqual(cache.redis.l1, { maxEntries: 5000, maxBytes: 32 * 1024 * 1024 });
  });

  it('names the path and the problem of each invalid form', () => {
    assert.deepEqual(
      issuesOf(`
middleware:
  - cache: { store: { redis: { url: "redis://r", coalesce: { lockMs: soon }, l1: { maxEntries: 0 } } } }
  - rateLimit: { store: { redis: { prefix: "a:" } } }
  - rateLimit: { store: { memory: {} } }
  - concurrencyLimit: { shared: { redis: { url: "http://r" }, onStoreError: deny } }
  - tokenBudget: { store: { redis: { url: "redis://r", coalesce: true } } }
  - cache: { store: { redis: { url: "redis://r", circuit: true } } }
  - rateLimit: { store: { redis: { url: "redis://r", cluster: { rootNodes: ["redis://s"] } } } }
  - rateLimit: { store: { redis: { cluster: { rootNodes: [] } } } }
`),
      [
        'middleware[0].cache.store.redis.coalesce.lockMs: expected a non-negative duration (milliseconds, or e.g. "250ms", "5m"), got "soon"',
        'middleware[0].cache.store.redis.l1.maxEntries: must be >= 1, got 0',
        'middleware[1].rateLimit.store.redis: give one of url, cluster, got {"prefix":"a:"}',
        'middleware[2].rateLimit.store.redis: is required',
        'middleware[2].rateLimit.store.memory: unknown option "memory" (known: redis)',
        'middleware[3].concurrencyLimit.shared.limit: is required',
        'middleware[3].concurrencyLimit.shared.redis.url: must match pattern "^rediss?://", got "http://r"',
        'middleware[3].concurrencyLimit.shared.onStoreError: expected one of "allow", "reject", got "deny"',
        'middleware[4].tokenBudget.store.redis.coalesce: unknown option "coalesce" (known: url, cluster, prefix, timeoutMs, circuit, maxEntrySize, bloom, encoding)',
        'middleware[5].cache.store.redis.circuit: does not match any allowed form, got true',
        'middleware[6].rateLimit.store.redis: give only one of url, cluster, got {"url":"redis://r","cluster":{"rootNodes":["redis://s"]}}',
        'middleware[7].rateLimit.store.redis.cluster.rootNodes: must NOT have fewer than 1 items, got []',
      ],
    );
  });
});

const { admin, skip, nextPrefix } = await sharedRedis('fleet config');
const warnings: string[] = [];
/** Run after every test of the file, last added first. */
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Two replicas: two stacks built from one config, each in front of its own counting server. */
async function replicas(yaml: string, gate?: () => Promise<void>) {
  const prefix = nextPrefix();
  const config = parseConfig(yaml, { env: { REDIS_URL, PREFIX: prefix } });
  const built = [
    await createStack(config, { onWarning: (w) => warnings.push(w) }),
    await createStack(config, { onWarning: (w) => warnings.push(w) }),
  ];
  cleanups.push(() => Promise.all(built.map((s) => s.close())));
  const pairs = await Promise.all(
    built.map((stack) => connectPair({ server: stack.middleware, counting: gate && { gate } })),
  );
  cleanups.push(() => Promise.all(pairs.map((p) => p.close())));
  return { stacks: built, pairs, prefix };
}

describe('a fleet from one config, against Redis', { skip }, () => {
  it('shares cache entries and coalesces a burst over both replicas into one upstream call', async () => {
    const release = deferred();
    const { stacks: built, pairs } = await replicas(
      `
middleware:
  - cache:
      tools: { include: [gate] }
      store:
        redis: { url: "\${REDIS_URL}", prefix: "\${PREFIX}", coalesce: { pollMs: 20ms, waitMs: 10s }, l1: { maxEntries: 100 } }
`,
      () => release.promise,
    );
    const tiers = () =>
      built.map((s) => (s.find('cache') as CacheMiddleware).store.stats() as unknown as TieredStoreStats);
    const burst = [];
    for (let i = 0; i < 6; i++)
      burst.push(pairs[i % 2]!.client.callTool({ name: 'gate', arguments: { label: 'x' } }));
    // Every call of the burst is in: one claimed the fill, the five others wait on it.
    await until(() => {
      const [a, b] = tiers().map((t) => t.l2.coalesce!);
      return a!.claimed + b!.claimed === 1 && a!.waiting + b!.waiting === 5;
    }, 'one fill claimed and five calls waiting on it');
    release.resolve();
    await Promise.all(burst);
    assert.equal((pairs[0]!.counts.gate ?? 0) + (pairs[1]!.counts.gate ?? 0), 1, 'one upstream call in all');
    // Both replicas hold the entry in their memory tier now: repeats never reach Redis.
    for (const pair of pairs) await pair.client.callTool({ name: 'gate', arguments: { label: 'x' } });
    const after = tiers();
    assert.ok(
      after.every((t) => t.l1Hits >= 1),
      JSON.stringify(after.map((t) => t.l1Hits)),
    );
    const counted = after.map((t) => t.l2.coalesce!);
    assert.deepEqual(
      [
        counted[0]!.claimed + counted[1]!.claimed,
        counted[0]!.coalesced + counted[1]!.coalesced,
        counted[0]!.fellBack + counted[1]!.fellBack,
      ],
      [1, 5, 0],
      'one call filled, five (on both replicas) were answered with its entry',
    );
  });

  it('shares one rate-limit bucket space between replicas', async () => {
    const {
      stacks: built,
      pairs,
      prefix,
    } = await replicas(`
middleware:
  - rateLimit:
      limit: 3
      windowMs: 1h
      onStoreError: deny
      store: { redis: { url: "\${REDIS_URL}", prefix: "\${PREFIX}", timeoutMs: 2s } }
`);
    // A generous store timeout: under load a slow answer would be an error, and "deny" would limit.
    const results: string[] = [];
    for (let i = 0; i < 4; i++) {
      const outcome = await pairs[i % 2]!.client.callTool({ name: 'echo', arguments: { text: `${i}` } }).then(
        () => 'ok',
        (e: Error) => (/rate limit/i.test(e.message) ? 'limited' : e.message),
      );
      results.push(outcome);
    }
    assert.deepEqual(results, ['ok', 'ok', 'ok', 'limited']);
    const stats = built.map((s) => (s.find('rateLimit') as RateLimiter).stats());
    assert.deepEqual(
      stats.map((s) => s.storeErrors),
      [0, 0],
    );
    assert.equal((await admin!.keys(`${prefix}global:rl:*`)).length, 1, 'one bucket, under the limit name');
  });

  it('shares one concurrency limit between replicas', async () => {
    const release = deferred();
    const {
      stacks: built,
      pairs,
      prefix,
    } = await replicas(
      `
middleware:
  - concurrencyLimit:
      limit: 4
      shared: { redis: { url: "\${REDIS_URL}", prefix: "\${PREFIX}" }, limit: 1, maxWaitMs: 0, onStoreError: reject }
`,
      () => release.promise,
    );
    const held = pairs[0]!.client.callTool({ name: 'gate', arguments: {} });
    await until(() => pairs[0]!.counts.gate === 1, 'the first call running');
    await assert.rejects(
      pairs[1]!.client.callTool({ name: 'gate', arguments: {} }),
      /shared concurrency limit reached for "global": 1\/1/,
    );
    assert.equal(await admin!.zCard(`${prefix}sem:global`), 1, 'one lease held in Redis');
    release.resolve();
    await held;
    // The lease goes back in the background, over another connection than the next take:
    // wait until Redis has it back.
    await until(async () => (await admin!.zCard(`${prefix}sem:global`)) === 0, 'the lease back in Redis');
    await pairs[1]!.client.callTool({ name: 'gate', arguments: {} });
    const shared = built.map((s) => (s.find('concurrencyLimit') as ConcurrencyLimiter).sharedStats()!);
    assert.deepEqual(
      shared.map((s) => [s.granted, s.shed, s.held]),
      [
        [1, 0, 0],
        [1, 1, 0],
      ],
    );
  });

  it('names the option a store refuses where the file has it', async () => {
    const refused = async (entry: object) => {
      try {
        await createStack({ middleware: [entry] }, { onWarning: (w) => warnings.push(w) });
      } catch (error) {
        if (isConfigError(error)) return error.issues.map((i) => `${i.path}: ${i.message}`);
        throw error;
      }
      return [];
    };
    assert.deepEqual(
      await refused({
        cache: { store: { redis: { url: REDIS_URL, l1: { maxBytes: '1KiB', maxEntrySize: '2KiB' } } } },
      }),
      [
        'middleware[0].cache.store.redis.l1.maxEntrySize: memoryStore: options.maxEntrySize must be at most maxBytes (1024) (got 2048)',
      ],
    );
    assert.deepEqual(await refused({ rateLimit: { store: { redis: { url: REDIS_URL, timeoutMs: 0 } } } }), [
      'middleware[0].rateLimit.store.redis.timeoutMs: redisRateLimitStore: options.timeoutMs must be a positive integer (got 0)',
    ]);
    assert.deepEqual(await refused({ cache: { store: { memory: { maxBytes: 0 } } } }), [
      'middleware[0].cache.store.memory.maxBytes: memoryStore: options.maxBytes must be a positive integer (got 0)',
    ]);
  });

  it('refuses a shared lease too short for its renewals, naming the option', async () => {
    await assert.rejects(
      createStack(
        {
          middleware: [
            { concurrencyLimit: { shared: { redis: { url: REDIS_URL }, limit: 2, leaseMs: '10ms' } } },
          ],
        },
        { onWarning: (w) => warnings.push(w) },
      ),
      (error) =>
        isConfigError(error) &&
        error.issues[0]!.path === 'middleware[0].concurrencyLimit.shared.leaseMs' &&
        /at least 30 ms/.test(error.issues[0]!.message),
    );
  });
});

const ownSkip = ownRedisUnavailable();
if (ownSkip !== undefined && process.env.CI) {
  test('redis-server is installed (required when CI is set)', () => assert.fail(ownSkip));
}

/** Connections a Redis server has open now. */
async function connections(url: string): Promise<number> {
  const probe = createClient({ url, socket: { reconnectStrategy: false } });
  await probe.connect();
  const list = String(await probe.sendCommand(['CLIENT', 'LIST']));
  await probe.close();
  return list.trim().split('\n').length - 1;
}

const FULL_STACK = (url: string) => `
middleware:
  - rateLimit: { store: { redis: { url: "${url}" } } }
  - cache: { store: { redis: { url: "${url}", coalesce: true, l1: true } } }
  - concurrencyLimit: { shared: { redis: { url: "${url}" }, limit: 4 } }
`;

describe('Redis connections of a config-built stack', { skip: ownSkip }, () => {
  let started: Promise<OwnRedis> | undefined;
  /** One redis-server of this file's own, counting only these tests' connections. */
  const ownRedis = () => {
    if (started === undefined) {
      started = startOwnRedis();
      cleanups.push(async () => (await started!).dispose());
    }
    return started;
  };

  it('opens one client per URL for every entry (plus the cache channel) and closes them with the stack', async () => {
    const own = await ownRedis();
    const stack = await createStack(parseConfig(FULL_STACK(own.url)));
    assert.equal(await connections(own.url), 2, 'one shared client and the invalidation channel');
    await stack.close();
    assert.equal(await connections(own.url), 0);
  });

  it('warns and builds the stack on a dead Redis, each entry with its own fallback', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const seen: string[] = [];
    const stack = await createStack(
      parseConfig(`
middleware:
  - rateLimit: { onStoreError: deny, store: { redis: { url: "${dead}" } } }
`),
      { onWarning: (w) => seen.push(w), redisConnectWaitMs: 100 },
    );
    const pair = await connectPair({ server: stack.middleware });
    try {
      assert.deepEqual(seen, [
        `rateLimit: Redis at ${dead} is not connected after 100 ms; requests are refused (onStoreError "deny") until it connects`,
      ]);
      await assert.rejects(pair.client.callTool({ name: 'echo', arguments: { text: 'a' } }), /store failed/);
    } finally {
      await pair.close();
      await stack.close();
    }
    const open = await createStack(parseConfig(FULL_STACK(dead)), {
      onWarning: (w) => seen.push(w),
      redisConnectWaitMs: 100,
    });
    const openPair = await connectPair({ server: open.middleware });
    try {
      assert.deepEqual(seen.slice(1), [
        `rateLimit: Redis at ${dead} is not connected after 100 ms; requests are let through (onStoreError "allow") until it connects`,
        `cache: Redis at ${dead} is not connected after 100 ms; lookups miss until it connects`,
        `concurrencyLimit: Redis at ${dead} is not connected after 100 ms; requests run without a shared slot (local limits hold) (onStoreError "allow") until it connects`,
      ]);
      const reply = await openPair.client.callTool({ name: 'echo', arguments: { text: 'b' } });
      assert.deepEqual(reply.content, [{ type: 'text', text: 'b' }]);
    } finally {
      await openPair.close();
      await open.close();
    }
  });

  it('hot reload closes the old stack’s connections once its requests have finished', async () => {
    const own = await ownRedis();
    const dir = await mkdtemp(join(tmpdir(), 'mcp-perf-fleet-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'fleet.yaml');
    await writeFile(file, FULL_STACK(own.url));
    const watcher = await watchConfig(file, { debounceMs: 60_000 });
    const release = deferred();
    const pair = await connectPair({ server: [watcher.stack], counting: { gate: () => release.promise } });
    try {
      const first = watcher.current;
      assert.equal(await connections(own.url), 2);
      // A call holding a lease of the shared limit in the first stack while it is replaced.
      const held = pair.client.callTool({ name: 'gate', arguments: {} });
      await until(() => pair.counts.gate === 1, 'the call running');
      await writeFile(file, FULL_STACK(own.url).replace('limit: 4', 'limit: 5'));
      await watcher.reload();
      assert.notEqual(watcher.current, first);
      assert.equal((watcher.current.find('concurrencyLimit') as ConcurrencyLimiter).sharedStats()!.limit, 5);
      assert.equal(await connections(own.url), 4, 'the old stack stays open for the call in flight');
      release.resolve();
      await held;
      await until(async () => (await connections(own.url)) === 2, 'the old stack closed');
      const old = (first.find('concurrencyLimit') as ConcurrencyLimiter).sharedStats()!;
      assert.deepEqual([old.granted, old.held, old.storeErrors], [1, 0, 0]);
      const probe = createClient({ url: own.url });
      await probe.connect();
      assert.equal(
        await probe.zCard('mcp-perf:sem:global'),
        0,
        'the lease was given back, not left to expire',
      );
      await probe.close();
    } finally {
      await pair.close();
      await watcher.close();
    }
    assert.equal(await connections(own.url), 0);
  });
});
