/**
 * The server the README's examples wrap: an SDK v1 `McpServer` with one tool. Each
 * example beside this file is one README section, type-checked with the rest
 * (`tsc -p .`); a test checks that every TypeScript block of the README appears verbatim
 * in one of them.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/** A fresh server with an `echo` tool. */
export function exampleServer(): McpServer {
  const server = new McpServer({ name: 'example', version: '1.0.0' });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}
