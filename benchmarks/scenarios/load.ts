/**
 * Load scenarios (report only): the load generator driving the fixture server, for
 * throughput-over-time and queueing figures.
 */

import { SLOW_SERVER_SCRIPT } from '../fixtures/servers.js';
import type { ScenarioSet } from '../harness/types.js';
import { runLoad } from '../load/index.js';

/** The CPU cost of one `cpu` call in the overload scenario, in ms. */
const CPU_MS = 2;

/** Load scenarios, keyed by name. */
export const loadScenarios: ScenarioSet = {
  'load.stdio.overload': {
    kind: 'load',
    description: `open loop at 1.3× capacity: a stdio server whose tool burns ${CPU_MS} ms of CPU per call, offered ${Math.round((1.3 * 1000) / CPU_MS)}/s for 4 s`,
    run: () =>
      runLoad({
        target: { stdio: { command: process.execPath, args: ['--import', 'tsx', SLOW_SERVER_SCRIPT] } },
        rate: Math.round((1.3 * 1000) / CPU_MS),
        durationMs: 4000,
        timeoutMs: 20_000,
        workload: { operations: [{ method: 'tools/call', name: 'cpu', arguments: { ms: CPU_MS } }] },
      }),
  },
};
