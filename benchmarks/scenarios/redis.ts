/**
 * The Redis stores against Redis itself, on the shared Redis (`REDIS_URL`, default
 * 127.0.0.1:6379) under a key prefix of their own: an L2 hit against a raw `GET` of the
 * same bytes with the same client; a rate-limit take against a raw `EVALSHA` of a trivial
 * script; and an L1 hit of the tiered store against the memory store alone (a block of
 * lookups per operation: one lookup is a few hundred nanoseconds); and the share of
 * lookups for never-written keys the bloom filter answers without a round trip.
 */

import { memoryStore } from 'mcp-perf';
import { redisRateLimitStore, redisStore, tieredStore } from 'mcp-perf/redis';
import { createClient } from 'redis';
import { recordsResult, toolList } from '../fixtures/payloads.js';
import type { Variant } from '../harness/compare.js';
import { FINE_INTERLEAVE, type ScenarioSet } from '../harness/types.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `mcp-perf-bench:${process.pid}:`;
/** Lookups per operation in the L1 scenario. */
const L1_BLOCK = 1_000;

type Client = ReturnType<typeof createClient>;

/** One client both sides of a comparison use, opened by the first setup and closed by the last teardown. */
function sharedClient(): { open(): Promise<Client>; release(): Promise<void> } {
  let client: Client | undefined;
  let users = 0;
  return {
    async open() {
      users++;
      if (client === undefined) {
        client = createClient({ url: REDIS_URL });
        client.on('error', () => {});
        await client.connect();
      }
      return client;
    },
    async release() {
      if (--users === 0 && client !== undefined) {
        const keys = (await client.sendCommand(['KEYS', `${PREFIX}*`])) as string[];
        if (keys.length > 0) await client.sendCommand(['UNLINK', ...keys]);
        client.destroy();
        client = undefined;
      }
    },
  };
}

const ENTRY = {
  value: { content: [{ type: 'text', text: 'x'.repeat(1_000) }], structuredContent: { n: 1 } },
  size: 1_050,
  storedAt: Date.now(),
  freshUntil: Date.now() + 3_600_000,
  staleUntil: Date.now() + 3_600_000,
  tags: ['method:tools/call', 'tool:search'],
};

function l2Scenario() {
  const shared = sharedClient();
  const rawGet: Variant<{ client: Client; key: string }> = {
    async setup() {
      const client = await shared.open();
      const key = `${PREFIX}raw`;
      await client.sendCommand(['SET', key, JSON.stringify(ENTRY)]);
      return { client, key };
    },
    run: async ({ client, key }) => {
      await client.sendCommand(['GET', key]);
    },
    teardown: () => shared.release(),
  };
  const l2Hit: Variant<{ store: ReturnType<typeof redisStore> }> = {
    async setup() {
      const store = redisStore({
        client: (await shared.open()) as never,
        prefix: `${PREFIX}l2:`,
        timeoutMs: 2_000,
      });
      await store.ready;
      await store.set('k', ENTRY);
      if ((await store.get('k')) === undefined) throw new Error('the L2 entry is not served');
      return { store };
    },
    run: async ({ store }) => {
      await store.get('k');
    },
    teardown: async ({ store }) => {
      await store.close();
      await shared.release();
    },
  };
  return { baseline: rawGet, candidate: l2Hit };
}

/**
 * One `set` and one `get` of `value` through the Redis store, entries written as JSON only
 * (`encoding: false`, as before binary entries) against the default (msgpackr over 16 KiB).
 */
function valuesScenario(value: unknown) {
  const shared = sharedClient();
  const entry = () => {
    const now = Date.now();
    const size = Buffer.byteLength(JSON.stringify(value));
    return {
      value,
      size,
      storedAt: now,
      freshUntil: now + 3_600_000,
      staleUntil: now + 3_600_000,
      tags: ['t'],
    };
  };
  const variant = (
    name: string,
    encoding: false | undefined,
  ): Variant<{ store: ReturnType<typeof redisStore> }> => ({
    async setup() {
      const client = (await shared.open()) as never;
      const store = redisStore({ client, prefix: `${PREFIX}values-${name}:`, timeoutMs: 2_000, encoding });
      await store.ready;
      return { store };
    },
    run: async ({ store }) => {
      await store.set('k', entry());
      if ((await store.get('k')) === undefined) throw new Error(`the ${name} entry is not served`);
    },
    teardown: async ({ store }) => {
      await store.close();
      await shared.release();
    },
  });
  return { baseline: variant('json', false), candidate: variant('default', undefined) };
}

function takeScenario() {
  const shared = sharedClient();
  const rawEvalsha: Variant<{ client: Client; sha: string }> = {
    async setup() {
      const client = await shared.open();
      const sha = String(await client.sendCommand(['SCRIPT', 'LOAD', 'return 1']));
      return { client, sha };
    },
    run: async ({ client, sha }) => {
      await client.sendCommand(['EVALSHA', sha, '1', `${PREFIX}evalsha`]);
    },
    teardown: () => shared.release(),
  };
  const bucket = { capacity: 1e9, refillPerMs: 1e6 };
  const take: Variant<{ store: ReturnType<typeof redisRateLimitStore> }> = {
    async setup() {
      const store = redisRateLimitStore({
        client: (await shared.open()) as never,
        prefix: PREFIX,
        timeoutMs: 2_000,
      });
      await store.take('k', 1, 0, bucket);
      return { store };
    },
    run: async ({ store }) => {
      await store.take('k', 1, 0, bucket);
    },
    teardown: async () => {
      await shared.release();
    },
  };
  return { baseline: rawEvalsha, candidate: take };
}

function l1Scenario() {
  const memory: Variant<ReturnType<typeof memoryStore>> = {
    async setup() {
      const store = memoryStore();
      store.set('k', ENTRY);
      return store;
    },
    run: async (store) => {
      for (let i = 0; i < L1_BLOCK; i++) store.get('k');
    },
    teardown: () => {},
  };
  const tiered: Variant<ReturnType<typeof tieredStore>> = {
    async setup() {
      const l2 = redisStore({ url: REDIS_URL, prefix: `${PREFIX}tiered:`, timeoutMs: 2_000 });
      await l2.ready;
      const store = tieredStore({ l2 });
      await store.set('k', ENTRY);
      if (store.get('k') instanceof Promise) throw new Error('the tiered store did not answer from L1');
      return store;
    },
    run: async (store) => {
      for (let i = 0; i < L1_BLOCK; i++) store.get('k');
    },
    teardown: async (store) => {
      await store.clear();
      await store.close();
    },
  };
  return { baseline: memory, candidate: tiered };
}

/** Keys written before the bloom experiment, and never-written keys looked up after. */
const BLOOM_WRITTEN = 2_000;
const BLOOM_LOOKUPS = 10_000;

/**
 * A replica writes BLOOM_WRITTEN keys; a fresh bloom-filtered store on the same prefix warms
 * (one `SCAN` pass) and looks up BLOOM_LOOKUPS keys nobody wrote. The figure is the share
 * it answered locally; the filter is sized for the default 100,000 keys at 1%, so at this
 * fill nearly every lookup is skipped.
 */
async function bloomExperiment(): Promise<{
  figures: Record<string, number>;
  details: Record<string, unknown>;
}> {
  const prefix = `${PREFIX}bloom:`;
  const writer = redisStore({ url: REDIS_URL, prefix, timeoutMs: 2_000 });
  await writer.ready;
  const reader = redisStore({ url: REDIS_URL, prefix, timeoutMs: 2_000, bloom: true });
  try {
    for (let i = 0; i < BLOOM_WRITTEN; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => writer.set(`written-${i + j}`, ENTRY)));
    }
    await reader.ready;
    let local = 0;
    for (let i = 0; i < BLOOM_LOOKUPS; i++) {
      const found = reader.get(`never-${i}`);
      if (found instanceof Promise) await found;
      else local++;
    }
    const bloom = reader.stats().bloom!;
    return {
      figures: { skippedShare: local / BLOOM_LOOKUPS },
      details: { written: BLOOM_WRITTEN, lookups: BLOOM_LOOKUPS, state: bloom.state, skipped: bloom.skipped },
    };
  } finally {
    await writer.clear();
    await writer.close();
    await reader.close();
  }
}

/** The Redis store scenarios. */
export const redisScenarios: ScenarioSet = {
  'redis.l2-hit-vs-get': {
    kind: 'compare',
    description:
      'Redis store hit (HMGET, parse, generation check) vs a raw GET of the same 1 KB entry, same client',
    ...l2Scenario(),
    rounds: 30,
    timePerRoundMs: 100,
  },
  'redis.values.text-100kb': {
    kind: 'compare',
    description:
      'Redis store set + get of a ~100 KB text result: entries as JSON only (A) vs the default, msgpackr over 16 KiB (B)',
    ...valuesScenario(recordsResult(100_000)),
    rounds: 20,
    timePerRoundMs: 100,
  },
  'redis.values.list-50': {
    kind: 'compare',
    description:
      'Redis store set + get of a 50-tool tools/list (~46 KB): entries as JSON only (A) vs the default, msgpackr over 16 KiB (B)',
    ...valuesScenario(toolList(50)),
    rounds: 20,
    timePerRoundMs: 100,
  },
  'redis.values.small': {
    kind: 'compare',
    description:
      'Redis store set + get of a 1 KB result, JSON either way: the default store reads replies as Buffers (B) vs JSON only (A)',
    ...valuesScenario(ENTRY.value),
    rounds: 20,
    timePerRoundMs: 100,
  },
  'redis.rate-limit-take-vs-evalsha': {
    kind: 'compare',
    description:
      'Redis rate-limit take (one EVALSHA: refill and take) vs a raw EVALSHA of `return 1`, same client',
    ...takeScenario(),
    rounds: 30,
    timePerRoundMs: 100,
  },
  'redis.l1-hit-tiered-vs-memory': {
    kind: 'compare',
    description: `${L1_BLOCK} L1 hits of the tiered store (memory in front of Redis) vs the memory store alone`,
    ...l1Scenario(),
    ...FINE_INTERLEAVE,
    rounds: 100,
  },
  'redis.bloom-skips-unwritten': {
    kind: 'experiment',
    description: `share of ${BLOOM_LOOKUPS} lookups for never-written keys the bloom filter answers without Redis, ${BLOOM_WRITTEN} keys written`,
    figures: { skippedShare: 'lookups answered locally ÷ lookups (0..1; want ≥ 0.99)' },
    run: bloomExperiment,
  },
};
