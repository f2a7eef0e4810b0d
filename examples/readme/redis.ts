/** README: the stores section (needs a Redis; not run by the tests). */
import { exampleServer } from './server.js';

const server = exampleServer();

import { cache, withMiddleware } from 'mcp-perf';
import { redisStore } from 'mcp-perf/redis';

const store = redisStore({ url: 'redis://127.0.0.1:6379', prefix: 'my-app:', bloom: true });
withMiddleware(server, [cache({ store })]); // every replica shares entries and invalidations
