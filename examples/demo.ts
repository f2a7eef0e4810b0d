/**
 * The demo behind `npm run demo`: one MCP server with a slow `search` tool (20 ms, like
 * a database query), started as a child process over stdio twice — bare, and with
 * `metrics()`, `cache()` and `concurrencyLimit()` — and driven by the same client
 * workload each time; then a side-by-side table of what changed. The server is
 * `examples/demo-server.ts`.
 *
 * Workload: 16 concurrent callers, 1,600 requests: 90% `tools/call search` with a query
 * drawn from a Zipf(1.0) distribution over 200 distinct queries (a few popular, a long
 * tail), 10% `tools/list`.
 *
 * Run: npm run demo        (or: npx tsx examples/demo.ts --requests 3000 --concurrency 32)
 */

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1600' },
    concurrency: { type: 'string', default: '16' },
    'tool-ms': { type: 'string', default: '20' },
  },
});
const REQUESTS = positiveInt('requests', values.requests);
const CONCURRENCY = positiveInt('concurrency', values.concurrency);
const TOOL_MS = positiveInt('tool-ms', values['tool-ms']);
const DISTINCT_QUERIES = 200;

function positiveInt(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`--${name} must be a positive integer (got ${raw})`);
  return n;
}

/** Zipf(1.0) sampler over 1..n, deterministic for a given seed. */
function zipf(n: number, seed: number): () => number {
  const cumulative: number[] = [];
  let total = 0;
  for (let k = 1; k <= n; k++) {
    total += 1 / k;
    cumulative.push(total);
  }
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    const target = (state / 2 ** 32) * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

interface RunResult {
  seconds: number;
  latencies: number[];
  errors: number;
  toolRuns: number;
}

const SERVER = fileURLToPath(new URL('./demo-server.ts', import.meta.url));

interface ServerReport {
  toolRuns: number;
  report: string;
  cache: { hits: number; misses: number; coalesced: number } | null;
}

async function run(withStack: boolean): Promise<RunResult & { server: ServerReport }> {
  const client = new Client({ name: 'demo-client', version: '1.0.0' });
  const args = ['--import', 'tsx', SERVER, '--tool-ms', String(TOOL_MS), ...(withStack ? ['--stack'] : [])];
  await client.connect(new StdioClientTransport({ command: process.execPath, args, stderr: 'inherit' }));
  await client.callTool({ name: 'search', arguments: { query: 'warm-up' } });

  const nextQuery = zipf(DISTINCT_QUERIES, 42);
  const plan = Array.from({ length: REQUESTS }, (_, i) => (i % 10 === 9 ? 0 : nextQuery()));
  const latencies: number[] = [];
  let errors = 0;
  let cursor = 0;
  const started = performance.now();
  async function caller(): Promise<void> {
    while (cursor < plan.length) {
      const query = plan[cursor++]!;
      const t = performance.now();
      try {
        if (query === 0) await client.listTools();
        else await client.callTool({ name: 'search', arguments: { query: `query-${query}` } });
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  const seconds = (performance.now() - started) / 1000;
  const stats = await client.callTool({ name: 'demo_stats', arguments: {} });
  const server = JSON.parse((stats.content as { text: string }[])[0]!.text) as ServerReport;
  await client.close();
  // The warm-up call ran the tool once before the clock started.
  return {
    seconds,
    latencies: latencies.sort((a, b) => a - b),
    errors,
    toolRuns: server.toolRuns - 1,
    server,
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

process.stdout.write(
  `mcp-perf demo: ${REQUESTS} requests, ${CONCURRENCY} concurrent callers, search tool ${TOOL_MS} ms, ` +
    `Zipf(1.0) over ${DISTINCT_QUERIES} queries\n\n`,
);
const bare = await run(false);
const withStack = await run(true);

const rows: [string, (r: RunResult) => string][] = [
  ['calls/s', (r) => (REQUESTS / r.seconds).toFixed(0)],
  ['p50 latency (ms)', (r) => quantile(r.latencies, 0.5).toFixed(2)],
  ['p99 latency (ms)', (r) => quantile(r.latencies, 0.99).toFixed(2)],
  ['search really ran', (r) => String(r.toolRuns)],
  ['errors', (r) => String(r.errors)],
  ['wall time (s)', (r) => r.seconds.toFixed(2)],
];
const header = ['', 'bare SDK', 'metrics + cache + limit'];
const table = [header, ...rows.map(([label, f]) => [label, f(bare), f(withStack)])];
const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
for (const [i, row] of table.entries()) {
  process.stdout.write(
    `${row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('   ')}\n`,
  );
  if (i === 0) process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('   ')}\n`);
}
const hits = withStack.server.cache;
process.stdout.write(
  `\nspeed-up ${(bare.seconds / withStack.seconds).toFixed(1)}x` +
    (hits ? `; cache: ${hits.hits} hits, ${hits.misses} misses, ${hits.coalesced} coalesced` : '') +
    `\n\nWhat the metrics middleware saw inside the server (with the stack):\n${withStack.server.report}\n`,
);
