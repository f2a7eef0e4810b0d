/**
 * Requests a pipeline sends on its own behalf (a stale-while-revalidate refresh) share
 * the handler's id space with the callers' requests. Neither side may ever get the other's
 * answer: not a caller that sends ids shaped like the pipeline's, and not a second
 * mcp-perf peer whose own requests arrive as a caller's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createProxy, type JsonRpcMessage, type McpProxy, withMiddleware } from '../../src/index.js';
import { cache } from '../../src/middleware/cache/index.js';
import { connectPair, createCountingServer } from '../helpers/servers.js';
import { connectPairV2 } from '../helpers/servers-v2.js';
import { fakeClock, manualGate, textOf, until } from '../middleware/cache/helpers.js';

const gateCall = { name: 'gate', arguments: { label: 'x' } };

/** A client that speaks raw JSON-RPC over an in-memory link, keeping every response by id. */
async function rawClient(transport: InMemoryTransport) {
  const responses = new Map<string | number, JsonRpcMessage[]>();
  transport.onmessage = (message) => {
    const m = message as JsonRpcMessage;
    if ('method' in m || !('id' in m)) return;
    const list = responses.get(m.id) ?? [];
    list.push(m);
    responses.set(m.id, list);
  };
  await transport.start();
  const answer = async (id: string | number): Promise<JsonRpcMessage> => {
    await until(() => responses.has(id), `an answer to ${JSON.stringify(id)}`);
    return responses.get(id)![0]!;
  };
  const send = (message: unknown) => transport.send(message as never);
  await send({
    jsonrpc: '2.0',
    id: 'init',
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  await answer('init');
  await send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return {
    responses,
    answer,
    call(id: string | number, name: string, args: Record<string, unknown>) {
      return send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
    },
  };
}

const resultText = (m: JsonRpcMessage) => textOf((m as { result?: unknown }).result);

describe('own request ids never meet a caller’s', () => {
  for (const through of ['server', 'proxy'] as const) {
    it(`a caller sending ids shaped like the pipeline’s gets its own answers; the refresh stores its own (${through})`, async () => {
      const clock = fakeClock();
      const g = manualGate();
      const c = cache({ now: clock.now, tools: { include: ['gate'], ttlMs: 1_000, staleMs: 10_000 } });
      const { server, counts } = createCountingServer({ gate: g.gate });
      const [rawTransport, front] = InMemoryTransport.createLinkedPair();
      let proxy: McpProxy | undefined;
      if (through === 'server') {
        withMiddleware(server, [c]);
        await server.connect(front);
      } else {
        const [upstream, serverTransport] = InMemoryTransport.createLinkedPair();
        await server.connect(serverTransport);
        proxy = createProxy({ downstream: front, upstream, stack: [c] });
        await proxy.start();
      }
      const raw = await rawClient(rawTransport);
      try {
        g.open();
        await raw.call(1, 'gate', { label: 'x' });
        assert.equal(resultText(await raw.answer(1)), 'opened x');
        g.close();
        g.expectArrival();
        clock.advance(1_500);
        await raw.call(2, 'gate', { label: 'x' });
        assert.equal(resultText(await raw.answer(2)), 'opened x', 'served stale');
        await g.waitForArrival();
        assert.equal(c.stats().refreshes, 1, 'the refresh is with the handler');
        const forged = ['mcp-perf:1', 'mcp-perf:2', 'mcp-perf:0', 'mcp-perf:early'];
        for (const id of forged) await raw.call(id, 'echo', { text: `mine ${id}` });
        for (const id of forged) assert.equal(resultText(await raw.answer(id)), `mine ${id}`, id);
        g.open();
        await until(() => c.stats().stored === 2, 'the refresh to be stored');
        await raw.call(3, 'gate', { label: 'x' });
        assert.equal(resultText(await raw.answer(3)), 'opened x', 'the refresh stored the gate answer');
        for (const id of forged) assert.equal(raw.responses.get(id)?.length, 1, `${id} answered once`);
        assert.equal(counts.gate, 2);
      } finally {
        await proxy?.close();
        await server.close();
      }
    });
  }

  for (const sdk of ['v1', 'v2'] as const) {
    it(`two mcp-perf peers back to back, both refreshing in the background, never cross answers (SDK ${sdk})`, async () => {
      const clock = fakeClock();
      const g = manualGate();
      const serverCache = cache({
        now: clock.now,
        tools: { include: ['gate'], ttlMs: 1_000, staleMs: 10_000 },
      });
      const clientCache = cache({
        now: clock.now,
        tools: { include: ['echo'], ttlMs: 1_000, staleMs: 10_000 },
      });
      const stacks = { server: [serverCache], client: [clientCache] };
      const pair =
        sdk === 'v1'
          ? await connectPair({ ...stacks, counting: { gate: g.gate } })
          : await connectPairV2({ ...stacks, counting: { gate: g.gate } });
      const counts = pair.counts;
      try {
        g.open();
        assert.equal(textOf(await pair.client.callTool(gateCall)), 'opened x');
        assert.equal(textOf(await pair.client.callTool({ name: 'echo', arguments: { text: 'e' } })), 'e');
        g.close();
        g.expectArrival();
        clock.advance(1_500);
        // The server refreshes `gate` (held at the gate) under its own id …
        assert.equal(textOf(await pair.client.callTool(gateCall)), 'opened x');
        await g.waitForArrival();
        // … while the client refreshes `echo` under its own id, which reaches the server as a caller's.
        assert.equal(textOf(await pair.client.callTool({ name: 'echo', arguments: { text: 'e' } })), 'e');
        await until(() => counts.echo === 2, 'the client’s refresh to run on the server');
        g.open();
        await until(
          () => serverCache.stats().stored === 2 && clientCache.stats().stored === 2,
          'both refreshes to be stored',
        );
        assert.equal(textOf(await pair.client.callTool({ name: 'echo', arguments: { text: 'e' } })), 'e');
        assert.equal(textOf(await pair.client.callTool(gateCall)), 'opened x');
        assert.deepEqual([counts.gate, counts.echo], [2, 2]);
      } finally {
        await pair.close();
      }
    });
  }
});
