import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { JsonRpcMessage } from '../../../src/index.js';
import { concurrencyLimit, withConcurrencyLimit } from '../../../src/middleware/concurrency/index.js';
import { connectPair, createCountingServer, deferred } from '../../helpers/servers.js';
import { flush } from './harness.js';

/** A gate for the counting server's `gate` tool that counts concurrent holders and opens on demand. */
function gates() {
  const waiting: (() => void)[] = [];
  let running = 0;
  let maxRunning = 0;
  return {
    gate: () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const d = deferred();
      waiting.push(d.resolve);
      return d.promise.finally(() => running--);
    },
    /** Opens the oldest held gate. */
    openOne(): boolean {
      const open = waiting.shift();
      open?.();
      return open !== undefined;
    },
    get held() {
      return waiting.length;
    },
    get maxRunning() {
      return maxRunning;
    },
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await flush();
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('concurrencyLimit over an in-memory MCP pair', () => {
  it('never lets more than the limit into the server, with many concurrent callers', async () => {
    const g = gates();
    const limiter = concurrencyLimit({ limit: 3, maxQueue: 100 });
    const pair = await connectPair({ server: [limiter], counting: { gate: g.gate } });
    const calls = Array.from({ length: 24 }, (_, i) =>
      pair.client.callTool({ name: 'gate', arguments: { label: String(i) } }),
    );
    for (let opened = 0; opened < 24; opened++) {
      await until(
        () => g.held === Math.min(3, 24 - opened),
        `${Math.min(3, 24 - opened)} calls in the server`,
      );
      assert.ok(limiter.stats().scopes.global!.running <= 3);
      g.openOne();
    }
    const results = await Promise.all(calls);
    assert.equal(results.length, 24);
    assert.equal(g.maxRunning, 3);
    assert.equal(pair.counts.gate, 24);
    assert.equal(limiter.stats().scopes.global!.admitted, 24);
    await pair.close();
  });

  it('sheds with error -31503 and retry data the client can read', async () => {
    const g = gates();
    const pair = await connectPair({ server: [concurrencyLimit({ limit: 1, maxQueue: 1 })], counting: g });
    const first = pair.client.callTool({ name: 'gate', arguments: {} });
    const second = pair.client.callTool({ name: 'gate', arguments: {} });
    await until(() => g.held === 1, 'the first call to start');
    await assert.rejects(pair.client.callTool({ name: 'gate', arguments: {} }), (e: unknown) => {
      assert.ok(e instanceof McpError);
      assert.equal(e.code, -31503);
      assert.match(e.message, /concurrency limit reached for global: 1\/1 running, 1\/1 queued/);
      assert.deepEqual(e.data, {
        retryAfterMs: 200,
        scope: 'global',
        limit: 1,
        running: 1,
        queued: 1,
        maxQueue: 1,
      });
      return true;
    });
    g.openOne();
    await until(() => g.held === 1, 'the queued call to start');
    g.openOne();
    await Promise.all([first, second]);
    assert.equal(pair.counts.gate, 2);
    await pair.close();
  });

  it('answers a shed tool call with an isError result when asked to', async () => {
    const g = gates();
    const { server, counts } = createCountingServer(g);
    withConcurrencyLimit(server, { limit: 1, maxQueue: 0, shedAs: 'tool-result' });
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
    const client = new Client({ name: 't', version: '1' });
    const [ct, st] = InMemoryTransport.createLinkedPair();
    await server.connect(st);
    await client.connect(ct);
    const first = client.callTool({ name: 'gate', arguments: {} });
    await until(() => g.held === 1, 'the first call to start');
    const shed = await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    assert.equal(shed.isError, true);
    assert.deepEqual(shed.content, [
      { type: 'text', text: 'concurrency limit reached for global: 1/1 running, 0/0 queued' },
    ]);
    assert.equal(counts.echo, undefined, 'the shed tool never ran');
    g.openOne();
    await first;
    await client.close();
    await server.close();
  });

  it('drops a cancelled queued request: never started, never answered', async () => {
    const g = gates();
    const limiter = concurrencyLimit({ limit: 1 });
    const pair = await connectPair({ server: [limiter], counting: g });
    const responses: JsonRpcMessage[] = [];
    const sent: JsonRpcMessage[] = [];
    const onmessage = pair.clientTransport.onmessage!;
    pair.clientTransport.onmessage = (m, extra) => {
      responses.push(m as JsonRpcMessage);
      onmessage(m, extra);
    };
    const send = pair.clientTransport.send.bind(pair.clientTransport);
    pair.clientTransport.send = (m, options) => {
      sent.push(m as JsonRpcMessage);
      return send(m, options);
    };
    const first = pair.client.callTool({ name: 'gate', arguments: { label: 'first' } });
    await until(() => g.held === 1, 'the first call to start');
    const abort = new AbortController();
    const cancelled = pair.client.callTool({ name: 'gate', arguments: { label: 'cancel-me' } }, undefined, {
      signal: abort.signal,
    });
    await until(() => limiter.stats().scopes.global!.queued === 1, 'the second call to queue');
    abort.abort('changed my mind');
    await assert.rejects(cancelled);
    await until(() => limiter.stats().scopes.global!.cancelled === 1, 'the queued call to leave');
    assert.equal(limiter.stats().scopes.global!.queued, 0);
    g.openOne();
    await first;
    await pair.client.callTool({ name: 'echo', arguments: { text: 'after' } });
    const cancelledRequest = sent.find(
      (m) =>
        'method' in m &&
        m.method === 'tools/call' &&
        (m.params?.arguments as { label?: string })?.label === 'cancel-me',
    );
    assert.ok(cancelledRequest && 'id' in cancelledRequest);
    assert.ok(
      !responses.some((m) => 'id' in m && !('method' in m) && m.id === cancelledRequest.id),
      'no response for the cancelled request',
    );
    assert.equal(pair.counts.gate, 1, 'the cancelled call never ran');
    await pair.close();
  });

  it('counts a service time from when the request reached the limit, not from when an outer layer got it', async () => {
    const inner = concurrencyLimit();
    const outerWait = async (_ctx: unknown, next: () => Promise<unknown>) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return next();
    };
    const pair = await connectPair({ server: [outerWait as never, inner] });
    await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
    const serviceMs = inner.stats().scopes.global!.serviceMs;
    assert.ok(serviceMs > 0 && serviceMs < 250, `service time ${serviceMs} ms leaves out the 300 ms outside`);
    await pair.close();
  });

  it('removes queued requests when the connection closes', async () => {
    const g = gates();
    const limiter = concurrencyLimit({ limit: 1 });
    const pair = await connectPair({ server: [limiter], counting: g });
    const calls = [0, 1, 2].map(() =>
      pair.client.callTool({ name: 'gate', arguments: {} }).catch(() => 'closed'),
    );
    await until(() => limiter.stats().scopes.global!.queued === 2, 'two calls to queue');
    await pair.client.close();
    await until(() => limiter.stats().scopes.global!.queued === 0, 'the queue to empty');
    assert.equal(limiter.stats().scopes.global!.cancelled, 2);
    g.openOne();
    await Promise.all(calls);
    await until(() => limiter.stats().scopes.global!.running === 0, 'the running call to finish');
    assert.equal(pair.counts.gate, 1);
    await pair.server.close();
  });

  it('lets ping, progress and responses to server requests flow while saturated', async () => {
    const g = gates();
    const limiter = concurrencyLimit({ limit: 2, maxQueue: 1 });
    const pair = await connectPair({ server: [limiter], counting: g });
    const held = [0, 1].map(() => pair.client.callTool({ name: 'gate', arguments: {} }));
    const queued = pair.client.callTool({ name: 'echo', arguments: { text: 'queued' } });
    await until(() => g.held === 2 && limiter.stats().scopes.global!.queued === 1, 'saturation');
    await pair.client.ping();
    await pair.server.server.ping();
    assert.equal(limiter.stats().scopes.global!.queued, 1, 'still saturated');
    g.openOne();
    await queued;
    const queuedAtProgress: number[] = [];
    const progress = pair.client.callTool({ name: 'progress', arguments: { steps: 3 } }, undefined, {
      onprogress: () => queuedAtProgress.push(limiter.stats().scopes.global!.queued),
    });
    const queued2 = pair.client.callTool({ name: 'echo', arguments: { text: 'queued' } });
    await progress;
    assert.deepEqual(queuedAtProgress, [1, 1, 1], 'progress arrives while a request is queued');
    g.openOne();
    await Promise.all([...held, queued2]);
    assert.equal(limiter.stats().scopes.global!.admitted, 5, 'pings took no slot');
    await pair.close();
  });
});
