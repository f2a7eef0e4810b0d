/**
 * Concurrency-limit scenarios.
 *
 * - `concurrency.uncontended.inmemory`: what the limiter costs when it never has to
 *   queue: the in-memory echo round trip behind one pass-through middleware against the
 *   same server behind `concurrencyLimit({ limit: 64 })` (the fast path: a few
 *   comparisons, no promise). The baseline has one middleware too, so the figure is the
 *   limiter's own cost, not the pipeline's (see `pipeline.pass5.inmemory` for that).
 * - `concurrency.overload3x.stdio`: the overload experiment, gated (see
 *   {@link overloadExperiment}).
 * - `load.concurrency.overload.{limited,unlimited}` (report only): the same kind of
 *   overload in one process, over an in-memory pair, with capacity probed one request
 *   at a time: the server's 2 ms of CPU per call is also time the generator cannot send
 *   in, so these show the shape (shedding vs a growing backlog), not the figures the
 *   experiment judges.
 */

import { concurrencyLimit, withMiddleware } from 'mcp-perf';
import {
  type Connected,
  connectInMemory,
  connectStdio,
  createFixtureServer,
  createSlowServer,
  stackFor,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import { type ExperimentResult, FINE_INTERLEAVE, type ScenarioSet } from '../harness/types.js';
import { type LoadTarget, runLoad } from '../load/index.js';

const ECHO = { name: 'echo', arguments: { text: 'hello' } };
/** CPU per `cpu` call, in ms. */
const CPU_MS = 2;
/** Offered rate as a multiple of capacity. */
const OVERLOAD = 3;
const CPU_WORKLOAD = { operations: [{ method: 'tools/call', name: 'cpu', arguments: { ms: CPU_MS } }] };

/** The overload runs' sending period (`MCP_PERF_OVERLOAD_MS`, default 10 000 ms). */
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

/** The unloaded run: one request at a time against the bare server, in ms. */
const UNLOADED_MS = 1000;
/** The capacity run: the bare server saturated by a closed loop, in ms. */
const CAPACITY_MS = 3000;
/**
 * Requests the capacity run keeps in flight. One at a time leaves the server idle for
 * every round trip (~410 ok/s here); the throughput levels off from about 6 in flight
 * (measured: 2 → 422, 4 → 447, 6 → 476, 8 → 474, 16 → 475, 32 → 480 ok/s), where the
 * server always has the next request waiting, as under open-loop overload (~485 ok/s).
 */
const CAPACITY_CONCURRENCY = 8;
/**
 * The bare run's sending period, in ms: without a limit the backlog grows by about two
 * requests for each one answered, so the run then takes three times this to drain.
 */
const BARE_MS = 3000;
/** Each child process first serves this long of discarded load (JIT, first-use costs), in ms. */
const WARMUP_MS = 300;
/** The limiter the overload experiment judges: `limit<N>q<M>` (`MCP_PERF_OVERLOAD_STACK`). */
const LIMITED_STACK = 'limit1q0';

function limitedStack(): string {
  const stack = process.env.MCP_PERF_OVERLOAD_STACK ?? LIMITED_STACK;
  if (!/^limit\d+q\d+$/.test(stack)) {
    throw new TypeError(`MCP_PERF_OVERLOAD_STACK must be limit<N>q<M> (got ${JSON.stringify(stack)})`);
  }
  stackFor(stack);
  return stack;
}

/** Starts the stdio fixture server behind `stack`, warms it up, runs `steps` against it and closes it. */
async function withStdioServer<T>(stack: string, steps: (target: LoadTarget) => Promise<T>): Promise<T> {
  const conn = await connectStdio(stack);
  try {
    const target = { client: conn.client, label: `stdio: fixture server (${stack}), cpu ${CPU_MS} ms` };
    await runLoad({ target, concurrency: 4, durationMs: WARMUP_MS, workload: CPU_WORKLOAD });
    return await steps(target);
  } finally {
    await conn.close();
  }
}

/** Figures of {@link overloadExperiment}, by name: what each is, with its unit. */
const OVERLOAD_FIGURES: Record<string, string> = {
  admittedP99OverUnloaded: 'limited run: p99 latency of admitted (ok) requests ÷ unloaded p99',
  goodputOverCapacity: 'limited run: ok/s over the sending period ÷ capacity',
  unloadedP99Ms: 'unloaded: p99 latency, one request at a time (ms)',
  unloadedOkPerSec: 'unloaded: ok/s, one request at a time',
  capacityOkPerSec: `capacity: ok/s of the bare server with ${CAPACITY_CONCURRENCY} requests in flight`,
  offeredPerSec: `offered rate of both overload runs: ${OVERLOAD} × capacity (requests/s)`,
  limitedOkPerSec: 'limited run: ok/s over the sending period (goodput)',
  limitedP99Ms: 'limited run: p99 latency of admitted requests, from the time each was due (ms)',
  limitedShedPerSec: 'limited run: requests shed (error -31503) per second of the sending period',
  bareOkPerSec: 'bare run: ok/s, until its backlog drained',
  bareP99Ms: `bare run (${BARE_MS / 1000} s of sending): p99 latency, from the time each request was due (ms)`,
  bareP99OverUnloaded: 'bare run: p99 ÷ unloaded p99',
  bareOkOverCapacity: 'bare run: ok/s ÷ capacity (open-loop saturation against the closed-loop figure)',
  bareBacklogMax: 'bare run: most requests in flight at once (its backlog at the end of sending)',
};

/**
 * The concurrency limit's overload experiment, in one run against the stdio fixture
 * server (a child process; its `cpu` tool burns 2 ms of CPU per call, so the server can
 * answer about 500 calls a second and no more):
 *
 * 1. **Unloaded**: one request at a time for 1 s against the bare server: its p99 is the
 *    reference latency.
 * 2. **Capacity**: the bare server saturated by a closed loop ({@link CAPACITY_CONCURRENCY}
 *    in flight, 3 s): ok/s. Not the one-at-a-time throughput, which is bound by the round
 *    trip and leaves the server idle between requests.
 * 3. **Limited**: 3 × capacity, open loop, for `MCP_PERF_OVERLOAD_MS` (default 10 s),
 *    against the server behind `concurrencyLimit({ limit: 1, maxQueue: 0 })`. Judged:
 *    p99 of the admitted (ok) requests ≤ 3 × the unloaded p99, and goodput (ok/s over
 *    the sending period) ≥ 90% of capacity. Excess requests are shed at once, so the
 *    run ends with at most one in flight and waits for it.
 * 4. **Bare**, for contrast: the same offered rate without a limit. Every request is
 *    accepted and the backlog grows by about two requests for each one answered, so
 *    the p99 grows with the run's length and the drain takes twice the sending period.
 *    To bound its cost, the bare run sends for {@link BARE_MS} only, then waits for its
 *    backlog (every request answered, so its p99 is exact; ~9 s in all). Its ok/s, the
 *    server's open-loop saturation, checks the capacity figure (`bareOkOverCapacity`,
 *    about 1).
 *
 * Every server is a fresh child process, warmed up for {@link WARMUP_MS} first.
 *
 * **Why no queue.** With one slot and a tool that holds the CPU, the queue decides how
 * long an admitted request waits. The limiter hands the slot to a queued request as soon
 * as the running one ends, before the server reads what arrived meanwhile, so with a
 * queue an admitted request sits unread in the pipe behind up to (queue + 1) burns of
 * 2 ms and then in the queue behind up to `queue` more. Without a queue, the pipe holds
 * what arrives during a burn, the next read admits the first of it and sheds the rest,
 * and the server is never idle while requests keep coming (at 3× capacity about three
 * arrive per burn). Measured on the 2-core build machine (three runs each): no queue,
 * admitted p99 8.8–9.2 ms = 2.1–2.7× the unloaded p99 (3.2–4.5 ms), goodput 94% of
 * capacity; a queue of one, p99 12–15 ms = 3.1–4.0×, goodput 95%; a queue of two, p99
 * 16–22 ms = 3.9–4.7×, goodput 89–98%. Run the experiment against another setting with
 * `MCP_PERF_OVERLOAD_STACK=limit1q1`.
 */
export async function overloadExperiment(): Promise<ExperimentResult> {
  const durationMs = overloadMs();
  const stack = limitedStack();
  const { unloaded, capacity } = await withStdioServer('none', async (target) => ({
    unloaded: await runLoad({ target, concurrency: 1, durationMs: UNLOADED_MS, workload: CPU_WORKLOAD }),
    capacity: await runLoad({
      target,
      concurrency: CAPACITY_CONCURRENCY,
      durationMs: CAPACITY_MS,
      workload: CPU_WORKLOAD,
    }),
  }));
  const rate = Math.round(capacity.throughput * OVERLOAD);
  const overload = (ms: number) => (target: LoadTarget) =>
    runLoad({ target, rate, durationMs: ms, timeoutMs: 60_000, workload: CPU_WORKLOAD });
  const limited = await withStdioServer(stack, overload(durationMs));
  const bare = await withStdioServer('none', overload(BARE_MS));
  const unloadedP99 = unloaded.latencyMs.p99;
  const limitedOkPerSec = (limited.succeeded * 1000) / durationMs;
  return {
    figures: {
      admittedP99OverUnloaded: limited.latencyMs.p99 / unloadedP99,
      goodputOverCapacity: limitedOkPerSec / capacity.throughput,
      unloadedP99Ms: unloadedP99,
      unloadedOkPerSec: unloaded.throughput,
      capacityOkPerSec: capacity.throughput,
      offeredPerSec: rate,
      limitedOkPerSec,
      limitedP99Ms: limited.latencyMs.p99,
      limitedShedPerSec: ((limited.errors['-31503'] ?? 0) * 1000) / durationMs,
      bareOkPerSec: bare.throughput,
      bareP99Ms: bare.latencyMs.p99,
      bareP99OverUnloaded: bare.latencyMs.p99 / unloadedP99,
      bareOkOverCapacity: bare.throughput / capacity.throughput,
      bareBacklogMax: bare.maxInFlight,
    },
    loads: { unloaded, capacity, limited, bare },
    details: {
      transport: 'stdio',
      tool: `cpu { ms: ${CPU_MS} }`,
      limitedStack: stack,
      overload: OVERLOAD,
      rate,
      overloadMs: durationMs,
      bareMs: BARE_MS,
      unloadedMs: UNLOADED_MS,
      capacityMs: CAPACITY_MS,
      capacityConcurrency: CAPACITY_CONCURRENCY,
      warmupMs: WARMUP_MS,
    },
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
    ...FINE_INTERLEAVE,
  },
  'concurrency.overload3x.stdio': {
    kind: 'experiment',
    description: `stdio, cpu tool ${CPU_MS} ms: offered ${OVERLOAD}× capacity, behind concurrencyLimit({ limit: 1, maxQueue: 0 }) and bare; admitted p99 and goodput against the unloaded p99 and capacity`,
    figures: OVERLOAD_FIGURES,
    run: overloadExperiment,
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
