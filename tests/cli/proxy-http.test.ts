import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { textOf } from '../helpers/stacks.js';
import { type CliProcess, gone, runCli, startCli, tempDir, writeConfig } from './helpers.js';

const TOKEN = 'test-token-1234';

/** A Streamable HTTP server (stateful) whose `echo` tool counts its real executions. */
async function upstreamServer() {
  const counts = { echo: 0 };
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http: Server = createServer(async (req, res) => {
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? transports.get(id) : undefined;
    if (transport === undefined) {
      const server = new McpServer({ name: 'http-upstream', version: '1.0.0' });
      server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => {
        counts.echo++;
        return { content: [{ type: 'text', text }] };
      });
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (sid) => void transports.set(sid, created),
      });
      transport = created;
      await server.connect(transport);
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    counts,
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: () => {
      http.closeAllConnections();
      return new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

describe('mcp-perf proxy --upstream <url> --listen', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let upstream: Awaited<ReturnType<typeof upstreamServer>>;
  let cli: CliProcess;
  let base: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    upstream = await upstreamServer();
    const config = await writeConfig(
      dir,
      'middleware:\n  - metrics: {}\n  - cache: { tools: { include: [echo] } }\n',
    );
    cli = startCli([
      'proxy',
      '-c',
      config,
      '--upstream',
      upstream.url,
      '--listen',
      '127.0.0.1:0',
      '--token',
      TOKEN,
    ]);
    base = (await cli.waitForStderr(/listening on (http:\/\/127\.0\.0\.1:\d+)\/mcp/))[1]!;
  });
  after(async () => {
    cli.process.kill('SIGTERM');
    assert.equal((await cli.exited).code, 0);
    await upstream.close();
    await cleanup();
  });

  it('serves MCP over Streamable HTTP through the stack to an HTTP upstream, with bearer auth', async () => {
    const refused = await fetch(`${base}/mcp`, { method: 'POST' });
    assert.equal(refused.status, 401);
    const client = new Client({ name: 'http-host', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      }),
    );
    try {
      assert.equal(client.getServerVersion()?.name, 'http-upstream');
      for (let i = 0; i < 3; i++)
        assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'x' } })), 'x');
      assert.equal(upstream.counts.echo, 1, 'repeats answered by the proxy cache');
    } finally {
      await client.close();
    }
  });

  it('exposes /metrics as Prometheus text and /stats as JSON, and `stats` prints them', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const metrics = await fetch(`${base}/metrics`, { headers: auth });
    assert.equal(metrics.status, 200);
    assert.match(
      await metrics.text(),
      /mcp_server_operation_duration_seconds_count\{[^}]*gen_ai_tool_name="echo"/,
    );
    const stats = (await (await fetch(`${base}/stats`, { headers: auth })).json()) as {
      stack: string[];
      middleware: Record<string, { hits?: number }>;
    };
    assert.deepEqual(stats.stack, ['metrics', 'cache']);
    assert.equal(stats.middleware['1:cache']?.hits, 2);
    const printed = await runCli(['stats', base, '--token', TOKEN]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /stack: metrics → cache/);
    assert.match(printed.stdout, /tools\/call echo\s+3/);
  });
});

describe('mcp-perf proxy --listen with a child per session', () => {
  it('spawns a child for a session and stops it when the proxy stops', async () => {
    const cli = startCli([
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--',
      process.execPath,
      '--import',
      'tsx',
      new URL('../integration/fixtures/stdio-server-v1.ts', import.meta.url).pathname,
    ]);
    const base = (await cli.waitForStderr(/listening on (http:\/\/127\.0\.0\.1:\d+)\/mcp/))[1]!;
    const client = new Client({ name: 'http-host', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'child' } })), 'child');
    assert.equal((await fetch(`${base}/metrics`)).status, 404, 'no metrics entry, no /metrics');
    const stats = (await (await fetch(`${base}/stats`)).json()) as { metrics: unknown };
    assert.equal(stats.metrics, null);
    const pid = cli.process.pid!;
    cli.process.kill('SIGTERM');
    assert.equal((await cli.exited).code, 0);
    assert.ok(await gone(pid));
    await client.close().catch(() => {});
  });
});

describe('mcp-perf proxy --listen, stateless from the config', () => {
  it('serves each POST on its own through one upstream session, and --stateless needs --listen', async () => {
    const { dir, cleanup } = await tempDir();
    const upstream = await upstreamServer();
    const config = await writeConfig(
      dir,
      'listen: { stateless: true }\nmiddleware:\n  - cache: { tools: { include: [echo] } }\n',
    );
    const cli = startCli(['proxy', '-c', config, '--upstream', upstream.url, '--listen', '127.0.0.1:0']);
    const misuse = startCli(['proxy', '--stateless', '--upstream', upstream.url]);
    try {
      const base = (await cli.waitForStderr(/listening on (http:\/\/127\.0\.0\.1:\d+)\/mcp/))[1]!;
      for (const name of ['first', 'second']) {
        const client = new Client({ name, version: '1.0.0' });
        const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`));
        await client.connect(transport);
        assert.equal(transport.sessionId, undefined);
        assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'y' } })), 'y');
        await client.close();
      }
      assert.equal(upstream.counts.echo, 1, 'the second client was answered by the shared cache');
      assert.equal((await misuse.exited).code, 2);
      assert.match(misuse.stderr(), /--stateless needs --listen/);
    } finally {
      cli.process.kill('SIGTERM');
      assert.equal((await cli.exited).code, 0);
      await upstream.close();
      await cleanup();
    }
  });
});
