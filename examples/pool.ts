/**
 * A client spread over three replicas of one MCP server: calls go to the least busy of
 * two random replicas, a replica that fails is ejected and re-admitted, read-only calls
 * are retried elsewhere and hedged after the p95; writes are never run twice.
 *
 * Run: npx tsx examples/pool.ts   (starts three replicas of examples/demo-server.ts)
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createUpstreamPool } from 'mcp-perf/pool';

const replica = (name: string) => ({
  name,
  command: process.execPath,
  args: ['--import', 'tsx', new URL('./demo-server.ts', import.meta.url).pathname],
});

const pool = createUpstreamPool({
  upstreams: [replica('r1'), replica('r2'), replica('r3')],
  strategy: 'least-in-flight',
  // The demo server keeps no per-session state: spread a session's requests too.
  sessions: 'spread',
  retry: { budget: 0.2 },
  // A child server's start-up counts against the first request's timeout: keep it generous.
  timeouts: { defaultMs: 60_000, tools: { search: 10_000 } },
  health: { intervalMs: 30_000 },
  hedge: { percentile: 95 },
  onEvent: (event) => console.error('pool:', JSON.stringify(event)),
});

const client = new Client({ name: 'pool-example', version: '1.0.0' });
await client.connect(pool.transport());
const { tools } = await client.listTools(); // annotations tell the pool which tools are read-only
console.log('tools:', tools.map((t) => t.name).join(', '));
for (let i = 0; i < 6; i++) {
  const result = await client.callTool({ name: 'search', arguments: { query: `query ${i}` } });
  console.log(JSON.stringify(result.content).slice(0, 80));
}
console.log(
  pool
    .stats()
    .upstreams.map((u) => `${u.name}: ${u.requests} requests, ${u.state}`)
    .join('\n'),
);
await client.close();
await pool.close();
