#!/usr/bin/env node
/**
 * A small MCP server to benchmark: `search` (Zipf-popular queries, a few hundred bytes
 * of text), `echo`, a `doc://` resource template and a prompt. Run it directly for
 * stdio (`node server.mjs`), or load its `createServer` factory with
 * `mcp-perf bench --module server.mjs`.
 */
import { pathToFileURL } from 'node:url';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

/** Milliseconds each search takes, to stand in for real work. */
const WORK_MS = Number(process.env.SEARCH_WORK_MS ?? 1);

function work(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Busy: a stand-in for parsing, ranking, formatting.
  }
}

export function createServer() {
  const server = new McpServer({ name: 'example-search', version: '1.0.0' });
  server.registerTool('search', { inputSchema: { q: z.string() } }, async ({ q }) => {
    work(WORK_MS);
    const hits = Array.from({ length: 5 }, (_, i) => `${i + 1}. ${q}: result ${i + 1} of the catalogue`);
    return { content: [{ type: 'text', text: hits.join('\n') }] };
  });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.registerResource(
    'doc',
    new ResourceTemplate('doc://{id}', { list: undefined }),
    { mimeType: 'text/plain' },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, text: `document ${id}` }] }),
  );
  server.registerPrompt('summarize', { argsSchema: { topic: z.string() } }, async ({ topic }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${topic}` } }],
  }));
  return server;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createServer().connect(new StdioServerTransport());
}
