/** README: the concurrency limit section. */
import { exampleServer } from './server.js';

const server = exampleServer();

import { concurrencyLimit, principalKey, toolKey, withConcurrencyLimit } from 'mcp-perf';

const limiter = concurrencyLimit({
  scopes: [
    { name: 'tool', key: toolKey, limit: 8, maxQueue: 32 }, // per tool
    { name: 'principal', key: principalKey, limit: 16 }, // per caller
    { name: 'global', limit: 64, adaptive: { min: 8, max: 256 } }, // whole server, self-tuning
  ],
});
withConcurrencyLimit(server, limiter); // withConcurrencyLimit(server, { limit: 8 }) for one global limit
limiter.stats().scopes.tool; // { limit, running, queued, admitted, shed, cancelled, ... }
