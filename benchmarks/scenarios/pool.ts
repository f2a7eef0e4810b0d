/**
 * Upstream pool scenario (report only).
 *
 * - `pool.slow-replica.http`: three Streamable HTTP replicas on 127.0.0.1 whose `work`
 *   tool (read-only) waits `BASE_MS`; half-way through each run one replica becomes 10×
 *   slower. Closed-loop callers (`CALLERS` at a time) measure each call's latency; the
 *   figure that matters is the p99 of the run with the slowdown over the p99 of an
 *   all-healthy run, through the pool (target: within 2×). For contrast the same two runs
 *   against the slowing replica alone (bare single upstream), and both runs again through
 *   the proxy command line (`mcp-perf proxy -c pool.yaml`, stdio to the host) with the
 *   pool in its config file.
 *
 * The pool runs with hedging after the p95 and latency outlier ejection (factor 3):
 * hedging cuts the tail while the slow replica is still in, ejection takes it out.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createUpstreamPool, type UpstreamPoolOptions } from 'mcp-perf/pool';
import { type HostedHttp, serveHttp } from '../fixtures/servers.js';
import type { ExperimentResult, ScenarioSet } from '../harness/types.js';

/** What the `work` tool waits on a healthy replica, in ms. */
const BASE_MS = 20;
/** Callers at a time. */
const CALLERS = 3;
/** One run's length (`MCP_PERF_POOL_RUN_MS`, default 3000 ms); the slowdown starts half-way. */
function runMs(): number {
  const raw = process.env.MCP_PERF_POOL_RUN_MS;
  const ms = raw === undefined ? 3000 : Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new TypeError(`MCP_PERF_POOL_RUN_MS must be a positive number of ms (got ${JSON.stringify(raw)})`);
  }
  return ms;
}

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

/** The pool's settings in both forms (library and config file). */
const POOL_SETTINGS = {
  strategy: 'least-in-flight',
  sessions: 'spread',
  hedge: { percentile: 95, minSamples: 20 },
  health: { intervalMs: 0, latencyFactor: 3, minSamples: 10, outlierIntervalMs: 100, cooloffMs: 60_000 },
} as const satisfies Omit<UpstreamPoolOptions, 'upstreams'>;

interface Replica {
  delayMs: number;
  http: HostedHttp;
}

async function startReplica(): Promise<Replica> {
  const replica = { delayMs: BASE_MS } as Replica;
  replica.http = await serveHttp(() => {
    const server = new McpServer({ name: 'replica', version: '1.0.0' });
    server.registerTool('work', { inputSchema: {}, annotations: { readOnlyHint: true } }, async () => {
      await new Promise((resolve) => setTimeout(resolve, replica.delayMs));
      return { content: [{ type: 'text', text: 'done' }] };
    });
    return server;
  });
  return replica;
}

/** Closed-loop calls for `runMs()`; `slow` is made 10× slower half-way when `slowdown`. Returns the p99 in ms. */
async function drive(
  client: Client,
  slow: Replica,
  slowdown: boolean,
): Promise<{ p50: number; p99: number }> {
  const latencies: number[] = [];
  const total = runMs();
  const start = performance.now();
  const end = start + total;
  slow.delayMs = BASE_MS;
  const switcher = slowdown ? setTimeout(() => (slow.delayMs = BASE_MS * 10), total / 2) : undefined;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await client.callTool({ name: 'work', arguments: {} });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  clearTimeout(switcher);
  slow.delayMs = BASE_MS;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

async function withClient<T>(
  transport: Parameters<Client['connect']>[0],
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({ name: 'mcp-perf-bench', version: '1.0.0' });
  await client.connect(transport);
  try {
    await client.listTools(); // the pool learns that `work` is read-only
    for (let i = 0; i < 30; i++) await client.callTool({ name: 'work', arguments: {} });
    return await fn(client);
  } finally {
    await client.close();
  }
}

async function slowReplicaExperiment(): Promise<ExperimentResult> {
  const replicas = await Promise.all([startReplica(), startReplica(), startReplica()]);
  const slow = replicas[2]!;
  const urls = replicas.map((r) => r.http.url);
  const dir = await mkdtemp(join(tmpdir(), 'mcp-perf-pool-'));
  try {
    const figures: Record<string, number> = {};
    const record = (name: string, r: { p50: number; p99: number }) => {
      figures[`${name}P99Ms`] = r.p99;
      figures[`${name}P50Ms`] = r.p50;
    };

    // Bare: the slowing replica alone.
    for (const slowdown of [false, true]) {
      const r = await withClient(new StreamableHTTPClientTransport(new URL(slow.http.url)), (c) =>
        drive(c, slow, slowdown),
      );
      record(slowdown ? 'bareSlow' : 'bareHealthy', r);
    }

    // The pool, in this process.
    for (const slowdown of [false, true]) {
      const pool = createUpstreamPool({ upstreams: urls, ...POOL_SETTINGS });
      try {
        record(
          slowdown ? 'poolSlow' : 'poolHealthy',
          await withClient(pool.transport(), (c) => drive(c, slow, slowdown)),
        );
        if (slowdown) {
          const stats = pool.stats();
          figures.poolSlowHedges = stats.hedges;
          figures.poolSlowEjections = stats.upstreams.reduce(
            (n, u) => n + u.ejections.failures + u.ejections.latency,
            0,
          );
        }
      } finally {
        await pool.close();
      }
    }

    // The proxy command line with the pool in its config file.
    const config = join(dir, 'pool.json');
    await writeFile(config, JSON.stringify({ middleware: [], pool: { upstreams: urls, ...POOL_SETTINGS } }));
    for (const slowdown of [false, true]) {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'proxy', '--config', config],
        env: getDefaultEnvironment(),
        stderr: 'ignore',
      });
      record(
        slowdown ? 'cliSlow' : 'cliHealthy',
        await withClient(transport, (c) => drive(c, slow, slowdown)),
      );
    }

    figures.bareP99Ratio = figures.bareSlowP99Ms! / figures.bareHealthyP99Ms!;
    figures.poolP99Ratio = figures.poolSlowP99Ms! / figures.poolHealthyP99Ms!;
    figures.cliP99Ratio = figures.cliSlowP99Ms! / figures.cliHealthyP99Ms!;
    return {
      figures,
      details: {
        baseMs: BASE_MS,
        slowMs: BASE_MS * 10,
        callers: CALLERS,
        runMs: runMs(),
        pool: POOL_SETTINGS,
      },
    };
  } finally {
    await Promise.allSettled(replicas.map((r) => r.http.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

const FIGURES: Record<string, string> = {};
for (const [name, what] of [
  ['bareHealthy', 'the slowing replica alone, all healthy'],
  ['bareSlow', 'the slowing replica alone, 10× slower half-way'],
  ['poolHealthy', 'the pool of three, all healthy'],
  ['poolSlow', 'the pool of three, one 10× slower half-way'],
  ['cliHealthy', 'the proxy CLI with the pool in its config, all healthy'],
  ['cliSlow', 'the proxy CLI with the pool in its config, one 10× slower half-way'],
] as const) {
  FIGURES[`${name}P99Ms`] = `p99 per call, ${what} (ms)`;
  FIGURES[`${name}P50Ms`] = `median per call, ${what} (ms)`;
}
FIGURES.poolSlowHedges = 'pool, one replica slower: hedged copies sent';
FIGURES.poolSlowEjections = 'pool, one replica slower: ejections';
FIGURES.bareP99Ratio = 'bare single upstream: p99 with the slowdown over healthy p99';
FIGURES.poolP99Ratio = 'pool: p99 with one replica 10× slower over healthy p99 (target ≤ 2)';
FIGURES.cliP99Ratio =
  'proxy CLI with a pool config: p99 with one replica 10× slower over healthy p99 (target ≤ 2)';

/** The upstream pool scenarios. */
export const poolScenarios: ScenarioSet = {
  'pool.slow-replica.http': {
    kind: 'experiment',
    description: `three HTTP replicas (work tool ${BASE_MS} ms), one 10× slower half-way: p99 through the pool, the proxy CLI and one bare upstream`,
    figures: FIGURES,
    run: slowReplicaExperiment,
  },
};
