import { parseArgs } from 'node:util';
import { log } from './log.js';

/** `stats --help`. */
export const STATS_HELP = `Usage: mcp-perf stats [options] [url]

Prints a snapshot of a running proxy (started with --listen): its stack, the metrics
snapshot, every middleware's stats and its upstream pool's, from GET <url>/stats. Default url:
http://127.0.0.1:8080.

Options:
      --token <token>  Bearer token of the proxy. Default: $MCP_PERF_TOKEN.
      --json           Print the raw JSON instead of a summary.
  -h, --help           This help.

Examples:
  mcp-perf stats
  mcp-perf stats http://127.0.0.1:9000 --json
`;

interface StatsDocument {
  stack: string[];
  metrics: {
    totals: {
      requests: number;
      recentPerSecond: number;
      outcomes: Record<string, number>;
      cache: Record<string, number>;
    };
    operations: {
      method: string;
      tool: string | null;
      requests: number;
      latency: { p50Ms: number; p99Ms: number };
    }[];
  } | null;
  middleware: Record<string, unknown>;
  pool?: {
    upstreams: {
      name: string;
      state: string;
      breaker: string;
      inFlight: number;
      requests: number;
      failures: number;
      retries: number;
    }[];
    draining: { name: string; inFlight: number }[];
    budget: { retries: number; allowed: number };
  } | null;
}

/** Runs `stats`; resolves with the exit code. */
export async function runStats(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(STATS_HELP);
    return 0;
  }
  const base = (positionals[0] ?? 'http://127.0.0.1:8080').replace(/\/(mcp|stats)?\/?$/, '');
  const token = values.token ?? process.env.MCP_PERF_TOKEN;
  let response: Response;
  try {
    response = await fetch(`${base}/stats`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
  } catch (error) {
    log(`stats: cannot reach ${base}: ${String((error as Error).cause ?? error)}`);
    return 1;
  }
  if (!response.ok) {
    log(`stats: ${base}/stats answered ${response.status} ${response.statusText}`);
    return 1;
  }
  const doc = (await response.json()) as StatsDocument;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return 0;
  }
  const lines = [`stack: ${doc.stack.length === 0 ? 'no middleware' : doc.stack.join(' → ')}`];
  if (doc.metrics === null) lines.push('metrics: off');
  else {
    const t = doc.metrics.totals;
    lines.push(
      `requests: ${t.requests} (${t.recentPerSecond.toFixed(1)}/s recent)`,
      `outcomes: ${Object.entries(t.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      `cache: ${Object.entries(t.cache)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      'operation                               requests    p50 ms    p99 ms',
      ...doc.metrics.operations.map(
        (op) =>
          `${`${op.method}${op.tool === null ? '' : ` ${op.tool}`}`.padEnd(38)} ${String(op.requests).padStart(9)} ${op.latency.p50Ms.toFixed(2).padStart(9)} ${op.latency.p99Ms.toFixed(2).padStart(9)}`,
      ),
    );
  }
  const pool = doc.pool;
  if (pool !== undefined && pool !== null) {
    const draining = pool.draining.map((d) => `${d.name} (${d.inFlight})`).join(', ');
    lines.push(
      `pool: retry budget ${pool.budget.retries} of ${Math.floor(pool.budget.allowed)} used${draining === '' ? '' : `; draining ${draining}`}`,
      'upstream                     state    breaker    in flight  requests  failures   retries',
      ...pool.upstreams.map(
        (u) =>
          `${u.name.padEnd(28)} ${u.state.padEnd(8)} ${u.breaker.padEnd(9)} ${[u.inFlight, u.requests, u.failures, u.retries].map((n) => String(n).padStart(9)).join(' ')}`,
      ),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
