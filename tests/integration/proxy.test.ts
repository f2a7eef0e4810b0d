import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createProxy, type Middleware } from '../../src/index.js';
import { fixtureTransport } from '../helpers/child.js';
import { deferred } from '../helpers/servers.js';
import { runScenario, STATS_TOOL, scenarioStack, textOf } from '../helpers/stacks.js';

describe('createProxy: in-memory downstream, stdio child upstream', () => {
  it('carries calls, local answers, progress and cancellation from a v1 client', async () => {
    const log: string[] = [];
    const gateEntered = deferred();
    let gateSignal: AbortSignal | undefined;
    const watchGate: Middleware = async function watchGate(ctx, next) {
      if (ctx.method === 'tools/call' && ctx.params?.name === 'gate') {
        gateSignal = ctx.signal;
        gateEntered.resolve();
      }
      return next();
    };
    const errors: Error[] = [];
    const { transport: upstream, stderr } = fixtureTransport('stdio-server-v1.ts');
    const [clientSide, downstream] = InMemoryTransport.createLinkedPair();
    const proxy = createProxy({
      downstream,
      upstream,
      stack: [watchGate, ...scenarioStack(log)],
      onerror: (error) => errors.push(error),
    });
    await proxy.start();
    const client = new Client({ name: 'behind-proxy', version: '1.0.0' });
    await client.connect(clientSide);
    const stats = async () =>
      JSON.parse(textOf(await client.callTool({ name: STATS_TOOL, arguments: {} })) ?? '{}') as {
        counts: Record<string, number>;
      };
    try {
      assert.equal(client.getServerVersion()?.name, 'counting', 'initialize reached the child');
      assert.equal(proxy.pipeline.session.protocolVersion, '2025-11-25');

      await runScenario({ client, readCounts: async () => (await stats()).counts, readLog: async () => log });

      // Cancel a call that is with the child: the cancellation travels upstream.
      const abort = new AbortController();
      const call = client.callTool({ name: 'gate', arguments: { label: 'held' } }, undefined, {
        signal: abort.signal,
      });
      await gateEntered.promise;
      abort.abort('no longer needed');
      await assert.rejects(call);
      assert.equal(gateSignal?.aborted, true, 'the proxy pipeline saw the cancellation');
      const released = await client.callTool({ name: 'release', arguments: {} });
      assert.equal(textOf(released), 'released');
      const { counts } = await stats();
      assert.equal(counts.gate, 1);
      assert.equal(counts['gate:aborted'], 1, 'the child handler saw its signal aborted');

      // The connection is still healthy after the cancellation.
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'after' } });
      assert.equal(textOf(echoed), 'after');
      assert.deepEqual(errors, [], stderr());
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
