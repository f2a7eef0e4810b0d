import { cacheStoreContract, rateLimitStoreContract } from 'mcp-perf/testing';
import { describe, it } from 'vitest';
import { MemoryRateLimitStore } from '../../../src/middleware/rate-limit/index.js';
import { memoryStore } from '../../../src/stores/memory.js';

cacheStoreContract('memory, under vitest', ({ now }) => memoryStore({ clock: now }), {
  runner: { describe, it },
  countsLocally: true,
});
rateLimitStoreContract('memory, under vitest', () => new MemoryRateLimitStore(), {
  runner: { describe, it },
});
