/**
 * Tool filter costs.
 *
 * - `tool-filter.rank-1000`: the middleware alone answering `tools/list` for a 1,000-tool
 *   server (the 100-tool fixture ten times over, renamed) with a deny rule and a ranking
 *   query, the server's answer already there: milliseconds per `tools/list` once the
 *   connection's catalogue and index are built (median and mean), and the cold first
 *   request that builds them.
 * - `tool-filter.list-100.inmemory`: the in-memory `tools/list` round trip of the 100-tool
 *   fixture server, bare against filtered by a deny rule hiding one tool (so both sides
 *   carry nearly the same payload), with the caller's decisions memoized.
 * - `tool-filter.filter-cost`: that filtering alone, in µs per request over a pass-through.
 */

import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  type JsonObject,
  type JsonRpcRequest,
  type Reply,
  type RequestContext,
  TOOL_QUERY_META_KEY,
  toolFilter,
  withMiddleware,
} from 'mcp-perf';
import { TOOLS_100 } from '../../tests/fixtures/tools-100/tools.js';
import type { Variant } from '../harness/compare.js';
import { mean, median } from '../harness/stats.js';
import type { ExperimentResult, ScenarioSet } from '../harness/types.js';

/** The 100-tool fixture ten times over, each copy renamed (`read_file_3`), 1,000 tools. */
function thousandTools(): JsonObject[] {
  const out: JsonObject[] = [];
  for (let copy = 0; copy < 10; copy++) {
    for (const tool of TOOLS_100) {
      out.push({
        ...tool,
        name: `${tool.name}_${copy}`,
        description: `${tool.description} (region ${copy})`,
      });
    }
  }
  return out;
}

const QUERIES = [
  'schedule a meeting with the team',
  'refund a duplicate charge',
  'show recent commits',
  'upload to s3',
];
/** Measured `tools/list` requests after the cold one. */
const RANK_REQUESTS = 400;

/** A stand-in for the pipeline's connection: the filter only keys its state on it here. */
const CONNECTION = {
  side: 'server',
  closed: false,
  reportError() {},
  notify() {},
  request: () => Promise.reject(new Error('not expected: the first page is the whole list')),
} as unknown as RequestContext['connection'];
const SESSION = { clientInfo: { name: 'bench', version: '1' } } as unknown as RequestContext['session'];
const SIGNAL = new AbortController().signal;

function listContext(id: number, query: string): RequestContext {
  const message: JsonRpcRequest = {
    jsonrpc: '2.0',
    id,
    method: 'tools/list',
    params: { _meta: { [TOOL_QUERY_META_KEY]: query } },
  };
  return {
    id,
    method: 'tools/list',
    params: message.params,
    message,
    side: 'server',
    connection: CONNECTION,
    session: SESSION,
    control: false,
    authInfo: undefined,
    extra: undefined,
    progressToken: undefined,
    signal: SIGNAL,
    cancelled: false,
    state: {},
    startedAt: performance.now(),
    progress() {},
  };
}

async function rankThousand(): Promise<ExperimentResult> {
  const tools = thousandTools();
  const filter = toolFilter({
    rules: { deny: ['*_delete*', 'delete_*'] },
    topK: 10,
    pinned: ['read_file_0'],
  });
  const request = filter.request!;
  // Each request gets the server's answer as a fresh object, as it would off the wire.
  const next = () => Promise.resolve<Reply>({ result: { tools } });
  let started = performance.now();
  const cold = await request(listContext(0, QUERIES[0]!), next);
  const coldMs = performance.now() - started;
  const listed = Array.isArray(cold.result?.tools) ? cold.result.tools.length : 0;
  const times: number[] = [];
  for (let i = 1; i <= RANK_REQUESTS; i++) {
    started = performance.now();
    await request(listContext(i, QUERIES[i % QUERIES.length]!), next);
    times.push(performance.now() - started);
  }
  return {
    figures: { medianMs: median(times), meanMs: mean(times), coldMs, listed },
    details: { tools: tools.length, requests: RANK_REQUESTS, queries: QUERIES },
  };
}

/** Requests per timed block of {@link filterCost}. */
const COST_BLOCK = 5_000;
/** Timed blocks per variant (alternating), after one discarded block each. */
const COST_ROUNDS = 9;

function plainListContext(id: number): RequestContext {
  const ctx = listContext(id, '');
  return { ...ctx, params: {}, message: { ...ctx.message, params: {} } };
}

/**
 * What filtering a 100-tool `tools/list` costs once the caller's decisions are memoized:
 * the filter (a deny rule hiding one tool) against a pass-through, each awaited in a loop
 * with the server's answer already there, in alternating blocks.
 */
async function filterCost(): Promise<ExperimentResult> {
  const tools = TOOLS_100 as unknown as JsonObject[];
  const next = () => Promise.resolve<Reply>({ result: { tools } });
  const filter = toolFilter({ rules: { deny: ['delete_file'] } }).request!;
  const pass = async (_ctx: RequestContext, n: () => Promise<Reply>) => n();
  const variants = [pass, filter];
  const times: number[][] = [[], []];
  for (let round = -1; round < COST_ROUNDS; round++) {
    for (let v = 0; v < 2; v++) {
      const index = round % 2 === 0 ? v : 1 - v;
      const started = performance.now();
      for (let i = 0; i < COST_BLOCK; i++) await variants[index]!(plainListContext(i), next);
      if (round >= 0) times[index]!.push(((performance.now() - started) * 1e3) / COST_BLOCK);
    }
  }
  const [passUs, filterUs] = times.map(median);
  return {
    figures: { filterUs: filterUs! - passUs!, passThroughUs: passUs! },
    details: { tools: tools.length, block: COST_BLOCK, rounds: COST_ROUNDS },
  };
}

interface Listed {
  client: Client;
  close(): Promise<void>;
}

/** The 100-tool fixture on a low-level v1 server, listed in one page. */
function listVariant(filtered: boolean): Variant<Listed> {
  return {
    setup: async () => {
      const server = new Server({ name: 'tools-100', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS_100 as never }));
      if (filtered) withMiddleware(server, [toolFilter({ rules: { deny: ['delete_file'] } })]);
      const client = new Client({ name: 'bench', version: '1.0.0' });
      const [a, b] = InMemoryTransport.createLinkedPair();
      await server.connect(b);
      await client.connect(a);
      await client.listTools();
      return {
        client,
        close: async () => {
          await client.close();
          await server.close();
        },
      };
    },
    run: async (c) => {
      await c.client.listTools();
    },
    teardown: (c) => c.close(),
  };
}

/** Tool filter scenarios, keyed by the names budgets use. */
export const toolFilterScenarios: ScenarioSet = {
  'tool-filter.rank-1000': {
    kind: 'experiment',
    description:
      'toolFilter alone answering tools/list of a 1,000-tool server with a deny rule and a ranking query (top 10 + 1 pinned)',
    figures: {
      medianMs: 'ms per tools/list once the catalogue and index are built, median',
      meanMs: 'ms per tools/list once the catalogue and index are built, mean',
      coldMs: 'ms of the first tools/list, which builds the BM25 index',
      listed: 'tools in the answer',
    },
    run: rankThousand,
  },
  'tool-filter.list-100.inmemory': {
    kind: 'compare',
    description: 'in-memory tools/list of the 100-tool fixture: bare SDK vs toolFilter hiding one tool',
    baseline: listVariant(false),
    candidate: listVariant(true),
    // A 100-tool list takes ~20x an echo round trip: 15 ms blocks hold ~50 of them, and
    // 150 interleaved rounds keep the run near 5 s (it was 200 rounds of 20 ms, 8 s).
    rounds: 150,
    warmupRounds: 10,
    timePerRoundMs: 15,
    gc: false,
  },
  'tool-filter.filter-cost': {
    kind: 'experiment',
    description:
      'toolFilter alone filtering a 100-tool tools/list (one tool hidden, decisions memoized) vs a pass-through',
    figures: {
      filterUs: 'µs per tools/list more than a pass-through middleware',
      passThroughUs: 'the pass-through itself, awaited: µs per request',
    },
    run: filterCost,
  },
};
