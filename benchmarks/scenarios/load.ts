/**
 * Load scenarios (report only): the load generator driving the fixture server, for
 * throughput-over-time and queueing figures.
 */

import { connectStdio } from '../fixtures/servers.js';
import type { ScenarioSet } from '../harness/types.js';
import { runLoad } from '../load/index.js';

/** The CPU cost of one `cpu` call in the overload scenario, in ms. */
const CPU_MS = 2;
/** Offered rate as a multiple of the measured capacity. */
const OVERLOAD = 1.5;

const CPU_WORKLOAD = { operations: [{ method: 'tools/call', name: 'cpu', arguments: { ms: CPU_MS } }] };

/** Offered rate of the concurrency-limit experiment, as a multiple of capacity. */
const OVERLOAD_LIMITED = 3;
/** Duration of the concurrency-limit experiment (`MCP_PERF_OVERLOAD_MS`, default 10 s). */
const OVERLOAD_MS = Number(process.env.MCP_PERF_OVERLOAD_MS ?? 10_000);

/**
 * The concurrency-limit experiment: capacity is probed on the bare server (one request at
 * a time, 1 s), then the server — bare, or behind `concurrencyLimit({ limit: 1, maxQueue:
 * 1 })` — is offered 3× that rate, open loop. Compare the p99 of the admitted (ok)
 * requests with the probe's p99, and ok/s with the probe's throughput.
 */
function overloadAt3x(stack: 'none' | 'limit1q1') {
  return async () => {
    const probeConn = await connectStdio('none');
    let rate: number;
    let unloaded: string;
    try {
      const target = { client: probeConn.client, label: 'stdio: fixture server, cpu tool (probe)' };
      const probe = await runLoad({ target, concurrency: 1, durationMs: 1000, workload: CPU_WORKLOAD });
      rate = Math.max(10, Math.round(probe.throughput * OVERLOAD_LIMITED));
      unloaded = `unloaded ${probe.throughput.toFixed(0)} ok/s, p99 ${probe.latencyMs.p99.toFixed(1)} ms`;
    } finally {
      await probeConn.close();
    }
    const conn = await connectStdio(stack);
    try {
      const target = {
        client: conn.client,
        label: `stdio: fixture server (${stack}), cpu tool at ${rate}/s (${unloaded})`,
      };
      return await runLoad({
        target,
        rate,
        durationMs: OVERLOAD_MS,
        timeoutMs: 60_000,
        workload: CPU_WORKLOAD,
      });
    } finally {
      await conn.close();
    }
  };
}

/** Load scenarios, keyed by name. */
export const loadScenarios: ScenarioSet = {
  'load.stdio.overload3x.bare': {
    kind: 'load',
    description: `open loop at ${OVERLOAD_LIMITED}× capacity: the cpu tool (${CPU_MS} ms) with no limit (the queue grows)`,
    run: overloadAt3x('none'),
  },
  'load.stdio.overload3x.limited': {
    kind: 'load',
    description: `open loop at ${OVERLOAD_LIMITED}× capacity: the cpu tool (${CPU_MS} ms) behind concurrencyLimit({ limit: 1, maxQueue: 1 })`,
    run: overloadAt3x('limit1q1'),
  },
  'load.stdio.overload': {
    kind: 'load',
    description:
      `open loop at ${OVERLOAD}× capacity for 3 s: a stdio server whose tool burns ${CPU_MS} ms of CPU per call; ` +
      'capacity is probed first (1 s, one request at a time), so the overload is relative to this machine',
    run: async () => {
      const conn = await connectStdio('none');
      try {
        const target = { client: conn.client, label: 'stdio: fixture server, cpu tool' };
        const probe = await runLoad({ target, concurrency: 1, durationMs: 1000, workload: CPU_WORKLOAD });
        const rate = Math.max(10, Math.round(probe.throughput * OVERLOAD));
        return await runLoad({ target, rate, durationMs: 3000, timeoutMs: 30_000, workload: CPU_WORKLOAD });
      } finally {
        await conn.close();
      }
    },
  },
};
