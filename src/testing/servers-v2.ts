import { Client, type ClientOptions } from '@modelcontextprotocol/client';
import {
  InMemoryTransport,
  McpServer,
  type ServerOptions,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { withMiddleware } from '../adapters/targets.js';
import type { Middleware } from '../core/types.js';
import type { CountingServerOptions, Counts } from './servers.js';

/**
 * The SDK v2 twin of `createCountingServer()`: an `McpServer` from
 * `@modelcontextprotocol/server` whose tools count their real executions: `echo`, `add`,
 * `gate` (waits for options.gate), `progress` (reports progress steps), `fail` (isError
 * result), `read_only` (annotated readOnlyHint), plus a static resource and a prompt.
 * Pass `options.counts` to share one tally between several instances (one per connection).
 */
export function createCountingServerV2(
  options: CountingServerOptions & { serverOptions?: ServerOptions; counts?: Counts } = {},
): {
  server: McpServer;
  counts: Counts;
} {
  const counts: Counts = options.counts ?? {};
  const count = (name: string) => {
    counts[name] = (counts[name] ?? 0) + 1;
  };
  const server = new McpServer(
    { name: 'counting-v2', version: '2.0.0' },
    {
      capabilities: { logging: {} },
      ...options.serverOptions,
    },
  );
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => {
    count('echo');
    return { content: [{ type: 'text', text }] };
  });
  server.registerTool(
    'add',
    { inputSchema: z.object({ a: z.number(), b: z.number() }) },
    async ({ a, b }) => {
      count('add');
      return { content: [{ type: 'text', text: String(a + b) }] };
    },
  );
  server.registerTool(
    'gate',
    { inputSchema: z.object({ label: z.string().optional() }) },
    async ({ label }, ctx) => {
      count('gate');
      await (options.gate?.() ?? Promise.resolve());
      if (ctx.mcpReq.signal.aborted) count('gate:aborted');
      return { content: [{ type: 'text', text: `opened ${label ?? ''}` }] };
    },
  );
  server.registerTool(
    'progress',
    { inputSchema: z.object({ steps: z.number() }) },
    async ({ steps }, ctx) => {
      count('progress');
      const token = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: steps },
          });
        }
      }
      return { content: [{ type: 'text', text: `done ${steps}` }] };
    },
  );
  server.registerTool('fail', { inputSchema: z.object({}) }, async () => {
    count('fail');
    return { content: [{ type: 'text', text: 'it failed' }], isError: true };
  });
  server.registerTool(
    'read_only',
    { inputSchema: z.object({ q: z.string() }), annotations: { readOnlyHint: true } },
    async ({ q }) => {
      count('read_only');
      return { content: [{ type: 'text', text: `found ${q}` }] };
    },
  );
  server.registerResource('readme', 'file:///readme.txt', { mimeType: 'text/plain' }, async (uri) => {
    count('resource:readme');
    return { contents: [{ uri: uri.href, text: 'hello' }] };
  });
  server.registerPrompt('greet', { argsSchema: z.object({ name: z.string() }) }, async ({ name }) => {
    count('prompt:greet');
    return { messages: [{ role: 'user', content: { type: 'text', text: `Hello ${name}` } }] };
  });
  return { server, counts };
}

/** The protocol versions to offer for a modern-era (2026-07-28) connection, legacy ones as fallback. */
export const MODERN_AND_LEGACY_VERSIONS: string[] = ['2026-07-28', ...SUPPORTED_PROTOCOL_VERSIONS];

/** A connected SDK v2 in-memory pair, with optional stacks on either side. */
export async function connectPairV2(
  options: {
    server?: readonly Middleware[];
    client?: readonly Middleware[];
    counting?: CountingServerOptions;
    clientOptions?: ClientOptions;
    serverOptions?: ServerOptions;
  } = {},
) {
  const { server, counts } = createCountingServerV2({
    ...options.counting,
    serverOptions: options.serverOptions,
  });
  if (options.server) withMiddleware(server, options.server);
  const client = new Client({ name: 'test-client-v2', version: '2.0.0' }, options.clientOptions);
  if (options.client) withMiddleware(client, options.client);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  await client.connect(clientTransport);
  return {
    server,
    client,
    counts,
    clientTransport,
    serverTransport,
    async close() {
      await client.close();
      await server.close();
    },
  };
}
