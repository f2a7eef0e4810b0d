import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type LoopbackEndpoint, listenOnLoopback } from '../helpers/http.js';
import { textOf } from '../helpers/stacks.js';
import { proxyTransport, runCli, tempDir, writeConfig } from './helpers.js';

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
    endpoints = await Promise.all(['a', 'b'].map(replica));
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
        `  upstreams: [${endpoints.map((e) => e.url.href).join(', ')}]`,
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
});
