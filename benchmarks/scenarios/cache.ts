/**
 * Cache scenarios: what a cache hit saves and what a miss costs, against the bare SDK
 * round trip. The fixture's `echo` tool answers a 1 KB text; `cpu` costs 5 ms.
 *
 * - server-side hit, in memory: the SDK server never runs the tool;
 * - client-side hit, in memory and over Streamable HTTP: the request never leaves the
 *   client process;
 * - a miss (every call has new arguments): the cache's whole cost on the slow path;
 * - a 5 ms tool under a Zipf(1.0) workload over 1,000 argument sets (mean time per call,
 *   so misses count at their full price).
 */

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { withMiddleware } from '../../src/index.js';
import { cache } from '../../src/middleware/cache/index.js';
import {
  type Connected,
  connectInMemory,
  createFixtureServer,
  createSlowServer,
  type HostedHttp,
  serveHttp,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import type { ScenarioSet } from '../harness/types.js';
import { seededRandom, zipfSampler } from '../load/workload.js';

const KB_TEXT = 'x'.repeat(1024);
const ECHO_1KB = { name: 'echo', arguments: { text: KB_TEXT } };

type Where = 'none' | 'server' | 'client';

/** An in-memory pair; the cache (caching `echo` and `cpu`) on the server, the client or neither. */
async function connectWithCache(where: Where): Promise<Connected> {
  const server = createSlowServer();
  const layer = cache({ tools: { include: ['echo', 'cpu'] } });
  if (where === 'server') withMiddleware(server, [layer]);
  if (where !== 'client') return connectInMemory(server);
  const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = withMiddleware(new Client({ name: 'mcp-perf-bench', version: '1.0.0' }), [layer]);
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** The same 1 KB echo every time (a hit after the first call when a cache is present). */
function repeatedEcho(where: Where): Variant<Connected> {
  return {
    setup: () => connectWithCache(where),
    run: async (c) => {
      await c.client.callTool(ECHO_1KB);
    },
    teardown: (c) => c.close(),
  };
}

/** A 1 KB echo with new arguments every call: always a miss. */
function freshEcho(where: Where): Variant<Connected & { n: number }> {
  return {
    setup: async () => ({ ...(await connectWithCache(where)), n: 0 }),
    run: async (c) => {
      c.n++;
      await c.client.callTool({ name: 'echo', arguments: { text: `${c.n}:${KB_TEXT}` } });
    },
    teardown: (c) => c.close(),
  };
}

/** The 1 KB echo over Streamable HTTP on 127.0.0.1, the cache on the client or not at all. */
function httpEcho(withClientCache: boolean): Variant<Connected & { hosted: HostedHttp }> {
  return {
    setup: async () => {
      const hosted = await serveHttp(() => createFixtureServer('none'));
      const client = new Client({ name: 'mcp-perf-bench', version: '1.0.0' });
      if (withClientCache) withMiddleware(client, [cache({ tools: { include: ['echo'] } })]);
      await client.connect(new StreamableHTTPClientTransport(new URL(hosted.url)));
      return { client, close: () => client.close(), hosted };
    },
    run: async (c) => {
      await c.client.callTool(ECHO_1KB);
    },
    teardown: async (c) => {
      await c.close();
      await c.hosted.close();
    },
  };
}

/** The 5 ms `cpu` tool, arguments drawn Zipf(1.0) from 1,000 sets (the same seeded sequence on both sides). */
function zipfCpu(where: Where): Variant<Connected & { next: () => number }> {
  return {
    setup: async () => {
      const random = seededRandom(42);
      const sample = zipfSampler(1_000, 1.0);
      return { ...(await connectWithCache(where)), next: () => sample(random) };
    },
    run: async (c) => {
      const id = c.next();
      await c.client.callTool({ name: 'cpu', arguments: { ms: 5 + id / 1e9 } });
    },
    teardown: (c) => c.close(),
  };
}

/** Cache scenarios, keyed by the names budgets use. */
export const cacheScenarios: ScenarioSet = {
  'cache.server-hit.inmemory': {
    kind: 'compare',
    description: 'in-memory 1 KB echo: bare SDK vs a server-side cache hit',
    baseline: repeatedEcho('none'),
    candidate: repeatedEcho('server'),
    rounds: 10,
  },
  'cache.client-hit.inmemory': {
    kind: 'compare',
    description: 'in-memory 1 KB echo: bare SDK vs a client-side cache hit',
    baseline: repeatedEcho('none'),
    candidate: repeatedEcho('client'),
    rounds: 10,
  },
  'cache.client-hit.http': {
    kind: 'compare',
    description: 'Streamable HTTP 1 KB echo (127.0.0.1): bare SDK vs a client-side cache hit',
    baseline: httpEcho(false),
    candidate: httpEcho(true),
    rounds: 8,
    timePerRoundMs: 250,
  },
  'cache.miss.inmemory': {
    kind: 'compare',
    description: 'in-memory 1 KB echo, new arguments every call: bare SDK vs a server-side cache miss',
    baseline: freshEcho('none'),
    candidate: freshEcho('server'),
    rounds: 12,
  },
  'cache.zipf-cpu5ms.inmemory': {
    kind: 'compare',
    description: 'in-memory 5 ms tool, Zipf(1.0) over 1,000 argument sets: bare SDK vs a server-side cache',
    baseline: zipfCpu('none'),
    candidate: zipfCpu('server'),
    rounds: 6,
    warmupRounds: 2,
    timePerRoundMs: 1_000,
  },
};
