/**
 * Metrics overhead: the in-memory echo round trip with the metrics middleware against
 * the same server with one pass-through middleware in its place (so only what the
 * middleware itself does is measured, not the pipeline it joins), with token counting
 * off and with the approximate counter on every request; and against the bare SDK, for
 * the whole cost of adding it.
 */

import { type MetricsOptions, metrics, withMiddleware } from 'mcp-perf';
import {
  type Connected,
  connectInMemory,
  createFixtureServer,
  createSlowServer,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import type { ScenarioSet } from '../harness/types.js';
import { inMemoryVariant } from './pipeline.js';

const ECHO = { name: 'echo', arguments: { text: 'hello' } };

/** The echo round trip over an in-memory pair, the server wrapped with `metrics(options)`. */
function withMetricsVariant(options: MetricsOptions): Variant<Connected> {
  return {
    setup: async () => {
      const server = withMiddleware(createSlowServer(), [metrics(options)]);
      const connected = await connectInMemory(server);
      await connected.client.listTools();
      return connected;
    },
    run: async (c) => {
      await c.client.callTool(ECHO);
    },
    teardown: (c) => c.close(),
  };
}

/** The echo round trip with one pass-through middleware (the baseline position). */
function passOneVariant(): Variant<Connected> {
  return {
    setup: async () => {
      const connected = await connectInMemory(createFixtureServer('pass1'));
      await connected.client.listTools();
      return connected;
    },
    run: async (c) => {
      await c.client.callTool(ECHO);
    },
    teardown: (c) => c.close(),
  };
}

/** Metrics scenarios, keyed by the names budgets use. */
export const metricsScenarios: ScenarioSet = {
  'metrics.tokens-off.inmemory': {
    kind: 'compare',
    description: 'in-memory echo: one pass-through middleware vs metrics() (tokens off)',
    baseline: passOneVariant(),
    candidate: withMetricsVariant({}),
    rounds: 12,
  },
  'metrics.tokens-approximate.inmemory': {
    kind: 'compare',
    description: "in-memory echo: one pass-through middleware vs metrics({ tokens: 'approximate' })",
    baseline: passOneVariant(),
    candidate: withMetricsVariant({ tokens: 'approximate' }),
    rounds: 12,
  },
  'metrics.vs-bare.inmemory': {
    kind: 'compare',
    description: 'in-memory echo: bare SDK vs metrics() (tokens off), pipeline included',
    baseline: inMemoryVariant('none'),
    candidate: withMetricsVariant({}),
    rounds: 12,
  },
};
