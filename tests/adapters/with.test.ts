import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import * as api from '../../src/index.js';
import { isMiddlewareTransport, middlewareKind } from '../../src/index.js';
import { everyMiddleware } from '../conformance/stacks.js';
import { createCountingServer } from '../helpers/servers.js';

/**
 * Every `withX` helper the package exports, with the factory it adapts. The first test
 * fails when a helper is exported without being listed here, so a new middleware cannot
 * skip the contract.
 */
const HELPERS: Record<string, string> = {
  withBatching: 'batching',
  withCache: 'cache',
  withConcurrencyLimit: 'concurrencyLimit',
  withMetrics: 'metrics',
  withNotModified: 'notModified',
  withRateLimit: 'rateLimit',
  withTokenBudget: 'tokenBudget',
  withToolFilter: 'toolFilter',
};

const exported = api as unknown as Record<string, unknown>;

function withHelpers(): string[] {
  return Object.keys(exported)
    .filter(
      (name) => /^with[A-Z]/.test(name) && name !== 'withMiddleware' && typeof exported[name] === 'function',
    )
    .sort();
}

type Helper = (target: unknown, options?: unknown, wrap?: unknown) => unknown;
type Factory = (options?: unknown) => { name: string };

describe('the withX contract', () => {
  it('lists every exported withX helper', () => {
    assert.deepEqual(withHelpers(), Object.keys(HELPERS).sort());
    for (const factory of Object.values(HELPERS)) assert.equal(typeof exported[factory], 'function', factory);
  });

  it("every middleware with a helper is in the conformance comparison's every-middleware stack", () => {
    const kinds = new Set(everyMiddleware.map(middlewareKind));
    for (const factory of Object.values(HELPERS)) assert.ok(kinds.has(factory), `${factory} is missing`);
  });

  for (const [helperName, factoryName] of Object.entries(HELPERS)) {
    const helper = exported[helperName] as Helper;
    const factory = exported[factoryName] as Factory;

    it(`${helperName}(server, options) returns the server and runs the middleware`, async () => {
      const { server } = createCountingServer();
      assert.equal(helper(server, undefined), server);
      assert.equal(helper(server, {}), server);
      const client = new Client({ name: 'c', version: '1' });
      const [a, b] = InMemoryTransport.createLinkedPair();
      await server.connect(b);
      await client.connect(a);
      const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      assert.deepEqual(result.content, [{ type: 'text', text: 'hi' }]);
      await client.close();
      await server.close();
    });

    it(`${helperName}(client, instance) shares the instance and returns the client`, async () => {
      const instance = factory();
      const client = new Client({ name: 'c', version: '1' });
      assert.equal(helper(client, instance), client);
      const stacked = (client as unknown as Record<symbol, { layers: unknown[] }>)[
        Symbol.for('mcp-perf.stack')
      ];
      assert.ok(stacked?.layers.includes(instance), 'the instance itself is in the stack, not a copy');
    });

    it(`${helperName}(transport, options, { side }) returns the wrapping transport`, () => {
      const [a] = InMemoryTransport.createLinkedPair();
      const wrapped = helper(a, factory(), { side: 'client' });
      assert.ok(isMiddlewareTransport(wrapped));
      assert.throws(() => helper({}, undefined), /target/);
    });
  }
});
