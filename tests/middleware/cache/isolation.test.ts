import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type Middleware, withMiddleware } from '../../../src/index.js';
import { cache } from '../../../src/middleware/cache/index.js';
import { memoryStore } from '../../../src/stores/memory.js';

/**
 * The default store keeps results by reference (no copy per write). These tests pin down
 * why that is safe: what the cache stores is frozen in place, so neither the handler that
 * returned a result nor a caller that received one can change the entry afterwards.
 */

type Report = { content: { type: 'text'; text: string }[]; structuredContent: Record<string, unknown> };

/** A server whose `report` tool returns whatever `produce()` gives, counting calls. */
async function pair(where: 'server' | 'client', produce: () => Report, stack: Middleware[]) {
  const server = new McpServer({ name: 'isolation', version: '1.0.0' });
  let calls = 0;
  server.registerTool('report', { description: 'A structured report.' }, async () => {
    calls++;
    return produce();
  });
  if (where === 'server') withMiddleware(server, stack);
  const client = new Client({ name: 'isolation-client', version: '1.0.0' });
  if (where === 'client') withMiddleware(client, stack);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    client,
    calls: () => calls,
    call: async () => (await client.callTool({ name: 'report' })) as CallToolResult & Report,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

const fresh = (): Report => ({
  content: [{ type: 'text', text: 'report' }],
  structuredContent: { items: [3, 1, 2], nested: { n: 1 } },
});

describe('cache entries cannot be changed through shared references', () => {
  it('the SDK client passes nested values through as they are: what a client-side cache stores is frozen', async () => {
    const p = await pair('client', fresh, [cache({ tools: { include: ['report'] } })]);
    try {
      const missed = await p.call();
      // The SDK's result schema copies the objects it knows, not structuredContent's members.
      const items = missed.structuredContent.items as number[];
      assert.throws(() => items.sort(), TypeError);
      assert.throws(() => {
        (missed.structuredContent.nested as { n: number }).n = 2;
      }, TypeError);
      missed.content = [];
      const hit = await p.call();
      assert.equal(p.calls(), 1);
      assert.deepEqual(hit.structuredContent, { items: [3, 1, 2], nested: { n: 1 } });
      assert.deepEqual(hit.content, [{ type: 'text', text: 'report' }]);
      assert.throws(() => (hit.structuredContent.items as number[]).push(4), TypeError);
      assert.deepEqual((await p.call()).structuredContent, { items: [3, 1, 2], nested: { n: 1 } });
    } finally {
      await p.close();
    }
  });

  it('a handler cannot change a server-side entry after returning it', async () => {
    const shared = fresh();
    const p = await pair('server', () => shared, [cache({ tools: { include: ['report'] } })]);
    try {
      await p.call();
      assert.ok(Object.isFrozen(shared.structuredContent.items));
      assert.throws(() => (shared.structuredContent.items as number[]).push(4), TypeError);
      const hit = await p.call();
      assert.equal(p.calls(), 1);
      assert.deepEqual(hit.structuredContent, { items: [3, 1, 2], nested: { n: 1 } });
    } finally {
      await p.close();
    }
  });

  it('a result holding other objects (a Date) is stored as its JSON, and the handler keeps its own', async () => {
    const at = new Date(0);
    const withDate = (): Report => ({
      content: [{ type: 'text', text: 'dated' }],
      structuredContent: { at },
    });
    const p = await pair('server', withDate, [cache({ tools: { include: ['report'] } })]);
    try {
      await p.call();
      at.setTime(86_400_000);
      const hit = await p.call();
      assert.equal(p.calls(), 1);
      assert.deepEqual(hit.structuredContent, { at: '1970-01-01T00:00:00.000Z' });
    } finally {
      await p.close();
    }
  });

  it('with a store of its own choosing the cache leaves isolation to the store (and freezes nothing)', async () => {
    const shared = fresh();
    const store = memoryStore();
    const p = await pair('server', () => shared, [cache({ tools: { include: ['report'] }, store })]);
    try {
      await p.call();
      assert.equal(Object.isFrozen(shared.structuredContent.items), false);
      (shared.structuredContent.items as number[]).push(4);
      const hit = await p.call();
      assert.equal(p.calls(), 1);
      assert.deepEqual(hit.structuredContent.items, [3, 1, 2]);
    } finally {
      await p.close();
    }
  });
});
