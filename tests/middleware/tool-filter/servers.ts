import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  ListToolsResultSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { type Middleware, withMiddleware } from '../../../src/index.js';
import { type FixtureTool, TOOLS_100 } from '../../fixtures/tools-100/tools.js';

/** A server over a fixed catalogue, with the counts of its real executions. */
export interface CatalogueServer {
  server: Server;
  /** Calls that reached a tool, by name. */
  calls: Record<string, number>;
  /** `tools/list` pages served. */
  pages: { count: number };
  /** Replaces the catalogue and tells the client (`notifications/tools/list_changed`). */
  replaceTools(tools: readonly FixtureTool[]): Promise<void>;
}

/**
 * A low-level SDK v1 server listing `tools` (default: the 100-tool fixture) in pages of
 * `pageSize` (cursor = offset), answering every call with the tool's name, and an unknown
 * tool the way the specification says (`-32602`).
 */
export function catalogueServer(
  options: { tools?: readonly FixtureTool[]; pageSize?: number } = {},
): CatalogueServer {
  let tools = options.tools ?? TOOLS_100;
  const pageSize = options.pageSize ?? Number.POSITIVE_INFINITY;
  const calls: Record<string, number> = {};
  const pages = { count: 0 };
  const server = new Server(
    { name: 'catalogue', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true } } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    pages.count++;
    const offset = request.params?.cursor === undefined ? 0 : Number(request.params.cursor);
    const end = Math.min(tools.length, offset + pageSize);
    const page = tools.slice(offset, end);
    return end < tools.length ? { tools: page, nextCursor: String(end) } : { tools: page };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const name = request.params.name;
    if (!tools.some((t) => t.name === name)) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
    calls[name] = (calls[name] ?? 0) + 1;
    return { content: [{ type: 'text', text: `ran ${name}` }] };
  });
  return {
    server,
    calls,
    pages,
    async replaceTools(next) {
      tools = next;
      await server.sendToolListChanged();
    },
  };
}

/** A v1 client connected in memory to `server`, with optional stacks on either side. */
export async function connectCatalogue(
  server: Server,
  stacks: { server?: Middleware[]; client?: Middleware[]; clientName?: string } = {},
) {
  if (stacks.server) withMiddleware(server, stacks.server);
  const client = new Client({ name: stacks.clientName ?? 'catalogue-client', version: '1.0.0' });
  if (stacks.client) withMiddleware(client, stacks.client);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  await client.connect(a);
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** Every page of `tools/list`, as the client walks them: the names on each page. */
export async function walkPages(client: Client, meta?: Record<string, unknown>): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const params: Record<string, unknown> = {};
    if (cursor !== undefined) params.cursor = cursor;
    if (meta !== undefined) params._meta = meta;
    const page = await client.request({ method: 'tools/list', params }, ListToolsResultSchema);
    pages.push(page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

/** The names of the fixture tools that satisfy `keep`, in the fixture's order. */
export function namesWhere(keep: (tool: FixtureTool) => boolean, tools = TOOLS_100): string[] {
  return tools.filter(keep).map((t) => t.name);
}
