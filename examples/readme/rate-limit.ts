/** README: the rate limit section. */
import { exampleServer } from './server.js';

const server = exampleServer();

import { principalKey, withRateLimit } from 'mcp-perf';

// 20 requests per second per caller, bursts of 40; refused calls get error -31429 with retryAfterMs
withRateLimit(server, { name: 'principal', key: principalKey, limit: 20, windowMs: 1_000, burst: 40 });
