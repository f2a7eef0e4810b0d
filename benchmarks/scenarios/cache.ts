/**
 * Cache scenarios: what a cache hit saves and what a miss costs, against the bare SDK
 * round trip, and the floors no cache can beat.
 *
 * - hits on a call with small arguments and a 1 KB result (`page`): on the server side in
 *   memory (the SDK server never runs the tool), on the client side in memory and over
 *   Streamable HTTP (the request never leaves the client process);
 * - the same hit and miss with 1 KB of arguments as well (`echo`): the key text is then
 *   long enough to be hashed (SHA-256), which costs about 1 µs per KB, ~8% of the bare
 *   round trip;
 * - floors: the same round trip answered by a middleware that returns a constant result
 *   without looking at anything — the best any cache at that place can do. On the client
 *   side the floor is a layer inside the pipeline: it pays the SDK client's own work
 *   (a JSON-RPC id, a timeout, the transport hop, the result schemas) on every call. The
 *   client-side cache is the outermost layer, so its fresh hits are answered before that
 *   work, at `client.request()` (see `MiddlewareObject.early`), and beat that floor;
 * - a miss (new arguments every call, so every result is stored and another evicted, from
 *   a store filled in set-up): against the bare SDK, against one pass-through middleware
 *   (the cost of the cache's own work, without the pipeline's), and against the least a
 *   storing cache can do on a miss (a key from the params' JSON, a `Map` lookup, the
 *   result kept in a ring of 10,000), itself measured against the bare SDK;
 * - a workload: a 5 ms tool (a timer, so callers overlap) under a Zipf(1.0) draw over
 *   1,000 argument sets, {@link ZIPF_REQUESTS} requests from a cold cache by
 *   {@link ZIPF_CONCURRENCY} concurrent callers, the same seeded sequence on both sides.
 *   One operation is the whole workload, so the ratio is of total times (throughput),
 *   misses and coalesced waits counted at their full price. Expected distinct argument
 *   sets in 5,000 draws: Σₖ 1 − (1 − pₖ)⁵⁰⁰⁰ with pₖ = (1/k)/H₁₀₀₀ ≈ 752 (the seeded
 *   sequence has 767), so a hit rate of ≈ 85%; replaying that sequence through 32
 *   callers with free hits and coalesced waits gives at most ≈ 6× the throughput. The
 *   same workload runs with the cache on the server and on the client.
 */

import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  InMemoryTransport as InMemoryTransportV2,
  McpServer as McpServerV2,
} from '@modelcontextprotocol/server';
import {
  type CacheMiddleware,
  type CacheOptions,
  cache,
  type JsonObject,
  MEMORY_STORE_DEFAULTS,
  type Middleware,
  metrics,
  withMiddleware,
} from 'mcp-perf';
import { z } from 'zod';
import {
  type Connected,
  connectInMemory,
  createFixtureServer,
  createSlowServer,
  type HostedHttp,
  pageText,
  serveHttp,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import { type CompareScenario, FINE_INTERLEAVE, type ScenarioSet } from '../harness/types.js';
import { seededRandom, zipfSampler } from '../load/workload.js';

const KB_TEXT = 'x'.repeat(1024);
const ECHO_RESULT = { content: [{ type: 'text', text: KB_TEXT }] };

/** What a call sends: small arguments and a 1 KB result (`page`), or 1 KB each way (`echo`). */
type Shape = 'page' | 'echo';

/** The same call every time: a hit after the first when a cache is present. */
const REPEATED = {
  page: { name: 'page', arguments: { id: 7 } },
  echo: { name: 'echo', arguments: { text: KB_TEXT } },
} as const;

/** Call number `n` with arguments no earlier call had: always a miss. */
function freshCall(shape: Shape, n: number): { name: string; arguments: Record<string, unknown> } {
  return shape === 'page'
    ? { name: 'page', arguments: { id: n } }
    : { name: 'echo', arguments: { text: `${n}:${KB_TEXT}` } };
}

/** Entries the default store holds, and so the cache of the miss scenarios and its floor. */
const STORE_ENTRIES = MEMORY_STORE_DEFAULTS.maxEntries;

/** Calls a `fresh` variant makes in set-up: as many as a full store holds, and a fifth more. */
const FILL_CALLS = Math.ceil(STORE_ENTRIES * 1.2);

/** Requests per Zipf workload. */
export const ZIPF_REQUESTS = 5_000;
/** Concurrent callers of the Zipf workload. */
export const ZIPF_CONCURRENCY = 32;

type Where = 'none' | 'server' | 'client';

interface CacheConnected extends Connected {
  /** The cache in the stack, if any. */
  layer: CacheMiddleware | undefined;
}

/** Answers `tools/call` with the 1 KB echo result without looking at the request: no cache can do less. */
const constantAnswer: Middleware = {
  name: 'constant-answer',
  request: function constantAnswer(ctx, next) {
    return ctx.method === 'tools/call' ? Promise.resolve({ result: ECHO_RESULT }) : next();
  },
};

/** One middleware that only calls `next()`. */
const passThrough: Middleware = {
  name: 'pass-through',
  request: function passThrough(_ctx, next) {
    return next();
  },
};

/**
 * The least a storing cache can do on a miss: a key (the method and the params' JSON), a
 * lookup in a `Map`, and the result stored, the oldest entry dropped past `max` (first
 * in, first out). No canonical key, no partition, no TTL, no coalescing, no size bound,
 * no invalidation, no protection of the stored value.
 */
function storingFloor(max: number): Middleware {
  const entries = new Map<string, JsonObject>();
  // The keys in the order stored, as a ring: the oldest is overwritten by the next.
  const order: string[] = new Array<string>(max).fill('');
  let oldest = 0;
  return {
    name: 'storing-floor',
    request: function storingFloor(ctx, next) {
      const key = ctx.method + JSON.stringify(ctx.params);
      const found = entries.get(key);
      if (found !== undefined) return Promise.resolve({ result: found });
      return next().then((reply) => {
        if (reply.result !== undefined && !entries.has(key)) {
          if (entries.size === max) entries.delete(order[oldest]!);
          entries.set(key, reply.result);
          order[oldest] = key;
          oldest = (oldest + 1) % max;
        }
        return reply;
      });
    },
  };
}

/** An in-memory pair with `stack` on the server, the client or neither. */
async function connectWith(where: Where, stack: Middleware[]): Promise<Connected> {
  const server = createSlowServer();
  if (where === 'server') withMiddleware(server, stack);
  if (where !== 'client') return connectInMemory(server);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = withMiddleware(new Client({ name: 'mcp-perf-bench', version: '1.0.0' }), stack);
  await client.connect(clientSide);
  return closingBoth(client, server);
}

/** A connected client, and how to close it and then its server. */
function closingBoth<C extends { close(): Promise<void> }>(
  client: C,
  server: { close(): Promise<void> },
): { client: C; close(): Promise<void> } {
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** An in-memory pair; the cache (caching `echo`, `page`, `cpu` and `sleep`) on the server, the client or neither. */
async function connectWithCache(where: Where, options: CacheOptions = {}): Promise<CacheConnected> {
  if (where === 'none') return { ...(await connectWith('none', [])), layer: undefined };
  const layer = cache({ tools: { include: ['echo', 'page', 'cpu', 'sleep'] }, ...options });
  return { ...(await connectWith(where, [layer])), layer };
}

/** The same call every time (a hit after the first when a cache is present). */
function repeated(where: Where, shape: Shape = 'page'): Variant<Connected> {
  const call = REPEATED[shape];
  return {
    setup: () => connectWithCache(where),
    run: async (c) => {
      await c.client.callTool(call);
    },
    teardown: (c) => c.close(),
  };
}

/** The repeated `page` call through a stack made by `stack()` on one side (a fresh stack per set-up). */
function repeatedThrough(where: 'server' | 'client', stack: () => Middleware[]): Variant<Connected> {
  return {
    setup: () => connectWith(where, stack()),
    run: async (c) => {
      await c.client.callTool(REPEATED.page);
    },
    teardown: (c) => c.close(),
  };
}

/** The repeated `page` call answered by {@link constantAnswer} on one side. */
function constant(where: 'server' | 'client'): Variant<Connected> {
  return repeatedThrough(where, () => [constantAnswer]);
}

type MissStack = 'none' | 'cache' | 'cache-repeat' | 'pass' | 'floor';

/** The in-memory pair a `fresh` variant calls through: `stack` on the server. */
function connectForMisses(stack: MissStack): Promise<Connected> {
  switch (stack) {
    case 'none':
      return connectWith('none', []);
    case 'cache':
      return connectWithCache('server');
    case 'cache-repeat':
      return connectWithCache('server', { admission: 'repeat' });
    case 'pass':
      return connectWith('server', [passThrough]);
    case 'floor':
      return connectWith('server', [storingFloor(STORE_ENTRIES)]);
  }
}

/** New arguments every call: always a miss, through the cache, a pass-through or nothing. */
function fresh(stack: MissStack, shape: Shape = 'page'): Variant<Connected & { n: number }> {
  return {
    setup: async () => {
      const c = { ...(await connectForMisses(stack)), n: 0 };
      // Every variant first makes as many calls as a full store holds and a fifth more,
      // so that the rounds measure the steady state the scenario is about (each miss
      // stores one entry and evicts another) on a heap already grown to hold the store.
      for (let i = 0; i < FILL_CALLS; i++) await c.client.callTool(freshCall(shape, ++c.n));
      return c;
    },
    run: async (c) => {
      c.n++;
      await c.client.callTool(freshCall(shape, c.n));
    },
    teardown: (c) => c.close(),
  };
}

/** The repeated `page` call over Streamable HTTP on 127.0.0.1, the cache on the client or not at all. */
function httpPage(withClientCache: boolean): Variant<Connected & { hosted: HostedHttp }> {
  return {
    setup: async () => {
      const hosted = await serveHttp(() => createFixtureServer('none'));
      const client = new Client({ name: 'mcp-perf-bench', version: '1.0.0' });
      if (withClientCache) withMiddleware(client, [cache({ tools: { include: ['page'] } })]);
      await client.connect(new StreamableHTTPClientTransport(new URL(hosted.url)));
      return { client, close: () => client.close(), hosted };
    },
    run: async (c) => {
      await c.client.callTool(REPEATED.page);
    },
    teardown: async (c) => {
      await c.close();
      await c.hosted.close();
    },
  };
}

/** The repeated `page` call between SDK v2 peers in memory, the cache on the client or not at all. */
function v2Page(withClientCache: boolean): Variant<{ client: ClientV2; close(): Promise<void> }> {
  return {
    setup: async () => {
      const server = new McpServerV2({ name: 'mcp-perf-fixture-v2', version: '1.0.0' });
      server.registerTool(
        'page',
        { description: 'Returns page id: 1 KB of text.', inputSchema: z.object({ id: z.number().int() }) },
        async ({ id }) => ({ content: [{ type: 'text', text: pageText(id) }] }),
      );
      const [clientSide, serverSide] = InMemoryTransportV2.createLinkedPair();
      await server.connect(serverSide);
      const client = new ClientV2({ name: 'mcp-perf-bench', version: '1.0.0' });
      if (withClientCache) withMiddleware(client, [cache({ tools: { include: ['page'] } })]);
      await client.connect(clientSide);
      return closingBoth(client, server);
    },
    run: async (c) => {
      await c.client.callTool(REPEATED.page);
    },
    teardown: (c) => c.close(),
  };
}

/** The Zipf sequence of argument-set ids, drawn once so both sides replay the same one. */
function zipfSequence(): Int32Array {
  const random = seededRandom(42);
  const sample = zipfSampler(1_000, 1.0);
  const ids = new Int32Array(ZIPF_REQUESTS);
  for (let i = 0; i < ids.length; i++) ids[i] = sample(random);
  return ids;
}

/**
 * One operation = the whole Zipf workload from a cold cache: {@link ZIPF_CONCURRENCY}
 * callers take the next request of the sequence until none is left.
 */
function zipfSleep(where: Where): Variant<CacheConnected & { ids: Int32Array }> {
  return {
    setup: async () => ({ ...(await connectWithCache(where)), ids: zipfSequence() }),
    run: async (c) => {
      await c.layer?.clear();
      let next = 0;
      const caller = async () => {
        while (next < c.ids.length) {
          const id = c.ids[next++]!;
          await c.client.callTool({ name: 'sleep', arguments: { ms: 5 + id / 1e6 } });
        }
      };
      await Promise.all(Array.from({ length: ZIPF_CONCURRENCY }, caller));
    },
    teardown: (c) => c.close(),
  };
}

/**
 * How a Zipf workload is compared: one operation per block (the whole workload), its
 * mean time. No full GC before a run: it would leave the heap in a state no server runs
 * in, and it slows the next ~200 ms by ~10%, which the shorter cached run would pay in
 * proportion.
 */
const ZIPF_RUNS = {
  rounds: 5,
  timePerRoundMs: 1,
  statistic: 'mean',
  gc: false,
} as const satisfies Partial<CompareScenario>;

/** Cache scenarios, keyed by the names budgets use. */
export const cacheScenarios: ScenarioSet = {
  'cache.server-hit.inmemory': {
    kind: 'compare',
    description: 'in-memory call with a 1 KB result: bare SDK vs a server-side cache hit',
    baseline: repeated('none'),
    candidate: repeated('server'),
    ...FINE_INTERLEAVE,
  },
  'cache.server-floor.inmemory': {
    kind: 'compare',
    description:
      'in-memory call with a 1 KB result: bare SDK vs a server-side middleware answering a constant (the best a cache can do)',
    baseline: repeated('none'),
    candidate: constant('server'),
    ...FINE_INTERLEAVE,
  },
  'cache.server-hit-1kb-args.inmemory': {
    kind: 'compare',
    description:
      'in-memory 1 KB echo (1 KB of arguments, hashed into the key): bare SDK vs a server-side cache hit',
    baseline: repeated('none', 'echo'),
    candidate: repeated('server', 'echo'),
    ...FINE_INTERLEAVE,
  },
  'cache.client-hit.inmemory': {
    kind: 'compare',
    description: 'in-memory call with a 1 KB result: bare SDK vs a client-side cache hit',
    baseline: repeated('none'),
    candidate: repeated('client'),
    ...FINE_INTERLEAVE,
  },
  'cache.client-hit-metrics.inmemory': {
    kind: 'compare',
    description:
      'in-memory call with a 1 KB result: bare SDK vs a client-side cache hit behind metrics() (both answer early)',
    baseline: repeated('none'),
    candidate: repeatedThrough('client', () => [metrics(), cache({ tools: { include: ['page'] } })]),
    ...FINE_INTERLEAVE,
  },
  'cache.client-floor.inmemory': {
    kind: 'compare',
    description:
      'in-memory call with a 1 KB result: bare SDK vs a constant answer from inside the client pipeline (no early answer)',
    baseline: repeated('none'),
    candidate: constant('client'),
    ...FINE_INTERLEAVE,
  },
  'cache.client-hit-v2.inmemory': {
    kind: 'compare',
    description:
      "SDK v2 peers in memory, a call with a 1 KB result: bare SDK vs a client-side cache hit (answered in the client's request funnel)",
    baseline: v2Page(false),
    candidate: v2Page(true),
    ...FINE_INTERLEAVE,
  },
  'cache.client-hit.http': {
    kind: 'compare',
    description: 'Streamable HTTP call with a 1 KB result (127.0.0.1): bare SDK vs a client-side cache hit',
    baseline: httpPage(false),
    candidate: httpPage(true),
    rounds: 8,
    timePerRoundMs: 250,
  },
  'cache.miss.inmemory': {
    kind: 'compare',
    description:
      'in-memory call with a 1 KB result, new arguments every call: bare SDK vs a server-side cache miss',
    baseline: fresh('none'),
    candidate: fresh('cache'),
    ...FINE_INTERLEAVE,
  },
  'cache.miss-vs-pass.inmemory': {
    kind: 'compare',
    description:
      'in-memory call with a 1 KB result, new arguments every call: one pass-through middleware vs a server-side cache miss',
    baseline: fresh('pass'),
    candidate: fresh('cache'),
    ...FINE_INTERLEAVE,
  },
  'cache.miss-admit-repeat.inmemory': {
    kind: 'compare',
    description:
      "in-memory call with a 1 KB result, new arguments every call: bare SDK vs a server-side cache miss with admission: 'repeat' (nothing is stored)",
    baseline: fresh('none'),
    candidate: fresh('cache-repeat'),
    ...FINE_INTERLEAVE,
  },
  'cache.miss-floor.inmemory': {
    kind: 'compare',
    description:
      'in-memory call with a 1 KB result, new arguments every call: bare SDK vs the least a storing cache does on a miss (a Map of 10,000, first in first out)',
    baseline: fresh('none'),
    candidate: fresh('floor'),
    ...FINE_INTERLEAVE,
  },
  'cache.miss-vs-floor.inmemory': {
    kind: 'compare',
    description:
      'in-memory call with a 1 KB result, new arguments every call: the least a storing cache does on a miss vs a server-side cache miss',
    baseline: fresh('floor'),
    candidate: fresh('cache'),
    ...FINE_INTERLEAVE,
  },
  'cache.miss-1kb-args.inmemory': {
    kind: 'compare',
    description: 'in-memory 1 KB echo, new arguments every call: bare SDK vs a server-side cache miss',
    baseline: fresh('none', 'echo'),
    candidate: fresh('cache', 'echo'),
    ...FINE_INTERLEAVE,
  },
  'cache.zipf-sleep5ms.inmemory': {
    kind: 'compare',
    description: `in-memory 5 ms tool, ${ZIPF_REQUESTS} Zipf(1.0) requests over 1,000 argument sets by ${ZIPF_CONCURRENCY} callers from a cold cache: bare SDK vs a server-side cache (total time)`,
    baseline: zipfSleep('none'),
    candidate: zipfSleep('server'),
    ...ZIPF_RUNS,
  },
  'cache.zipf-sleep5ms-client.inmemory': {
    kind: 'compare',
    description: `in-memory 5 ms tool, ${ZIPF_REQUESTS} Zipf(1.0) requests over 1,000 argument sets by ${ZIPF_CONCURRENCY} callers from a cold cache: bare SDK vs a client-side cache (total time)`,
    baseline: zipfSleep('none'),
    candidate: zipfSleep('client'),
    ...ZIPF_RUNS,
  },
};
