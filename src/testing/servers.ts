import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { withMiddleware } from '../adapters/targets.js';
import type { Middleware } from '../core/types.js';

/** How often each tool really ran. */
export type Counts = Record<string, number>;

/** A deferred promise, for steering timing without sleeps. */
export interface Deferred<T = void> {
  /** Settles when `resolve` or `reject` is called. */
  promise: Promise<T>;
  /** Fulfils the promise. */
  resolve(value: T): void;
  /** Rejects the promise. */
  reject(error: unknown): void;
}

/** Creates a deferred promise. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Options of the counting server. */
export interface CountingServerOptions {
  /** Resolved before `gate` answers; lets a test hold a call in flight. */
  gate?: () => Promise<void>;
}

/**
 * An MCP server whose tools count their real executions: `echo`, `add`, `gate` (waits for
 * options.gate), `progress` (reports progress steps), `fail` (isError result), `read_only`
 * (annotated readOnlyHint), plus a static resource and a prompt.
 */
export function createCountingServer(options: CountingServerOptions = {}): CountingServer {
  const counts: Counts = {};
  const count = (name: string) => {
    counts[name] = (counts[name] ?? 0) + 1;
  };
  const server = new McpServer({ name: 'counting', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => {
    count('echo');
    return { content: [{ type: 'text', text }] };
  });
  server.registerTool('add', { inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => {
    count('add');
    return { content: [{ type: 'text', text: String(a + b) }] };
  });
  server.registerTool('gate', { inputSchema: { label: z.string().optional() } }, async ({ label }, extra) => {
    count('gate');
    await (options.gate?.() ?? Promise.resolve());
    if (extra.signal.aborted) count('gate:aborted');
    return { content: [{ type: 'text', text: `opened ${label ?? ''}` }] };
  });
  server.registerTool('progress', { inputSchema: { steps: z.number() } }, async ({ steps }, extra) => {
    count('progress');
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= steps; i++) {
      if (token !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: steps },
        });
      }
    }
    return { content: [{ type: 'text', text: `done ${steps}` }] };
  });
  server.registerTool('fail', { inputSchema: {} }, async () => {
    count('fail');
    return { content: [{ type: 'text', text: 'it failed' }], isError: true };
  });
  server.registerTool(
    'read_only',
    { inputSchema: { q: z.string() }, annotations: { readOnlyHint: true } },
    async ({ q }) => {
      count('read_only');
      return { content: [{ type: 'text', text: `found ${q}` }] };
    },
  );
  server.registerResource('readme', 'file:///readme.txt', { mimeType: 'text/plain' }, async (uri) => {
    count('resource:readme');
    return { contents: [{ uri: uri.href, text: 'hello' }] };
  });
  server.registerPrompt('greet', { argsSchema: { name: z.string() } }, async ({ name }) => {
    count('prompt:greet');
    return { messages: [{ role: 'user', content: { type: 'text', text: `Hello ${name}` } }] };
  });
  return { server, counts };
}

/** A counting server and its live tally. */
export interface CountingServer {
  /** The server (SDK v1 `McpServer`). */
  server: McpServer;
  /** How often each tool, resource and prompt really ran, by name. */
  counts: Counts;
}

/** A client and a server connected over an in-memory linked pair. */
export interface LinkedPair<S extends McpServer = McpServer> {
  /** The server. */
  server: S;
  /** The connected client. */
  client: Client;
  /** The server's tally of real executions. */
  counts: Counts;
  /** The client's end of the pair (wrapped when the client has a stack). */
  clientTransport: InMemoryTransport;
  /** The server's end of the pair. */
  serverTransport: InMemoryTransport;
  /** Closes the client, then the server. */
  close(): Promise<void>;
}

/** Stacks for either side of a pair. */
export interface PairStacks {
  /** Middleware on the server side. */
  server?: readonly Middleware[];
  /** Middleware on the client side. */
  client?: readonly Middleware[];
}

/**
 * Connects `server` to a new client over an in-memory linked pair, with optional stacks
 * on either side (installed with `withMiddleware`). `close()` closes both ends.
 */
export async function linkPair<S extends McpServer>(
  server: S,
  counts: Counts,
  stacks: PairStacks = {},
): Promise<LinkedPair<S>> {
  if (stacks.server) withMiddleware(server, stacks.server);
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  if (stacks.client) withMiddleware(client, stacks.client);
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

/**
 * A connected in-memory pair around a new {@link createCountingServer}, with optional
 * stacks on either side.
 *
 * @example
 * ```ts
 * const pair = await connectPair({ server: [cache({ tools: { include: ['echo'] } })] });
 * await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
 * await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
 * pair.counts.echo; // 1: the second answer came from the cache
 * await pair.close();
 * ```
 */
export async function connectPair(
  options: PairStacks & {
    /** Options of the counting server. */
    counting?: CountingServerOptions;
  } = {},
): Promise<LinkedPair> {
  const { server, counts } = createCountingServer(options.counting);
  return linkPair(server, counts, options);
}
