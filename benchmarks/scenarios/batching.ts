/**
 * Batching: fewer, larger requests.
 *
 * - `batching.requests-64.http`: 64 concurrent `tools/call`s of `echo` over Streamable HTTP
 *   (one session): bare SDK on both ends (64 POSTs) vs `batching()` on both ends (the
 *   first call goes at once, the other 63 follow as one batch request: two POSTs). One
 *   operation is the 64 calls.
 * - `batching.loader-64.inmemory`: 64 concurrent callers of a `lookup` tool backed by an
 *   upstream that costs 2 ms per query plus 0.05 ms per item (busy CPU, as a saturated
 *   backend is): one query per call vs a batch handler that makes one query for the batch.
 *   One operation is the 64 calls.
 * - `batching.lone.http`: one call at a time over Streamable HTTP: bare SDK vs
 *   `batching()` on both ends with `maxWaitMs: 0` (negotiated, but a lone request goes out
 *   at once, plain). Its latency must stay within 5%.
 * - `batching.lone.inmemory`: the same in memory, where nothing hides a cost of the
 *   batching path: `batching()` on both ends with request batching off (`requests: false`)
 *   vs negotiated with `maxWaitMs: 0`. Any hop, allocation or check a lone request pays
 *   for batching shows here.
 * - `batching.coalesce-64.stdio`: 64 concurrent `tools/call`s of `echo` to a child process
 *   over stdio, both ends without write coalescing vs both with it (the server's
 *   `StdioServerTransport` on `coalesceWrites(process.stdout)`, the client a
 *   `CodecClientTransport` with `codec: false`, which speaks the SDK's stdio, and
 *   `coalesceWrites` off or on). One operation is the 64 calls.
 * - `batching.coalesce-lone.stdio`: the same pair, one call at a time: what coalescing
 *   costs a request that has nothing to share its write with.
 * - `batching.coalesce-64-cpu.stdio`: the bursts of `batching.coalesce-64.stdio` in
 *   alternating blocks, measuring the client process's CPU time per burst (user + system),
 *   which the box's load moves far less than wall time: fewer writes and fewer reads.
 */

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type BatchingMiddleware, batching, type JsonObject, withMiddleware } from 'mcp-perf';
import { CodecClientTransport } from 'mcp-perf/codec';
import { z } from 'zod';
import {
  burn,
  type Connected,
  childEnvironment,
  connectInMemory,
  createSlowServer,
  type HostedHttp,
  SLOW_SERVER_SCRIPT,
  serveHttp,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import {
  type ExperimentResult,
  FINE_INTERLEAVE,
  type ScenarioSet,
  STDIO_INTERLEAVE,
} from '../harness/types.js';

/** Concurrent callers of the burst scenarios. */
export const BATCH_CALLERS = 64;
/** The upstream's fixed cost per query, in ms. */
const QUERY_FIXED_MS = 2;
/** The upstream's cost per item of a query, in ms. */
const QUERY_ITEM_MS = 0.05;

type HttpConnected = Connected & { hosted: HostedHttp };

async function connectHttpPair(withBatching: boolean): Promise<HttpConnected> {
  // One server-side instance for every session, as in production.
  const server: BatchingMiddleware | undefined = withBatching ? batching() : undefined;
  const hosted = await serveHttp(() => {
    const mcp = createSlowServer();
    return server ? withMiddleware(mcp, [server]) : mcp;
  });
  const client = new Client({ name: 'mcp-perf-bench', version: '1.0.0' });
  if (withBatching) withMiddleware(client, [batching({ requests: { maxWaitMs: 0 } })]);
  await client.connect(new StreamableHTTPClientTransport(new URL(hosted.url)));
  return {
    client,
    hosted,
    close: async () => {
      await client.close();
      await hosted.close();
    },
  };
}

/**
 * An in-memory pair with `batching()` on both ends: request batching negotiated (maxWaitMs 0)
 * when `negotiated`, or `requests: false` on both ends (the same stack, never batching).
 */
function inMemoryLone(negotiated: boolean): Variant<Connected> {
  const options = negotiated ? { requests: { maxWaitMs: 0 } } : { requests: false };
  return {
    setup: () =>
      connectInMemory(withMiddleware(createSlowServer(), [batching(options)]), [batching(options)]),
    run: (c) => lone(c.client),
    teardown: (c) => c.close(),
  };
}

async function burst(client: Client): Promise<void> {
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < BATCH_CALLERS; i++)
    calls.push(client.callTool({ name: 'echo', arguments: { text: `m${i}` } }));
  await Promise.all(calls);
}

async function lone(client: Client): Promise<void> {
  await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
}

/** `run` over Streamable HTTP, the client with request batching or without. */
function httpVariant(withBatching: boolean, run: (client: Client) => Promise<void>): Variant<HttpConnected> {
  return {
    setup: () => connectHttpPair(withBatching),
    run: (c) => run(c.client),
    teardown: (c) => c.close(),
  };
}

/** A client to the fixture server over stdio, with write coalescing on both ends or on neither. */
async function connectStdioCoalescing(coalesce: boolean): Promise<Connected> {
  const transport = new CodecClientTransport(
    {
      command: process.execPath,
      args: ['--import', 'tsx', SLOW_SERVER_SCRIPT, ...(coalesce ? ['--coalesce'] : [])],
      env: childEnvironment(),
      stderr: 'inherit',
    },
    { codec: false, coalesceWrites: coalesce },
  );
  const client = new Client({ name: 'mcp-perf-bench', version: '1.0.0' });
  await client.connect(transport);
  return { client, close: () => client.close() };
}

function stdioCoalescing(coalesce: boolean, calls: number): Variant<Connected> {
  return {
    setup: () => connectStdioCoalescing(coalesce),
    run: calls === 1 ? (c) => lone(c.client) : (c) => burst(c.client),
    teardown: (c) => c.close(),
  };
}

/** Blocks of bursts per side in `batching.coalesce-64-cpu.stdio`, after {@link CPU_WARMUP_BLOCKS}. */
const CPU_BLOCKS = 16;
const CPU_WARMUP_BLOCKS = 4;
const CPU_BURSTS_PER_BLOCK = 20;

/** Client CPU time and wall time per burst of 64 calls, coalescing off and on, in alternating blocks. */
async function coalescingCpu(): Promise<ExperimentResult> {
  const sides = [await connectStdioCoalescing(false), await connectStdioCoalescing(true)];
  const cpuMs = [0, 0];
  const wallMs = [0, 0];
  try {
    for (let b = 0; b < CPU_WARMUP_BLOCKS + CPU_BLOCKS; b++) {
      for (const i of b % 2 === 0 ? [0, 1] : [1, 0]) {
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        for (let n = 0; n < CPU_BURSTS_PER_BLOCK; n++) await burst((sides[i] as Connected).client);
        if (b < CPU_WARMUP_BLOCKS) continue;
        wallMs[i] = (wallMs[i] as number) + performance.now() - t0;
        const used = process.cpuUsage(cpu);
        cpuMs[i] = (cpuMs[i] as number) + (used.user + used.system) / 1000;
      }
    }
  } finally {
    for (const side of sides) await side.close();
  }
  const bursts = CPU_BLOCKS * CPU_BURSTS_PER_BLOCK;
  const [cpuOff, cpuOn] = cpuMs.map((ms) => ms / bursts) as [number, number];
  const [wallOff, wallOn] = wallMs.map((ms) => ms / bursts) as [number, number];
  return {
    figures: {
      clientCpuMsOff: cpuOff,
      clientCpuMsOn: cpuOn,
      clientCpuRatio: cpuOn / cpuOff,
      throughputRatio: wallOff / wallOn,
    },
    details: {
      blocks: CPU_BLOCKS,
      warmupBlocks: CPU_WARMUP_BLOCKS,
      burstsPerBlock: CPU_BURSTS_PER_BLOCK,
      calls: BATCH_CALLERS,
    },
  };
}

/** The upstream query: a fixed cost plus a cost per item, spent on the CPU. */
function query(ids: readonly unknown[]): JsonObject[] {
  burn(QUERY_FIXED_MS + QUERY_ITEM_MS * ids.length);
  return ids.map((id) => ({ content: [{ type: 'text', text: `user ${String(id)}` }] }));
}

function loader(withBatching: boolean): Variant<Connected> {
  return {
    setup: () => {
      const server = createSlowServer();
      server.registerTool(
        'lookup',
        { inputSchema: { id: z.number() } },
        async ({ id }) => query([id])[0] as never,
      );
      if (withBatching) {
        withMiddleware(server, [
          batching({
            tools: {
              lookup: { maxBatchSize: BATCH_CALLERS, run: (argsList) => query(argsList.map((a) => a.id)) },
            },
          }),
        ]);
      }
      return connectInMemory(server);
    },
    run: async (c) => {
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < BATCH_CALLERS; i++)
        calls.push(c.client.callTool({ name: 'lookup', arguments: { id: i } }));
      await Promise.all(calls);
    },
    teardown: (c) => c.close(),
  };
}

/** Batching scenarios, keyed by the names budgets use. */
export const batchingScenarios: ScenarioSet = {
  'batching.requests-64.http': {
    kind: 'compare',
    description: `${BATCH_CALLERS} concurrent tools/call over Streamable HTTP: bare SDK (one POST each) vs batching() on both ends (the first call, then one POST for the rest)`,
    baseline: httpVariant(false, burst),
    candidate: httpVariant(true, burst),
    rounds: 8,
    warmupRounds: 2,
    timePerRoundMs: 250,
    statistic: 'mean',
  },
  'batching.loader-64.inmemory': {
    kind: 'compare',
    description: `${BATCH_CALLERS} concurrent callers of a tool whose upstream costs ${QUERY_FIXED_MS} ms + ${QUERY_ITEM_MS} ms per item: a query per call vs one batch handler query`,
    baseline: loader(false),
    candidate: loader(true),
    rounds: 6,
    warmupRounds: 1,
    timePerRoundMs: 250,
    statistic: 'mean',
  },
  'batching.lone.http': {
    kind: 'compare',
    description:
      'one tools/call at a time over Streamable HTTP: bare SDK vs batching() on both ends, maxWaitMs 0',
    baseline: httpVariant(false, lone),
    candidate: httpVariant(true, lone),
    rounds: 60,
    warmupRounds: 5,
    timePerRoundMs: 40,
    gc: false,
  },
  'batching.lone.inmemory': {
    kind: 'compare',
    description:
      'one tools/call at a time in memory: batching() on both ends with request batching off vs negotiated, maxWaitMs 0',
    baseline: inMemoryLone(false),
    candidate: inMemoryLone(true),
    ...FINE_INTERLEAVE,
  },
  'batching.coalesce-64.stdio': {
    kind: 'compare',
    description: `${BATCH_CALLERS} concurrent tools/call to a stdio child process: no write coalescing vs coalesceWrites on both ends`,
    baseline: stdioCoalescing(false, BATCH_CALLERS),
    candidate: stdioCoalescing(true, BATCH_CALLERS),
    rounds: 60,
    warmupRounds: 5,
    timePerRoundMs: 80,
    gc: false,
  },
  'batching.coalesce-64-cpu.stdio': {
    kind: 'experiment',
    description: `client CPU time per burst of ${BATCH_CALLERS} concurrent tools/call to a stdio child process, write coalescing on both ends vs neither`,
    figures: {
      clientCpuMsOff: 'client CPU time (user + system) per burst without coalescing, in ms',
      clientCpuMsOn: 'the same with coalesceWrites on both ends, in ms',
      clientCpuRatio: 'clientCpuMsOn / clientCpuMsOff',
      throughputRatio: 'bursts per second with coalescing / without, over the same blocks',
    },
    run: coalescingCpu,
  },
  'batching.coalesce-lone.stdio': {
    kind: 'compare',
    description:
      'one tools/call at a time to a stdio child process: no write coalescing vs coalesceWrites on both ends',
    baseline: stdioCoalescing(false, 1),
    candidate: stdioCoalescing(true, 1),
    ...STDIO_INTERLEAVE,
  },
};
