import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport, McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { type Middleware, tokenBudget, withMiddleware, wrapTransport } from '../../../src/index.js';
import { MODERN_AND_LEGACY_VERSIONS } from '../../helpers/servers-v2.js';
import { eraSpy } from '../../helpers/stacks.js';
import { linkOf, makeLog, texts } from './fixtures.js';

const LOG = makeLog(2_000);

/** A v2 server without resources: `log` returns a long log, `report` structured rows with an outputSchema. */
function createServerV2(): McpServer {
  const server = new McpServer(
    { name: 'big-v2', version: '2.0.0' },
    { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS },
  );
  server.registerTool('log', { inputSchema: z.object({}) }, async () => ({
    content: [{ type: 'text', text: LOG }],
  }));
  const rows = Array.from({ length: 1_500 }, (_, i) => ({ id: i, name: `row ${i}` }));
  server.registerTool(
    'report',
    {
      inputSchema: z.object({}),
      outputSchema: z.object({ rows: z.array(z.object({ id: z.number(), name: z.string() })) }),
    },
    async () => ({
      content: [{ type: 'text', text: JSON.stringify({ rows }) }],
      structuredContent: { rows },
    }),
  );
  return server;
}

async function readPages(client: Client, first: string, via: 'resource' | 'tool'): Promise<string> {
  let out = '';
  let next: string | undefined = first;
  for (let n = 0; next !== undefined && n < 500; n++) {
    if (via === 'resource') {
      const page = await client.readResource({ uri: next });
      const [body, more] = page.contents as Array<{ uri: string; text: string }>;
      out += body!.text;
      next = more?.uri;
    } else {
      const page = await client.callTool({ name: 'token_budget_more', arguments: { cursor: next } });
      out += texts(page)[0];
      next = linkOf(page);
    }
  }
  return out;
}

async function modernPair(stacks: { server?: Middleware[]; client?: Middleware[] }) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(() => createServerV2(), {
    transport: stacks.server ? wrapTransport(serverSide, stacks.server, { side: 'server' }) : serverSide,
  });
  const client = new Client(
    { name: 'modern-client', version: '2.0.0' },
    { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS, versionNegotiation: { mode: 'auto' } },
  );
  if (stacks.client) withMiddleware(client, stacks.client);
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await handle.close();
    },
  };
}

async function legacyPair(stacks: { server?: Middleware[]; client?: Middleware[] }) {
  const server = createServerV2();
  if (stacks.server) withMiddleware(server, stacks.server);
  const client = new Client({ name: 'legacy-client', version: '2.0.0' });
  if (stacks.client) withMiddleware(client, stacks.client);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

describe('tokenBudget on SDK v2', () => {
  for (const [era, connect] of [
    ['legacy', legacyPair],
    ['modern (2026-07-28)', modernPair],
  ] as const) {
    for (const side of ['server', 'client'] as const) {
      it(`${era} era, ${side} side: capability added, pages round-trip through resources/read and the tool`, async () => {
        const budget = tokenBudget({ maxTokens: 1_500 });
        const seen: string[] = [];
        const pair = await connect({ [side]: [eraSpy(seen), budget] });
        try {
          assert.ok(pair.client.getServerCapabilities()?.resources, 'resources capability added');
          const result = await pair.client.callTool({ name: 'log', arguments: {} });
          const kept = texts(result)[0]!;
          const uri = linkOf(result)!;
          assert.ok(uri, 'a resource link');
          assert.equal(kept + (await readPages(pair.client, uri, 'resource')), LOG);
          assert.equal(kept + (await readPages(pair.client, uri, 'tool')), LOG);
          // The v2 client validates structuredContent against the tool's outputSchema.
          const report = await pair.client.callTool({ name: 'report', arguments: {} });
          assert.equal((report.structuredContent as { rows: unknown[] }).rows.length, 1_500);
          const { tools } = await pair.client.listTools();
          assert.ok(tools.find((t) => t.name === 'report')?.outputSchema);
          assert.ok(tools.some((t) => t.name === 'token_budget_more'));
          const expected = era.startsWith('modern') ? 'modern' : 'legacy';
          assert.ok(seen.includes(`tools/call:${expected}`), seen.join(' '));
          if (expected === 'modern') assert.ok(seen.includes('server/discover:modern'), seen.join(' '));
        } finally {
          await pair.close();
        }
      });
    }
  }
});
