/**
 * The pool on modern (stateless) connections, over raw transports: no handshake is
 * replayed, any replica answers, and a request an upstream sends back reaches the client
 * with an id unique across upstreams and its answer goes back to that upstream.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonRpcMessage, McpTransport } from '../../src/index.js';
import { createUpstreamPool } from '../../src/pool/index.js';
import { flush } from '../helpers/fake-transport.js';

const MODERN = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' };

/** A stateless upstream: answers every request with its name; `ask` first asks the client something (id 7). */
function upstream(name: string, seen: string[]): () => McpTransport {
  return () => {
    let waiting: number | string | undefined;
    const t: McpTransport = {
      async start() {},
      async close() {
        t.onclose?.();
      },
      async send(message: { id?: number | string; method?: string; params?: { name?: string } }) {
        if (message.method !== undefined) seen.push(`${name}:${message.method}`);
        if (message.id === undefined) return;
        const reply = (m: unknown) => queueMicrotask(() => t.onmessage?.(m));
        if (message.method === undefined) {
          // The client's answer to our request 7: now answer the call that waited for it.
          assert.equal(message.id, 7);
          reply({ jsonrpc: '2.0', id: waiting, result: { name, answered: true } });
          return;
        }
        if (message.params?.name === 'ask') {
          waiting = message.id;
          reply({ jsonrpc: '2.0', id: 7, method: 'sampling/createMessage', params: {} });
          return;
        }
        reply({ jsonrpc: '2.0', id: message.id, result: { name } });
      },
    };
    return t;
  };
}

describe('upstream pool on modern connections', () => {
  it('spreads requests without any handshake and routes an upstream request back', async () => {
    const seen: string[] = [];
    const pool = createUpstreamPool({
      upstreams: ['a', 'b', 'c'].map((n) => ({ name: n, transport: upstream(n, seen) })),
      strategy: 'round-robin',
      health: { intervalMs: 0 },
    });
    const transport = pool.transport();
    const received: JsonRpcMessage[] = [];
    transport.onmessage = (m) => received.push(m);
    await transport.start();
    for (let i = 1; i <= 6; i++) {
      await transport.send({
        jsonrpc: '2.0',
        id: i,
        method: 'tools/call',
        params: { name: 'echo', arguments: {}, _meta: MODERN },
      });
    }
    await flush();
    assert.deepEqual(
      received
        .map((m) => [(m as { id: number }).id, (m as unknown as { result: { name: string } }).result.name])
        .sort((x, y) => Number(x[0]) - Number(y[0])),
      [
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
        [4, 'a'],
        [5, 'b'],
        [6, 'c'],
      ],
    );
    assert.ok(!seen.some((s) => s.endsWith(':initialize')), 'no handshake on a modern connection');

    // An upstream asks the client something while answering a call.
    received.length = 0;
    await transport.send({
      jsonrpc: '2.0',
      id: 10,
      method: 'tools/call',
      params: { name: 'ask', _meta: MODERN },
    });
    await flush();
    const ask = received[0] as { id: string; method: string };
    assert.equal(ask.method, 'sampling/createMessage');
    assert.equal(typeof ask.id, 'string', 'an id unique across upstreams');
    await transport.send({ jsonrpc: '2.0', id: ask.id, result: { content: [] } });
    await flush();
    assert.deepEqual(received[1], { jsonrpc: '2.0', id: 10, result: { name: 'a', answered: true } });
    await pool.close();
  });
});
