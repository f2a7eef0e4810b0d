/**
 * A Streamable HTTP MCP server (SDK v1, stateless) with the metrics middleware and a
 * Prometheus `/metrics` endpoint. Run: `npx tsx examples/metrics-http.ts`, then point an
 * MCP client at the printed `/mcp` URL and `curl` the `/metrics` one.
 */

import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { metrics, withMetrics } from 'mcp-perf';
import { prometheusExporter } from 'mcp-perf/prometheus';
import { Registry } from 'prom-client';
import { z } from 'zod';

// One middleware for every per-request server, so the figures add up across requests.
const recorder = metrics({ tokens: 'approximate' });
const registry = new Registry();
prometheusExporter(recorder, { registry });

function buildServer(): McpServer {
  const server = new McpServer({ name: 'metrics-example', version: '1.0.0' });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  withMetrics(server, recorder);
  return server;
}

const http = createServer(async (req, res) => {
  if (req.url === '/metrics') {
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
    return;
  }
  if (req.url !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stderr.write(
    `MCP on http://127.0.0.1:${port}/mcp, Prometheus on http://127.0.0.1:${port}/metrics\n`,
  );
});
