/**
 * A stdio proxy in front of any MCP server (written in any language): the client
 * starts this script instead of the server, and every request runs through the stack.
 *
 * Run: npx tsx examples/proxy.ts -- node path/to/server.js
 */
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createProxy, type Middleware } from 'mcp-perf';

const separator = process.argv.indexOf('--');
const [command, ...args] = separator === -1 ? [] : process.argv.slice(separator + 1);
if (!command) {
  process.stderr.write('usage: tsx examples/proxy.ts -- <server command> [args…]\n');
  process.exit(2);
}

// Never write to stdout in a stdio server: it is the protocol stream. Logs go to stderr.
const log: Middleware = async function log(ctx, next) {
  const reply = await next();
  process.stderr.write(`${ctx.method} ${reply.error ? `error ${reply.error.code}` : 'ok'}\n`);
  return reply;
};

const proxy = createProxy({
  downstream: new StdioServerTransport(),
  upstream: new StdioClientTransport({ command, args }),
  stack: [log],
  onerror: (error) => process.stderr.write(`proxy: ${error.message}\n`),
  onclose: () => process.exit(0),
});
await proxy.start();
