/** README: the first example, a server with the default stack over stdio. Run: npx tsx examples/readme/quick-start.ts */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { exampleServer } from './server.js';

const server = exampleServer();
const transport = new StdioServerTransport();

import { cache, concurrencyLimit, metrics, withMiddleware } from 'mcp-perf';

withMiddleware(server, [metrics(), concurrencyLimit({ limit: 8 }), cache()]);
await server.connect(transport);
