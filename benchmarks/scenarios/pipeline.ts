/**
 * Pipeline overhead: the bare SDK round trip (v1 `McpServer` with an `echo` tool and a
 * `Client`, sequential `callTool`) against the same server wrapped with
 * `withMiddleware(server, [])` and with five pass-through middlewares, over an
 * in-memory linked pair, stdio (a child process) and Streamable HTTP on 127.0.0.1.
 * An A/A scenario (bare against bare) measures the harness's own bias and noise floor.
 */

import {
  type Connected,
  connectHttp,
  connectInMemory,
  connectStdio,
  createFixtureServer,
  type HostedHttp,
  serveHttp,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import { FINE_INTERLEAVE, type ScenarioSet, STDIO_INTERLEAVE } from '../harness/types.js';

const ECHO = { name: 'echo', arguments: { text: 'hello' } };

async function echo(c: Connected): Promise<void> {
  await c.client.callTool(ECHO);
}

/** The echo round trip over an in-memory linked pair, server wrapped with `stack`. */
export function inMemoryVariant(stack: string): Variant<Connected> {
  return {
    setup: () => connectInMemory(createFixtureServer(stack)),
    run: echo,
    teardown: (c) => c.close(),
  };
}

/** The echo round trip to a child process over stdio, server wrapped with `stack`. */
export function stdioVariant(stack: string): Variant<Connected> {
  return { setup: () => connectStdio(stack), run: echo, teardown: (c) => c.close() };
}

/** The echo round trip over Streamable HTTP on 127.0.0.1 (one session), server wrapped with `stack`. */
export function httpVariant(stack: string): Variant<Connected & { hosted: HostedHttp }> {
  return {
    setup: async () => {
      const hosted = await serveHttp(() => createFixtureServer(stack));
      return { ...(await connectHttp(hosted.url)), hosted };
    },
    run: echo,
    teardown: async (c) => {
      await c.close();
      await c.hosted.close();
    },
  };
}

/** Pipeline scenarios, keyed by the names budgets use. */
export const pipelineScenarios: ScenarioSet = {
  'harness.aa.inmemory': {
    kind: 'compare',
    description: 'A/A: bare in-memory echo against an identical bare server (harness bias and noise)',
    baseline: inMemoryVariant('none'),
    candidate: inMemoryVariant('none'),
    ...FINE_INTERLEAVE,
  },
  'pipeline.empty-stack.inmemory': {
    kind: 'compare',
    description: 'in-memory echo: bare SDK vs withMiddleware(server, [])',
    baseline: inMemoryVariant('none'),
    candidate: inMemoryVariant('empty'),
    ...FINE_INTERLEAVE,
  },
  'pipeline.pass5.inmemory': {
    kind: 'compare',
    description:
      'in-memory echo: bare SDK vs 5 pass-through middlewares written as async functions, async (ctx, next) => next()',
    baseline: inMemoryVariant('none'),
    candidate: inMemoryVariant('pass5'),
    ...FINE_INTERLEAVE,
  },
  'pipeline.pass5-sync.inmemory': {
    kind: 'compare',
    description: 'in-memory echo: bare SDK vs 5 pass-through middlewares, (ctx, next) => next()',
    baseline: inMemoryVariant('none'),
    candidate: inMemoryVariant('syncpass5'),
    ...FINE_INTERLEAVE,
  },
  'pipeline.empty-stack.stdio': {
    kind: 'compare',
    description: 'stdio child process echo: bare SDK vs withMiddleware(server, [])',
    baseline: stdioVariant('none'),
    candidate: stdioVariant('empty'),
    ...STDIO_INTERLEAVE,
  },
  'pipeline.pass5.stdio': {
    kind: 'compare',
    description: 'stdio child process echo: bare SDK vs 5 pass-through middlewares',
    baseline: stdioVariant('none'),
    candidate: stdioVariant('pass5'),
    ...STDIO_INTERLEAVE,
  },
  'pipeline.empty-stack.http': {
    kind: 'compare',
    description: 'Streamable HTTP echo (127.0.0.1, one session): bare SDK vs withMiddleware(server, [])',
    baseline: httpVariant('none'),
    candidate: httpVariant('empty'),
    rounds: 8,
    timePerRoundMs: 250,
  },
  'pipeline.pass5.http': {
    kind: 'compare',
    description: 'Streamable HTTP echo (127.0.0.1, one session): bare SDK vs 5 pass-through middlewares',
    baseline: httpVariant('none'),
    candidate: httpVariant('pass5'),
    rounds: 8,
    timePerRoundMs: 250,
  },
};
