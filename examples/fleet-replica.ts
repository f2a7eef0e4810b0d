/**
 * One replica of a fleet (`examples/fleet.ts` starts three): a stdio MCP server whose cache,
 * rate limit and shared concurrency limit live in one Redis, so the replicas behave as one
 * server. Tools: `lookup` (cached, counts its real runs), `slow_lookup` (cached, takes
 * 100 ms), `echo` (not cached), `invalidate` (drops a cache tag on every replica) and
 * `fleet_status` (this replica's counters).
 *
 * Run alone: REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/fleet-replica.ts
 * Environment: REDIS_URL, FLEET_PREFIX (default `fleet:`), FLEET_RATE (`echo` calls per second
 * for the whole fleet, default 1000), FLEET_DB_SLOTS (calls of `slow_lookup` at once across
 * the fleet, default 4), FLEET_TIMEOUT_MS (longest wait for one Redis reply, default 50).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { cache, concurrencyLimit, rateLimit, withMiddleware } from 'mcp-perf';
import { redisRateLimitStore, redisSemaphore, redisStore, tieredStore } from 'mcp-perf/redis';
import { z } from 'zod';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.FLEET_PREFIX ?? 'fleet:';
const rate = Number(process.env.FLEET_RATE ?? 1000);
const dbSlots = Number(process.env.FLEET_DB_SLOTS ?? 4);
const timeoutMs = Number(process.env.FLEET_TIMEOUT_MS ?? 50);
const circuit = { failureThreshold: 5, cooldownMs: 200 };

// Redis may be away for a while: the stores answer within their timeout and the
// middleware carries on (cache misses, rate limit and semaphore fail open).
const l2 = redisStore({ url, prefix, timeoutMs, circuit, coalesce: { pollMs: 20 } });
const store = tieredStore({ l2 });
const buckets = redisRateLimitStore({ url, prefix, timeoutMs, circuit });
const semaphore = redisSemaphore({ url, prefix, timeoutMs, circuit });

const cached = cache({ store, tools: { include: ['lookup', 'slow_lookup'] } });
// One bucket for the whole fleet, for `echo` calls (the expensive upstream of this demo).
const limit = rateLimit({
  limit: rate,
  windowMs: 1_000,
  key: (ctx) => (ctx.params?.name === 'echo' ? 'echo' : undefined),
  store: buckets,
});
const dbLimit = concurrencyLimit({
  scopes: [{ name: 'db', key: (ctx) => (ctx.params?.name === 'slow_lookup' ? 'db' : undefined), limit: 8 }],
  shared: {
    semaphore,
    limit: dbSlots,
    key: (ctx) => (ctx.params?.name === 'slow_lookup' ? 'db' : undefined),
  },
});

let runs = 0;
const server = new McpServer({ name: 'fleet-replica', version: '1.0.0' });
server.registerTool('lookup', { inputSchema: { key: z.string() } }, async ({ key }) => {
  runs++;
  return { content: [{ type: 'text', text: `${key}@${process.pid}#${runs}` }] };
});
server.registerTool('slow_lookup', { inputSchema: { key: z.string() } }, async ({ key }) => {
  runs++;
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { content: [{ type: 'text', text: `${key}@${process.pid}#${runs}` }] };
});
server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
  content: [{ type: 'text', text }],
}));
server.registerTool('invalidate', { inputSchema: { pattern: z.string() } }, async ({ pattern }) => {
  let dropped: number | string;
  try {
    dropped = await cached.invalidate(pattern);
  } catch (error) {
    // Redis is away: the invalidation is kept and applied once it answers again.
    dropped = `kept (${(error as Error).message})`;
  }
  return { content: [{ type: 'text', text: String(dropped) }] };
});
server.registerTool('fleet_status', { inputSchema: {} }, async () => {
  const status = {
    pid: process.pid,
    runs,
    listening: l2.listening,
    rateLimit: limit.stats(),
    cache: cached.stats(),
  };
  return { content: [{ type: 'text', text: JSON.stringify(status) }] };
});

withMiddleware(server, [limit, cached, dbLimit]);
await server.connect(new StdioServerTransport());
process.stdin.on('close', async () => {
  await Promise.allSettled([store.close(), buckets.close(), semaphore.close(), cached.close?.()]);
  process.exit(0);
});
