/**
 * Token budget costs.
 *
 * - `tokenBudget.no-cut-1kb.inmemory`: a 1 KB echo result that needs no cut, one
 *   pass-through middleware vs `tokenBudget()` at its defaults in the same place.
 * - `tokenBudget.cut-200kb.stdio`: a 200 KB echo over stdio (a child process; the SDK
 *   serializes, pipes and parses it both ways), bare vs the same with a client-side
 *   `tokenBudget({ maxTokens: 10_000 })` that cuts the result: a ratio under 2 means
 *   cutting costs less than the SDK's own round trip of that result.
 * - `tokenBudget.counters`: the approximate counter against the exact one (`tiktoken`,
 *   warmed) on the token fixture corpus: tokens per second of each and the speed-up.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { approximateTokenCounter, type Middleware, tokenBudget, withMiddleware } from 'mcp-perf';
import { exactTokenCounter } from 'mcp-perf/tokens';
import {
  type Connected,
  connectInMemory,
  createFixtureServer,
  createSlowServer,
  SLOW_SERVER_SCRIPT,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import { median } from '../harness/stats.js';
import { type ExperimentResult, FINE_INTERLEAVE, type ScenarioSet } from '../harness/types.js';

/** 1,024 characters of log-like text. */
const ONE_KB = 'INFO request id=4711 path=/api/items/42 status=200 took=12ms\n'.repeat(17).slice(0, 1024);

/** 200,000 characters of a log: about 80,000 tokens. */
const TWO_HUNDRED_KB = Array.from(
  { length: 2_400 },
  (_, i) =>
    `2026-12-03T09:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z INFO worker-${i % 7} request id=${10_000 + i} path=/api/items/${i % 311} status=200 took=${(i * 7) % 400}ms`,
)
  .join('\n')
  .slice(0, 200_000);

function echoVariant(server: () => ReturnType<typeof createSlowServer>, text: string): Variant<Connected> {
  return {
    setup: async () => {
      const connected = await connectInMemory(server());
      await connected.client.listTools();
      return connected;
    },
    run: async (c) => {
      await c.client.callTool({ name: 'echo', arguments: { text } });
    },
    teardown: (c) => c.close(),
  };
}

const BENCHMARK_TSCONFIG = fileURLToPath(new URL('../tsconfig.json', import.meta.url));

/** The stdio child of `connectStdio`, with `stack` on the client's side of the pipe. */
function stdioVariant(stack: (() => Middleware[]) | undefined, text: string): Variant<Connected> {
  return {
    setup: async () => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', SLOW_SERVER_SCRIPT, '--stack', 'none'],
        env: { ...getDefaultEnvironment(), TSX_TSCONFIG_PATH: BENCHMARK_TSCONFIG },
        stderr: 'inherit',
      });
      const client = new Client({ name: 'mcp-perf-bench', version: '1.0.0' });
      if (stack) withMiddleware(client, stack());
      await client.connect(transport);
      await client.listTools();
      return { client, close: () => client.close() };
    },
    run: async (c) => {
      const result = await c.client.callTool({ name: 'echo', arguments: { text } });
      if (stack && (result.content as unknown[]).length < 2) throw new Error('the 200 KB result was not cut');
    },
    teardown: (c) => c.close(),
  };
}

function corpus(): string[] {
  const root = fileURLToPath(new URL('../../tests/fixtures/tokens/', import.meta.url));
  const texts: string[] = [];
  for (const dir of readdirSync(root).sort()) {
    for (const name of readdirSync(join(root, dir)).sort())
      texts.push(readFileSync(join(root, dir, name), 'utf8'));
  }
  return texts;
}

/** Tokens per second of the approximate and the exact counter on the fixture corpus, alternating rounds. */
async function counters(): Promise<ExperimentResult> {
  const texts = corpus();
  const approximate = approximateTokenCounter();
  const exact = exactTokenCounter();
  exact.warm();
  let tokens = 0;
  for (const t of texts) tokens += exact.count(t);
  const rates: number[][] = [[], []];
  const all = [approximate, exact];
  for (let round = -1; round < 7; round++) {
    for (let v = 0; v < 2; v++) {
      const counter = all[round % 2 === 0 ? v : 1 - v]!;
      const started = performance.now();
      let passes = 0;
      do {
        for (const t of texts) counter.count(t);
        passes++;
      } while (performance.now() - started < 150);
      const seconds = (performance.now() - started) / 1000;
      if (round >= 0) rates[counter === approximate ? 0 : 1]!.push((passes * tokens) / seconds);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  exact.dispose();
  const [approximateRate, exactRate] = rates.map(median) as [number, number];
  return {
    figures: {
      approximateTokensPerSecond: Math.round(approximateRate),
      exactTokensPerSecond: Math.round(exactRate),
      speedup: approximateRate / exactRate,
    },
    details: { samples: texts.length, tokens },
  };
}

/** Token budget scenarios, keyed by the names budgets use. */
export const tokenBudgetScenarios: ScenarioSet = {
  'tokenBudget.no-cut-1kb.inmemory': {
    kind: 'compare',
    description: 'in-memory echo of 1 KB: one pass-through middleware vs tokenBudget() at its defaults',
    baseline: echoVariant(() => createFixtureServer('pass1'), ONE_KB),
    candidate: echoVariant(() => withMiddleware(createSlowServer(), [tokenBudget()]), ONE_KB),
    ...FINE_INTERLEAVE,
  },
  'tokenBudget.cut-200kb.stdio': {
    kind: 'compare',
    description:
      'stdio echo of 200 KB: bare SDK vs a client-side tokenBudget({ maxTokens: 10_000 }) cutting it',
    baseline: stdioVariant(undefined, TWO_HUNDRED_KB),
    candidate: stdioVariant(() => [tokenBudget({ maxTokens: 10_000 })], TWO_HUNDRED_KB),
    rounds: 12,
    timePerRoundMs: 300,
  },
  'tokenBudget.counters': {
    kind: 'experiment',
    description: 'approximate vs exact (tiktoken) token counting on the fixture corpus: tokens per second',
    figures: {
      approximateTokensPerSecond: 'the approximate counter: tokens per second',
      exactTokensPerSecond: 'the exact counter (tiktoken o200k_base, warmed): tokens per second',
      speedup: 'approximate over exact throughput',
    },
    run: counters,
  },
};
