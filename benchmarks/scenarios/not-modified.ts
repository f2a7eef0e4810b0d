/**
 * Conditional ("not modified") revalidation over Streamable HTTP on 127.0.0.1: a client
 * cache whose entry for a ~100 KB tool result has expired asks again, either plainly (the
 * full answer comes back) or with `conditional: true` against a server running
 * `notModified()` (a few bytes come back and the client restores its copy). Both sides run
 * in this process, so the time ratio counts the server's hashing as well as the bytes
 * neither side has to write, read and parse.
 */

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { cache, notModified, withMiddleware } from 'mcp-perf';
import { recordsResult } from '../fixtures/payloads.js';
import { type HostedHttp, serveHttp } from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import type { ExperimentResult, ScenarioSet } from '../harness/types.js';

const RESULT = recordsResult();
const TTL_MS = 1_000;

function payloadServer(): McpServer {
  const server = new McpServer({ name: 'not-modified-bench', version: '1.0.0' });
  server.registerTool('payload', { description: 'Answers a ~100 KB records result.' }, async () => RESULT);
  withMiddleware(server, [notModified()]);
  return server;
}

interface Revalidating {
  client: Client;
  hosted: HostedHttp;
  /** Moves the client cache's clock past the entry's TTL. */
  expire(): void;
  /** Response body bytes read so far (counted only when `counting`). */
  bytes: number;
}

async function connect(conditional: boolean, counting = false): Promise<Revalidating> {
  const hosted = await serveHttp(payloadServer);
  let now = Date.now();
  const client = new Client({ name: 'not-modified-bench', version: '1.0.0' });
  withMiddleware(client, [
    cache({ conditional, clock: () => now, tools: { include: ['payload'], ttlMs: TTL_MS } }),
  ]);
  const ctx: Revalidating = {
    client,
    hosted,
    expire: () => {
      now += 2 * TTL_MS;
    },
    bytes: 0,
  };
  const measuring = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(url, init);
    if (init?.method === 'POST') ctx.bytes += (await response.clone().arrayBuffer()).byteLength;
    return response;
  };
  await client.connect(
    new StreamableHTTPClientTransport(
      new URL(hosted.url),
      counting ? { fetch: measuring as typeof fetch } : {},
    ),
  );
  return ctx;
}

const call = (c: Revalidating) => c.client.callTool({ name: 'payload', arguments: {} });

function revalidation(conditional: boolean): Variant<Revalidating> {
  return {
    setup: async () => {
      const c = await connect(conditional);
      await call(c);
      return c;
    },
    run: async (c) => {
      c.expire();
      await call(c);
    },
    teardown: async (c) => {
      await c.client.close();
      await c.hosted.close();
    },
  };
}

/** Response bytes of one revalidation, plain and conditional. */
async function revalidationBytes(): Promise<ExperimentResult> {
  const figures: Record<string, number> = {};
  for (const conditional of [false, true]) {
    const c = await connect(conditional, true);
    try {
      await call(c);
      c.expire();
      const before = c.bytes;
      await call(c);
      figures[conditional ? 'notModifiedBytes' : 'fullBytes'] = c.bytes - before;
    } finally {
      await c.client.close();
      await c.hosted.close();
    }
  }
  figures.bytesSaved = 1 - (figures.notModifiedBytes as number) / (figures.fullBytes as number);
  return { figures };
}

/** Not-modified scenarios, keyed by the names budgets use. */
export const notModifiedScenarios: ScenarioSet = {
  'compression.not-modified.http': {
    kind: 'compare',
    description:
      'Streamable HTTP, an expired client cache entry of a ~100 KB tool result revalidated: full answer vs conditional "not modified"',
    baseline: revalidation(false),
    candidate: revalidation(true),
    rounds: 8,
    timePerRoundMs: 250,
  },
  'compression.not-modified.bytes': {
    kind: 'experiment',
    description:
      'response bytes of one revalidation of a ~100 KB tool result over Streamable HTTP, full vs not modified',
    figures: {
      fullBytes: 'bytes of the HTTP response body answering a plain revalidation (the full result)',
      notModifiedBytes: 'bytes of the HTTP response body answering a conditional revalidation',
      bytesSaved: 'fraction of the response bytes a not-modified answer saves',
    },
    run: revalidationBytes,
  },
};
