/**
 * Concurrency-limit scenarios.
 *
 * - `concurrency.uncontended.inmemory`: what the limiter costs when it never has to
 *   queue: the in-memory echo round trip behind one pass-through middleware against the
 *   same server behind `concurrencyLimit({ limit: 64 })` (the fast path: a few
 *   comparisons, no promise). The baseline has one middleware too, so the figure is the
 *   limiter's own cost, not the pipeline's (see `pipeline.pass5.inmemory` for that).
 * - `load.concurrency.overload.{limited,unlimited}`: open loop at 3× capacity against
 *   a server whose `cpu` tool burns 2 ms per call. Capacity is probed first (one request
 *   at a time); the unloaded p99 comes from the same probe. With the limiter (one slot,
 *   a queue of two, 20 ms of queue wait), excess requests are shed at once with -31503,
 *   so admitted requests keep close to the unloaded latency and goodput stays near
 *   capacity; without it, every request is accepted and latency grows with the backlog.
 *   The target for the limited run: p99 of admitted requests ≤ 3× the unloaded p99 and
 *   goodput ≥ 90% of capacity. `MCP_PERF_OVERLOAD_MS` sets the duration (default 10 000).
 *
 * The server runs in the load generator's process (an in-memory pair), so the 2 ms of
 * CPU per call is also time the generator cannot send in; both variants share that bias.
 */

import { concurrencyLimit, withMiddleware } from 'mcp-perf';
import {
  type Connected,
  connectInMemory,
  createFixtureServer,
  createSlowServer,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import type { ScenarioSet } from '../harness/types.js';
import { runLoad } from '../load/index.js';

const ECHO = { name: 'echo', arguments: { text: 'hello' } };
/** CPU per `cpu` call, in ms. */
const CPU_MS = 2;
/** Offered rate as a multiple of the probed capacity. */
const OVERLOAD = 3;
const CPU_WORKLOAD = { operations: [{ method: 'tools/call', name: 'cpu', arguments: { ms: CPU_MS } }] };

function overloadMs(): number {
  const raw = process.env.MCP_PERF_OVERLOAD_MS;
  const ms = raw === undefined ? 10_000 : Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new TypeError(`MCP_PERF_OVERLOAD_MS must be a positive number of ms (got ${JSON.stringify(raw)})`);
  }
  return ms;
}

/** The echo round trip over an in-memory pair behind one pass-through middleware or an uncontended limiter. */
function echoVariant(limited: boolean): Variant<Connected> {
  return {
    setup: () => {
      if (!limited) return connectInMemory(createFixtureServer('pass1'));
      return connectInMemory(withMiddleware(createSlowServer(), [concurrencyLimit({ limit: 64 })]));
    },
    run: async (c) => {
      await c.client.callTool(ECHO);
    },
    teardown: (c) => c.close(),
  };
}

/** 3× capacity for `MCP_PERF_OVERLOAD_MS` against the cpu tool, with or without the limiter. */
function overload(limited: boolean) {
  return async () => {
    const server = createSlowServer();
    if (limited) withMiddleware(server, [concurrencyLimit({ limit: 1, maxQueue: 2, maxQueueWaitMs: 20 })]);
    const conn = await connectInMemory(server);
    try {
      const label = `in-memory: fixture server, cpu tool ${CPU_MS} ms, ${limited ? 'concurrencyLimit(1, queue 2)' : 'no limit'}`;
      const target = { client: conn.client, label };
      const probe = await runLoad({ target, concurrency: 1, durationMs: 1000, workload: CPU_WORKLOAD });
      const rate = Math.max(10, Math.round(probe.throughput * OVERLOAD));
      return await runLoad({
        target,
        rate,
        durationMs: overloadMs(),
        timeoutMs: 30_000,
        workload: CPU_WORKLOAD,
      });
    } finally {
      await conn.close();
    }
  };
}

/** Concurrency-limit scenarios, keyed by the names budgets use. */
export const concurrencyScenarios: ScenarioSet = {
  'concurrency.uncontended.inmemory': {
    kind: 'compare',
    description:
      'in-memory echo: one pass-through middleware vs concurrencyLimit({ limit: 64 }) never queueing',
    baseline: echoVariant(false),
    candidate: echoVariant(true),
    rounds: 12,
  },
  'load.concurrency.overload.limited': {
    kind: 'load',
    description: `open loop at ${OVERLOAD}× capacity: cpu tool ${CPU_MS} ms behind concurrencyLimit (excess shed with -31503)`,
    run: overload(true),
  },
  'load.concurrency.overload.unlimited': {
    kind: 'load',
    description: `open loop at ${OVERLOAD}× capacity: cpu tool ${CPU_MS} ms with no limit (for contrast)`,
    run: overload(false),
  },
};
