/**
 * Load scenarios (report only): the load generator driving the fixture server, for
 * throughput-over-time and queueing figures. The gated overload experiment of the
 * concurrency limit is `concurrency.overload3x.stdio` (in `concurrency.ts`).
 */

import { connectStdio } from '../fixtures/servers.js';
import type { ScenarioSet } from '../harness/types.js';
import { runLoad } from '../load/index.js';

/** The CPU cost of one `cpu` call in the overload scenario, in ms. */
const CPU_MS = 2;
/** Offered rate as a multiple of the measured capacity. */
const OVERLOAD = 1.5;

const CPU_WORKLOAD = { operations: [{ method: 'tools/call', name: 'cpu', arguments: { ms: CPU_MS } }] };

/** Load scenarios, keyed by name. */
export const loadScenarios: ScenarioSet = {
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
