import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { BATCH_METHOD, batching, withMiddleware } from '../../../src/index.js';
import { listenOnLoopback } from '../../helpers/http.js';
import { createCountingServer } from '../../helpers/servers.js';
import { textOf } from '../../helpers/stacks.js';

describe('request batching over Streamable HTTP', () => {
  it('sends a burst of calls as its first call plus one POST, with progress on the batch stream reaching each caller', async () => {
    const { server, counts } = createCountingServer();
    withMiddleware(server, [batching()]);
    const posts: string[] = [];
    let transport: StreamableHTTPServerTransport | undefined;
    const endpoint = await listenOnLoopback(async (req, res, body) => {
      if (req.method === 'POST') posts.push(String((body as { method?: string })?.method));
      if (transport === undefined) {
        transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() });
        await server.connect(transport);
      }
      await transport.handleRequest(req, res, body);
    });
    const client = new Client({ name: 'http-client', version: '1.0.0' });
    withMiddleware(client, [batching()]);
    const errors: Error[] = [];
    client.onerror = (error) => errors.push(error);
    try {
      await client.connect(new StreamableHTTPClientTransport(endpoint.url));
      posts.length = 0;
      const progress: string[] = [];
      const results = await Promise.all([
        ...['a', 'b', 'c', 'd'].map((text) => client.callTool({ name: 'echo', arguments: { text } })),
        client.callTool({ name: 'progress', arguments: { steps: 2 } }, undefined, {
          onprogress: (p) => progress.push(`${p.progress}/${p.total}`),
        }),
      ]);
      assert.deepEqual(results.map(textOf), ['a', 'b', 'c', 'd', 'done 2']);
      assert.deepEqual(
        posts,
        ['tools/call', BATCH_METHOD],
        'the first call went at once, one POST carried the four issued while it was awaited',
      );
      assert.equal(counts.echo, 4);
      assert.deepEqual(progress, ['1/2', '2/2']);
      assert.deepEqual(errors, []);
    } finally {
      await client.close();
      await server.close();
      await endpoint.close();
    }
  });
});
