/**
 * Writing your own middleware: a timing log, a local answer, and a notification hook,
 * on an MCP server driven by a client over an in-memory pair.
 *
 * Run: npx tsx examples/custom-middleware.ts
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type Middleware, withMiddleware } from 'mcp-perf';
import { z } from 'zod';

// A request middleware is `(ctx, next) => Promise<Reply>`. Name the function: stack
// traces and error messages use the name.
const timing: Middleware = async function timing(ctx, next) {
  const reply = await next();
  const ms = performance.now() - ctx.startedAt;
  process.stderr.write(`${ctx.side} ${ctx.method} took ${ms.toFixed(2)} ms\n`);
  return reply;
};

// Answering without next() short-circuits: the server never sees the request.
const maintenance: Middleware = async function maintenance(ctx, next) {
  const params = ctx.params as { name?: string } | undefined;
  if (ctx.method === 'tools/call' && params?.name === 'deploy') {
    return { result: { content: [{ type: 'text', text: 'deploys are paused' }], isError: true } };
  }
  return next();
};

// The object form adds a notification hook: observe, replace (return a message) or
// drop (return null) notifications in either direction.
const quietLogs: Middleware = {
  name: 'quietLogs',
  notification(n) {
    if (n.from === 'handler' && n.message.method === 'notifications/message') return null;
    return undefined;
  },
};

const server = new McpServer({ name: 'example', version: '1.0.0' });
server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
  content: [{ type: 'text', text }],
}));
server.registerTool('deploy', { inputSchema: {} }, async () => ({
  content: [{ type: 'text', text: 'deployed' }],
}));

// First in the array = outermost: timing sees the request first and the reply last.
withMiddleware(server, [timing, maintenance, quietLogs]);

const client = new Client({ name: 'example-client', version: '1.0.0' });
const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
await server.connect(serverTransport);
await client.connect(clientTransport);

const echo = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
const deploy = await client.callTool({ name: 'deploy', arguments: {} });
process.stderr.write(`${JSON.stringify(echo.content)}\n${JSON.stringify(deploy.content)}\n`);
await client.close();
