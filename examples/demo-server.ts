/**
 * The server of the demo (`examples/demo.ts`): a stdio MCP server with a slow `search`
 * tool. With `--stack` it runs behind `metrics()`, `cache()` and `concurrencyLimit()`.
 * A `demo_stats` tool reports how often `search` really ran, and what the metrics saw.
 *
 * Run: npx tsx examples/demo-server.ts [--stack] [--tool-ms 20]
 */
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { cache, concurrencyLimit, metrics, withMiddleware } from 'mcp-perf';
import { z } from 'zod';

const { values } = parseArgs({
  options: { stack: { type: 'boolean', default: false }, 'tool-ms': { type: 'string', default: '20' } },
});
const toolMs = Number(values['tool-ms']);
if (!Number.isFinite(toolMs) || toolMs < 0) throw new TypeError(`--tool-ms must be a number of milliseconds`);

let toolRuns = 0;
const server = new McpServer({ name: 'demo-search', version: '1.0.0' });
server.registerTool(
  'search',
  {
    description: 'Searches the catalogue.',
    inputSchema: { query: z.string() },
    annotations: { readOnlyHint: true },
  },
  async ({ query }) => {
    toolRuns++;
    await new Promise((resolve) => setTimeout(resolve, toolMs));
    const hits = Array.from({ length: 5 }, (_, i) => `${query} result ${i + 1}`);
    return { content: [{ type: 'text', text: hits.join('\n') }] };
  },
);

// Outermost first: metrics sees every request; cache hits skip the concurrency limit.
const m = metrics();
const c = cache({ tools: { include: ['search'] } });
if (values.stack) withMiddleware(server, [m, c, concurrencyLimit({ limit: 16 })]);

server.registerTool(
  'demo_stats',
  { description: 'How often search really ran.', inputSchema: {} },
  async () => {
    const s = values.stack ? c.stats() : null;
    const report = {
      toolRuns,
      report: values.stack ? m.report() : '',
      cache: s ? { hits: s.hits, misses: s.misses, coalesced: s.coalesced } : null,
    };
    return { content: [{ type: 'text', text: JSON.stringify(report) }] };
  },
);

await server.connect(new StdioServerTransport());
