/**
 * Early answers reach into a private member of the SDK v2 client (and wrap v1's
 * `request()`). These tests fail loudly, naming the SDK version and the member, when an
 * SDK upgrade changes what they rely on; and show that a client whose internals are not
 * what was expected still works, only without early answers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport as InMemoryV1 } from '@modelcontextprotocol/sdk/inMemory.js';
import { InMemoryTransport as InMemoryV2 } from '@modelcontextprotocol/server';
import { earlyAnswerSupport } from '../../src/adapters/early.js';
import { withMiddleware } from '../../src/index.js';
import { cache } from '../../src/middleware/cache/index.js';
import { createCountingServer } from '../helpers/servers.js';
import { createCountingServerV2 } from '../helpers/servers-v2.js';
import { textOf } from '../helpers/stacks.js';

const SDKS = [
  {
    sdk: 'v1',
    member: 'request',
    client: () => new ClientV1({ name: 'early-v1', version: '1.0.0' }),
    async connect(client: ClientV1 | ClientV2) {
      const { server, counts } = createCountingServer();
      const [a, b] = InMemoryV1.createLinkedPair();
      await server.connect(b);
      await (client as ClientV1).connect(a);
      return { counts, close: () => server.close() };
    },
  },
  {
    sdk: 'v2',
    member: '_requestWithSchemaViaCodec',
    client: () => new ClientV2({ name: 'early-v2', version: '2.0.0' }),
    async connect(client: ClientV1 | ClientV2) {
      const { server, counts } = createCountingServerV2();
      const [a, b] = InMemoryV2.createLinkedPair();
      await server.connect(b);
      await (client as ClientV2).connect(a);
      return { counts, close: () => server.close() };
    },
  },
] as const;

describe('early answers and the SDK internals they rely on', () => {
  it('judges a client by its shape: a member only v2 has makes it a v2 client, never patched as v1', () => {
    const noop = () => undefined;
    const v2WithoutEra = {
      getServerCapabilities: noop,
      request: (_a: unknown, _b: unknown, _c: unknown) => undefined,
      _requestWithSchema: noop,
    };
    const judged = earlyAnswerSupport(v2WithoutEra);
    assert.deepEqual([judged.supported, judged.sdk], [false, 'v2']);
    assert.match((judged as { reason: string }).reason, /_requestWithSchemaViaCodec is undefined/);
    const v1 = { getServerCapabilities: noop, request: (_a: unknown, _b: unknown, _c: unknown) => undefined };
    assert.deepEqual([earlyAnswerSupport(v1).supported, earlyAnswerSupport(v1).sdk], [true, 'v1']);
    const v1TwoParameters = { getServerCapabilities: noop, request: (_a: unknown, _b: unknown) => undefined };
    assert.equal(earlyAnswerSupport(v1TwoParameters).supported, false);
  });

  for (const s of SDKS) {
    it(`the installed SDK ${s.sdk} client still has what early answers rely on`, () => {
      const support = earlyAnswerSupport(s.client());
      if (!support.supported) {
        assert.fail(`early answers no longer fit the installed SDK: ${support.reason}`);
      }
      assert.equal(support.sdk, s.sdk);
      assert.match(support.version ?? '', s.sdk === 'v1' ? /^1\./ : /^2\./);
    });

    it(`an SDK ${s.sdk} client whose ${s.member} is not as expected works without early answers, and says so once`, async () => {
      const client = s.client();
      const target = client as unknown as Record<string, (...args: unknown[]) => unknown>;
      const original = target[s.member]!;
      // Same behaviour, another shape: as if an upgrade had changed the member's signature.
      target[s.member] = function changed(this: unknown, ...args: unknown[]) {
        return original.apply(this, args);
      };
      const support = earlyAnswerSupport(client);
      assert.equal(support.supported, false);
      assert.match(
        support.reason ?? '',
        new RegExp(`^@modelcontextprotocol/\\S+ ${s.sdk === 'v1' ? 1 : 2}\\.\\d+`),
      );
      assert.match(
        support.reason ?? '',
        new RegExp(`the client's ${s.member} is a function of 0 parameters`),
      );
      const c = cache({ tools: { include: ['echo'] } });
      withMiddleware(client, [c]);
      const errors: Error[] = [];
      client.onerror = (error) => errors.push(error);
      const pair = await s.connect(client);
      try {
        for (let i = 0; i < 3; i++) {
          const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
          assert.equal(textOf(result), 'hi');
        }
        assert.equal(pair.counts.echo, 1, 'the cache still answers, from inside the transport');
        assert.equal(c.stats().hits, 2);
        assert.equal(errors.length, 1, 'reported once');
        assert.match(errors[0]!.message, new RegExp(`early answers are off.*${s.member}`));
      } finally {
        await client.close();
        await pair.close();
      }
    });
  }
});
