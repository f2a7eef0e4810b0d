import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type LoopbackEndpoint, listenOnLoopback } from '../helpers/http.js';
import { textOf } from '../helpers/stacks.js';
import { proxyTransport, runCli, startCli, tempDir, writeConfig } from './helpers.js';

/** A stateless Streamable HTTP replica whose `whoami` tool answers with its name. */
function replica(name: string): Promise<LoopbackEndpoint> {
  return listenOnLoopback(async (req, res, body) => {
    const server = new McpServer({ name, version: '1.0.0' });
    server.registerTool('whoami', { inputSchema: {}, annotations: { readOnlyHint: true } }, async () => ({
      content: [{ type: 'text', text: name }],
    }));
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
}

describe('mcp-perf proxy with a pool of upstreams', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let endpoints: LoopbackEndpoint[];
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    endpoints = await Promise.all(['a', 'b', 'c'].map(replica));
  });
  after(async () => {
    await Promise.all(endpoints.map((e) => e.close()));
    await cleanup();
  });

  it('spreads a session over the upstreams of the config pool section', async () => {
    const config = await writeConfig(
      dir,
      [
        'middleware: []',
        'pool:',
        `  upstreams: [${endpoints
          .slice(0, 2)
          .map((e) => e.url.href)
          .join(', ')}]`,
        '  strategy: round-robin',
        '  sessions: spread',
        '  health: { intervalMs: 0 }',
      ].join('\n'),
    );
    const { transport, stderr } = proxyTransport(['--config', config]);
    const client = new Client({ name: 'host', version: '1.0.0' });
    await client.connect(transport);
    try {
      const names: string[] = [];
      for (let i = 0; i < 4; i++)
        names.push(textOf(await client.callTool({ name: 'whoami', arguments: {} })) ?? '');
      assert.deepEqual(names.sort(), ['a', 'a', 'b', 'b']);
      assert.match(stderr(), /pool of 2 upstreams/);
    } finally {
      await client.close();
    }
  });

  it('refuses a pool section together with a command', async () => {
    const config = await writeConfig(
      dir,
      'middleware: []\npool: { upstreams: [http://127.0.0.1:1/mcp] }\n',
      'c2.yaml',
    );
    const { code, stderr } = await runCli(['proxy', '--config', config, '--', 'node', 'server.js']);
    assert.equal(code, 2);
    assert.match(stderr, /the config has a pool section: give no command after --/);
  });

  it('serves the pool series on /metrics with --listen, and follows the pool section as the config changes', async () => {
    const [a, b, c] = endpoints.map((e) => e.url.href);
    const section = (upstreams: string, extra = '') =>
      [
        'middleware:',
        '  - metrics: {}',
        'pool:',
        `  upstreams: [${upstreams}]`,
        '  strategy: round-robin',
        '  sessions: spread',
        '  health: { intervalMs: 0 }',
        extra,
      ].join('\n');
    const config = await writeConfig(
      dir,
      section(`{ url: "${a}", name: a }, { url: "${b}", name: b }`),
      'l.yaml',
    );
    const cli = startCli(['proxy', '-c', config, '--listen', '127.0.0.1:0']);
    const base = (await cli.waitForStderr(/listening on (http:\/\/127\.0\.0\.1:\d+)\/mcp/))[1]!;
    const client = new Client({ name: 'host', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
      const whoami = async (n: number) => {
        const names: string[] = [];
        for (let i = 0; i < n; i++)
          names.push(textOf(await client.callTool({ name: 'whoami', arguments: {} })) ?? '');
        return names.sort();
      };
      assert.deepEqual(await whoami(4), ['a', 'a', 'b', 'b']);
      let text = await (await fetch(`${base}/metrics`)).text();
      assert.match(text, /^# TYPE mcp_perf_pool_requests_total counter$/m);
      assert.match(text, /^mcp_perf_pool_requests_total\{upstream="a"\} [1-9]/m);
      assert.match(text, /^mcp_perf_pool_requests_total\{upstream="b"\} [1-9]/m);
      assert.match(text, /^mcp_perf_pool_breaker_state\{upstream="a",state="closed"\} 1$/m);
      assert.match(text, /^mcp_perf_pool_upstream_state\{upstream="b",state="up"\} 1$/m);
      assert.match(text, /^mcp_server_requests_total\{/m, 'the metrics middleware series stay');

      // An invalid pool section: the old pool keeps running, and the path is reported.
      await writeFile(config, section(`{ url: "${a}", name: a }, { url: "${c}", name: a }`));
      await cli.waitForStderr(/config not reloaded[^\n]*\n\s*pool\.upstreams\[1\]\.name: .*unique/);
      await writeFile(config, section(`"${a}"`, '  timeouts: { defaultMs: -1 }'));
      await cli.waitForStderr(/config not reloaded[^\n]*\n\s*pool\.timeouts\.defaultMs/);
      assert.deepEqual(await whoami(2), ['a', 'b']);

      // a leaves, c joins: the same session goes on over b and c.
      await writeFile(config, section(`{ url: "${b}", name: b }, { url: "${c}", name: c }`));
      await cli.waitForStderr(/pool reconfigured: added c; removed a/);
      assert.deepEqual(await whoami(4), ['b', 'b', 'c', 'c']);
      text = await (await fetch(`${base}/metrics`)).text();
      assert.match(text, /^mcp_perf_pool_requests_total\{upstream="c"\} [1-9]/m);
      assert.doesNotMatch(text, /upstream="a"/);
      assert.match(text, /^mcp_perf_pool_reconfigurations_total 1$/m);
      const printed = await runCli(['stats', base]);
      assert.equal(printed.code, 0, printed.stderr);
      assert.match(printed.stdout, /^pool: retry budget 0 of \d+ used$/m);
      assert.match(printed.stdout, /^c +up +closed +0 +[1-9]\d* +0 +0$/m);
      for (const path of ['/stats', '/dashboard/data']) {
        const body = (await (await fetch(`${base}${path}`)).json()) as {
          pool: { upstreams: { name: string; breaker: string }[] };
        };
        assert.deepEqual(
          body.pool.upstreams.map((u) => `${u.name}:${u.breaker}`),
          ['b:closed', 'c:closed'],
          path,
        );
      }
    } finally {
      await client.close();
      cli.process.kill('SIGTERM');
      await cli.exited;
    }
  });
});
