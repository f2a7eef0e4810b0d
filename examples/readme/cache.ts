/** README: the cache section. */
import { exampleServer } from './server.js';

const server = exampleServer();

import { cache, withCache } from 'mcp-perf';

const c = cache({ ttlMs: 30_000, tools: { include: ['search', 'get_*'] } });
withCache(server, c); // or withMiddleware(server, [metrics(), c])
c.stats(); // { hits, stale, misses, coalesced, bypassed, ... }
await c.invalidate('uri:file:///docs/**');
