/**
 * The scenario registry: every scenario file's set, merged. Adding a budget is one
 * entry in `budgets.json` naming a scenario defined here.
 */

import type { ScenarioSet } from '../harness/types.js';
import { batchingScenarios } from './batching.js';
import { cacheScenarios } from './cache.js';
import { compressionScenarios } from './compression.js';
import { concurrencyScenarios } from './concurrency.js';
import { loadScenarios } from './load.js';
import { metricsScenarios } from './metrics.js';
import { notModifiedScenarios } from './not-modified.js';
import { pipelineScenarios } from './pipeline.js';
import { poolScenarios } from './pool.js';
import { proxyScenarios } from './proxy.js';
import { redisScenarios } from './redis.js';
import { stackScenarios } from './stack.js';
import { tokenBudgetScenarios } from './token-budget.js';
import { toolFilterScenarios } from './tool-filter.js';

function merge(...sets: ScenarioSet[]): ScenarioSet {
  const all: ScenarioSet = {};
  for (const set of sets) {
    for (const [name, scenario] of Object.entries(set)) {
      if (name in all) throw new Error(`scenario ${name} is defined twice`);
      all[name] = scenario;
    }
  }
  return all;
}

/** All scenarios, keyed by name. */
export const scenarios: ScenarioSet = merge(
  pipelineScenarios,
  loadScenarios,
  cacheScenarios,
  concurrencyScenarios,
  metricsScenarios,
  stackScenarios,
  redisScenarios,
  tokenBudgetScenarios,
  toolFilterScenarios,
  compressionScenarios,
  proxyScenarios,
  batchingScenarios,
  notModifiedScenarios,
  poolScenarios,
);
