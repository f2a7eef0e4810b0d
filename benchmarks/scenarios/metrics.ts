/**
 * Metrics overhead: the in-memory echo round trip with the metrics middleware against
 * the same server with one pass-through middleware in its place (so only what the
 * middleware itself does is measured, not the pipeline it joins), with token counting
 * off and with the approximate counter on every request; and against the bare SDK, for
 * the whole cost of adding it. And the recording cost in nanoseconds: the middleware
 * alone, called in a loop with a reply that is already there, against a pass-through
 * called the same way.
 */

import { performance } from 'node:perf_hooks';
import {
  type JsonRpcRequest,
  type MetricsOptions,
  metrics,
  type Reply,
  type RequestContext,
  type RequestMiddleware,
  withMiddleware,
} from 'mcp-perf';
import {
  type Connected,
  connectInMemory,
  createFixtureServer,
  createSlowServer,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import { median } from '../harness/stats.js';
import { type ExperimentResult, FINE_INTERLEAVE, type ScenarioSet } from '../harness/types.js';
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

/** Requests per timed block of {@link recordCost}. */
const RECORD_BLOCK = 100_000;
/** Timed blocks per variant (alternating), after one discarded block each. */
const RECORD_ROUNDS = 9;

const CALL: JsonRpcRequest = {
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'echo', arguments: { text: 'hello' } },
};
const REPLY: Reply = { result: { content: [{ type: 'text', text: 'hello' }] } };
const CONNECTION = { reportError() {} } as unknown as RequestContext['connection'];
const SESSION = {} as RequestContext['session'];
const SIGNAL = new AbortController().signal;

/** A request's context as a middleware sees it: what the pipeline would build, minus the pipeline. */
function stubContext(id: number): RequestContext {
  let state: Record<string, unknown> | undefined;
  return {
    id,
    method: CALL.method,
    params: CALL.params,
    message: CALL,
    side: 'server',
    connection: CONNECTION,
    session: SESSION,
    control: false,
    authInfo: undefined,
    extra: undefined,
    progressToken: undefined,
    signal: SIGNAL,
    cancelled: false,
    get state() {
      if (state === undefined) state = {};
      return state;
    },
    startedAt: performance.now(),
    progress() {},
  };
}

/** Median nanoseconds per request of each middleware, called in alternating blocks. */
async function nsPerRequest(variants: readonly RequestMiddleware[]): Promise<number[]> {
  const answered = Promise.resolve(REPLY);
  const next = () => answered;
  const times: number[][] = variants.map(() => []);
  for (let round = -1; round < RECORD_ROUNDS; round++) {
    for (let v = 0; v < variants.length; v++) {
      const index = round % 2 === 0 ? v : variants.length - 1 - v;
      const middleware = variants[index]!;
      const started = performance.now();
      for (let i = 0; i < RECORD_BLOCK; i++) await middleware(stubContext(i), next);
      if (round >= 0) times[index]!.push(((performance.now() - started) * 1e6) / RECORD_BLOCK);
    }
  }
  return times.map(median);
}

/**
 * What recording one request costs: the metrics middleware (tokens off, and with the
 * approximate counter) against a pass-through, each awaited in a loop of
 * {@link RECORD_BLOCK} requests whose reply is already resolved, in alternating blocks.
 */
async function recordCost(): Promise<ExperimentResult> {
  const off = metrics();
  const approximate = metrics({ tokens: 'approximate' });
  // The same pass-through as the compare scenarios' baseline: an async function.
  const pass: RequestMiddleware = async (_ctx, next) => next();
  const [passNs, offNs, approximateNs] = await nsPerRequest([pass, off.request!, approximate.request!]);
  return {
    figures: {
      recordNs: offNs! - passNs!,
      recordApproximateNs: approximateNs! - passNs!,
      passThroughNs: passNs!,
    },
    details: { block: RECORD_BLOCK, rounds: RECORD_ROUNDS, call: CALL.params, reply: REPLY.result },
  };
}

/** Metrics scenarios, keyed by the names budgets use. */
export const metricsScenarios: ScenarioSet = {
  'metrics.tokens-off.inmemory': {
    kind: 'compare',
    description: 'in-memory echo: one pass-through middleware vs metrics() (tokens off)',
    baseline: passOneVariant(),
    candidate: withMetricsVariant({}),
    ...FINE_INTERLEAVE,
  },
  'metrics.tokens-approximate.inmemory': {
    kind: 'compare',
    description: "in-memory echo: one pass-through middleware vs metrics({ tokens: 'approximate' })",
    baseline: passOneVariant(),
    candidate: withMetricsVariant({ tokens: 'approximate' }),
    ...FINE_INTERLEAVE,
  },
  'metrics.record-cost': {
    kind: 'experiment',
    description:
      'the metrics middleware alone, awaited in a loop with a reply already there: ns per request over a pass-through',
    figures: {
      recordNs: 'metrics() (tokens off): ns per request more than a pass-through middleware',
      recordApproximateNs: "metrics({ tokens: 'approximate' }): ns per request more than a pass-through",
      passThroughNs: 'the pass-through itself, awaited: ns per request (the loop and the await)',
    },
    run: recordCost,
  },
  'metrics.vs-bare.inmemory': {
    kind: 'compare',
    description: 'in-memory echo: bare SDK vs metrics() (tokens off), pipeline included',
    baseline: inMemoryVariant('none'),
    candidate: withMetricsVariant({}),
    ...FINE_INTERLEAVE,
  },
};
