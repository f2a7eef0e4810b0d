/**
 * The whole library at once.
 *
 * - `stack.defaults.inmemory`: the echo round trip through every middleware at its defaults
 *   (`defaultStack()` in the fixtures): tool calls are not cached by default, so every call
 *   runs the tool; with no batch handlers and a client that offers neither request batching
 *   nor conditional answers, batching and notModified pass every request on. What the full
 *   stack costs when it cannot help.
 * - `stack.core.inmemory`: the same call through the three middlewares a server most often
 *   runs (`metrics()`, `concurrencyLimit()`, `cache()`) at their defaults.
 * - `stack.defaults-gc.inmemory`: the same, with a full (major) GC before every block of 250
 *   calls, so each block starts right after one, as a busy server's calls often do: the JIT's
 *   feedback and the heap's layout after a major GC must not make the stack pay more.
 * - `stack.defaults.stdio`: the same over stdio, the stack in the child process: what a
 *   host sees of it over a real transport.
 * - `agent.realistic.inmemory`: an agent-like session — 10% `tools/list`, 20%
 *   `resources/read`, 70% tool calls over a slow tool set (a 5 ms I/O-bound `sleep` and a
 *   1 ms CPU-bound `cpu`, arguments drawn Zipf(1.0) over 300 sets) — by 8 concurrent
 *   callers, 2,000 requests from a cold cache, the same seeded sequence on both sides; bare
 *   SDK vs the full stack with both tools cached. One operation is the whole workload.
 */

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  cache,
  concurrencyLimit,
  isCacheMiddleware,
  type Middleware,
  metrics,
  tokenBudget,
  withMiddleware,
} from 'mcp-perf';
import { type Connected, connectInMemory, createSlowServer, defaultStack } from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import { FINE_INTERLEAVE, type ScenarioSet, STDIO_INTERLEAVE } from '../harness/types.js';
import { seededRandom, zipfSampler } from '../load/workload.js';
import { stdioVariant } from './pipeline.js';

/** Requests per agent workload. */
export const AGENT_REQUESTS = 2_000;
/** Concurrent callers of the agent workload. */
export const AGENT_CONCURRENCY = 8;

/** The stack an agent-facing server would run: the slow tools cached. */
function agentStack(): Middleware[] {
  return [
    metrics(),
    tokenBudget(),
    cache({ tools: { include: ['sleep', 'cpu'] } }),
    concurrencyLimit({ limit: 16 }),
  ];
}

type AgentConnected = Connected & { plan: Step[]; stack: Middleware[] | undefined };

function connect(stack: Middleware[] | undefined): Promise<Connected> {
  const server = createSlowServer();
  if (stack) withMiddleware(server, stack);
  return connectInMemory(server);
}

function echo(stack: (() => Middleware[]) | undefined): Variant<Connected> {
  return {
    setup: () => connect(stack?.()),
    run: async (c) => {
      await c.client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    },
    teardown: (c) => c.close(),
  };
}

type Step =
  | { kind: 'list' }
  | { kind: 'read'; id: number }
  | { kind: 'call'; tool: 'sleep' | 'cpu'; id: number };

/** The agent workload, drawn once so both sides replay the same sequence. */
function agentPlan(): Step[] {
  const random = seededRandom(7);
  const sample = zipfSampler(300, 1.0);
  return Array.from({ length: AGENT_REQUESTS }, (): Step => {
    const r = random();
    if (r < 0.1) return { kind: 'list' };
    if (r < 0.3) return { kind: 'read', id: sample(random) };
    return { kind: 'call', tool: r < 0.65 ? 'sleep' : 'cpu', id: sample(random) };
  });
}

async function perform(client: Client, step: Step): Promise<void> {
  if (step.kind === 'list') await client.listTools();
  else if (step.kind === 'read') await client.readResource({ uri: `fixture://doc/${step.id}` });
  else
    await client.callTool({ name: step.tool, arguments: { ms: step.tool === 'sleep' ? 5 : 1, q: step.id } });
}

function agent(makeStack: (() => Middleware[]) | undefined): Variant<AgentConnected> {
  return {
    setup: async () => {
      const stack = makeStack?.();
      return { ...(await connect(stack)), plan: agentPlan(), stack };
    },
    run: async (c) => {
      // Every run starts from a cold cache.
      for (const layer of c.stack ?? []) if (isCacheMiddleware(layer)) await layer.clear();
      let next = 0;
      const caller = async () => {
        while (next < c.plan.length) await perform(c.client, c.plan[next++]!);
      };
      await Promise.all(Array.from({ length: AGENT_CONCURRENCY }, caller));
    },
    teardown: (c) => c.close(),
  };
}

/** Whole-stack scenarios, keyed by the names budgets use. */
export const stackScenarios: ScenarioSet = {
  'stack.defaults.inmemory': {
    kind: 'compare',
    description:
      'in-memory echo: bare SDK vs every middleware at its defaults (metrics, concurrencyLimit, toolFilter, tokenBudget, cache, batching, notModified)',
    baseline: echo(undefined),
    candidate: echo(defaultStack),
    ...FINE_INTERLEAVE,
  },
  'stack.core.inmemory': {
    kind: 'compare',
    description:
      'in-memory echo: bare SDK vs the three middlewares a server most often runs, at their defaults (metrics, concurrencyLimit, cache)',
    baseline: echo(undefined),
    candidate: echo(() => [metrics(), concurrencyLimit(), cache()]),
    ...FINE_INTERLEAVE,
  },
  'stack.defaults-gc.inmemory': {
    kind: 'compare',
    description:
      'the same echo through the full default stack, a major GC before every block of 250 calls: what a server under load (major GCs every few seconds) pays right after one',
    baseline: echo(undefined),
    candidate: echo(defaultStack),
    rounds: 60,
    warmupRounds: 10,
    itersPerRound: 250,
    gc: true,
  },
  'stack.defaults.stdio': {
    kind: 'compare',
    description: 'stdio child process echo: bare SDK vs the full default stack in the child',
    baseline: stdioVariant('none'),
    candidate: stdioVariant('defaults'),
    ...STDIO_INTERLEAVE,
  },
  'agent.realistic.inmemory': {
    kind: 'compare',
    description: `agent-like session, ${AGENT_REQUESTS} requests (lists, reads, 5 ms I/O and 1 ms CPU tools, Zipf arguments) by ${AGENT_CONCURRENCY} callers: bare SDK vs the full stack (total time)`,
    baseline: agent(undefined),
    candidate: agent(agentStack),
    rounds: 4,
    warmupRounds: 1,
    timePerRoundMs: 1,
    statistic: 'mean',
  },
};
